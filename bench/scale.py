"""Scale: what many partitions, many connections and many topics cost one kbroker process.

    python -m bench.scale [--topics 1000] [--partitions 10] [--connections 1000] [--churn 100000]
    make bench-scale

kbroker only, with raw kproto clients (no client library in the way), one broker process on
its normal on-disk log. Printed as one table:

- ``partitions``: ``topics`` x ``partitions`` created by CreateTopics (100 topics a request),
  Metadata for all topics (median of 20), one produce of a 10 x 100 B batch to every partition
  (one Produce request per topic), one fetch of every partition (one Fetch per topic), then a
  stop (SIGTERM to exit) and a restart on the same data: launch to the first Metadata answer
  listing them all. Resident
  memory (RSS) and open file descriptors after each step.
- ``connections``: ``connections`` clients connected at once, each having sent one ApiVersions;
  RSS above the same broker before they came. Then every one sends a Produce in the same
  instant: how long until the last is answered, and the slowest and median answers (fairness:
  no connection starves while others are served). Then each long-polls a partition of its own:
  broker CPU while they all wait, and from a produce (sent by another client, its answer
  awaited) to the waiting poll's answer, 200 times (median, p99, max), and from the produce's
  own answer to the poll's (near 0 when the poll's answer left first), with a loop-lag probe
  running over the same seconds.
- ``churn``: ``churn`` topics of one partition, created and deleted 1,000 at a time (100 a
  request): RSS before, after the first 1,000, at the peak and after all; time and broker CPU
  per topic.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

from bench.brokers import Broker, KBroker
from bench.loadgen import batch_of
from bench.loop_lag import LoopLagProbe
from bench.workloads import cpu_seconds
from broker.testing import RawClient, process_rss_bytes
from kproto.codec import decode_response, encode_request
from kproto.messages import API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS, FETCH, METADATA, PRODUCE

TOPICS_PER_REQUEST = 100


def _mb(pid: int) -> float:
    return process_rss_bytes(pid) / 1e6


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _create(client: RawClient, names: list[str], partitions: int) -> None:
    for i in range(0, len(names), TOPICS_PER_REQUEST):
        response = client.request(CREATE_TOPICS, 7, {"topics": [
            {"name": name, "num_partitions": partitions, "replication_factor": 1, "assignments": [], "configs": []}
            for name in names[i:i + TOPICS_PER_REQUEST]], "timeout_ms": 60_000})
        failed = [t for t in response["topics"] if t["error_code"]]
        if failed:
            raise RuntimeError(f"CreateTopics failed: {failed[:3]}")


def _delete(client: RawClient, names: list[str]) -> None:
    for i in range(0, len(names), TOPICS_PER_REQUEST):
        response = client.request(DELETE_TOPICS, 6, {"topics": [{"name": n, "topic_id": bytes(16)}
                                                                 for n in names[i:i + TOPICS_PER_REQUEST]],
                                                      "timeout_ms": 60_000})
        failed = [t for t in response["responses"] if t["error_code"]]
        if failed:
            raise RuntimeError(f"DeleteTopics failed: {failed[:3]}")


def _metadata_all(client: RawClient) -> tuple[float, int]:
    """Seconds from sending a Metadata for all topics to its last byte received (the client's
    decoding of 10,000 partitions in Python is not counted), and how many topics it lists."""
    start = time.perf_counter()
    client.send_raw(encode_request(METADATA, 12, 1, {"topics": None, "allow_auto_topic_creation": False}, "scale"))
    frame = client.read_frame()
    elapsed = time.perf_counter() - start
    _, response = decode_response(frame, METADATA, 12)
    return elapsed, len(response["topics"])


def partitions(topics: int, partitions: int) -> dict:
    broker = KBroker().start()
    try:
        pid = broker.pid
        rows = {"empty RSS MB": _mb(pid), "empty fds": _fds(pid)}
        names = [f"scale-{i:05d}" for i in range(topics)]
        count = topics * partitions
        with RawClient(broker.bootstrap, timeout_s=300) as client:
            cpu0, start = cpu_seconds(pid), time.perf_counter()
            _create(client, names, partitions)
            rows["create ms/partition"] = (time.perf_counter() - start) / count * 1e3
            rows["create broker CPU ms/partition"] = (cpu_seconds(pid) - cpu0) / count * 1e3
            rows["created RSS MB"], rows["created fds"] = _mb(pid), _fds(pid)
            samples = []
            for _ in range(20):
                elapsed, listed = _metadata_all(client)
                samples.append(elapsed)
            if listed < topics:
                raise RuntimeError(f"Metadata listed {listed} of {topics} topics")
            rows["Metadata all ms"] = statistics.median(samples) * 1e3
            batch = batch_of(1000, record_bytes=100)
            cpu0, start = cpu_seconds(pid), time.perf_counter()
            for name in names:
                response = client.request(PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 30_000,
                                                       "topic_data": [{"name": name, "partition_data": [
                                                           {"index": p, "records": batch}
                                                           for p in range(partitions)]}]})
                errors = [p["error_code"] for t in response["responses"] for p in t["partition_responses"]
                          if p["error_code"]]
                if errors:
                    raise RuntimeError(f"produce failed: {errors[:3]}")
            rows["produce µs/partition"] = (time.perf_counter() - start) / count * 1e6
            rows["produce broker µs/partition"] = (cpu_seconds(pid) - cpu0) / count * 1e6
            rows["produced RSS MB"], rows["produced fds"] = _mb(pid), _fds(pid)
            cpu0 = cpu_seconds(pid)
            for name in names:
                client.request(FETCH, 12, {"max_wait_ms": 0, "min_bytes": 0, "max_bytes": 50 << 20,
                                           "isolation_level": 0, "session_id": 0, "session_epoch": -1,
                                           "topics": [{"topic": name, "partitions": [
                                               {"partition": p, "fetch_offset": 0, "partition_max_bytes": 1 << 20}
                                               for p in range(partitions)]}],
                                           "forgotten_topics_data": [], "rack_id": ""})
            rows["fetch broker µs/partition"] = (cpu_seconds(pid) - cpu0) / count * 1e6
            rows["fetched RSS MB"], rows["fetched fds"] = _mb(pid), _fds(pid)
        start = time.perf_counter()
        Broker.stop(broker)   # the process only: the data stays for the restart
        rows["stop s"] = time.perf_counter() - start
        start = time.perf_counter()
        broker.start(wait=False)
        while True:
            try:
                with RawClient(broker.bootstrap, timeout_s=300) as client:
                    _, listed = _metadata_all(client)
                break
            except OSError:
                if time.perf_counter() - start > 300:
                    raise RuntimeError("the broker did not come back") from None
                time.sleep(0.01)
        rows["restart s"] = time.perf_counter() - start
        if listed < topics:
            raise RuntimeError(f"after the restart Metadata listed {listed} of {topics} topics")
        rows["restarted RSS MB"], rows["restarted fds"] = _mb(broker.pid), _fds(broker.pid)
        return rows
    finally:
        broker.stop()


def _frame_reader(sock: socket.socket) -> None:
    size = int.from_bytes(sock.recv(4, socket.MSG_WAITALL), "big")
    if not sock.recv(size, socket.MSG_WAITALL):
        raise ConnectionError("closed")


def connections(count: int) -> dict:
    broker = KBroker().start()
    socks: list[socket.socket] = []
    try:
        pid = broker.pid
        with RawClient(broker.bootstrap) as client:   # a topic to produce to, and the loop warmed up
            _create(client, ["conn"], 1)
        time.sleep(0.2)
        before = _mb(pid)
        hello = encode_request(API_VERSIONS, 3, 1, {"client_software_name": "scale", "client_software_version": "1"},
                               "scale")
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", broker.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(hello)
            _frame_reader(sock)
            socks.append(sock)
        time.sleep(0.5)
        rows = {"RSS before MB": before, "RSS with connections MB": _mb(pid)}
        rows["KB/connection"] = (rows["RSS with connections MB"] - before) * 1e3 / count
        produce = encode_request(PRODUCE, 9, 2, {"transactional_id": None, "acks": 1, "timeout_ms": 30_000,
                                                 "topic_data": [{"name": "conn", "partition_data": [
                                                     {"index": 0, "records": batch_of(1000, 100)}]}]}, "scale")
        start = time.perf_counter()
        for sock in socks:
            sock.sendall(produce)
        answered = []
        for sock in socks:    # in the order sent: a connection left behind shows as a late answer
            _frame_reader(sock)
            answered.append(time.perf_counter() - start)
        rows["all answered ms"] = max(answered) * 1e3
        rows["median answer ms"] = statistics.median(answered) * 1e3
        rows.update(long_polls(broker, socks))
        return rows
    finally:
        for sock in socks:
            sock.close()
        broker.stop()


def long_polls(broker, socks: list[socket.socket], woken: int = 200) -> dict:
    """Each connection long-polls its own partition of a topic with one per connection (Fetch,
    max_wait_ms 60 s): broker CPU over 2 s while all wait, then, one partition at a time, a
    produce from another client and how long until that partition's poll is answered, with a
    loop-lag probe (bench/loop_lag.py) over the same seconds: how late a loop doing nothing woke
    on this machine meanwhile, which tells the machine's share of the tail from the broker's."""
    pid = broker.pid
    with RawClient(broker.bootstrap, timeout_s=120) as client:
        _create(client, ["poll"], len(socks))
        for index, sock in enumerate(socks):
            sock.sendall(encode_request(FETCH, 12, 3, {
                "max_wait_ms": 60_000, "min_bytes": 1, "max_bytes": 1 << 20, "isolation_level": 0,
                "session_id": 0, "session_epoch": -1, "forgotten_topics_data": [], "rack_id": "",
                "topics": [{"topic": "poll", "partitions": [
                    {"partition": index, "fetch_offset": 0, "partition_max_bytes": 1 << 20}]}]}, "scale"))
        time.sleep(1.0)   # all parked
        cpu0 = cpu_seconds(pid)
        time.sleep(2.0)
        idle_cores = (cpu_seconds(pid) - cpu0) / 2.0
        batch = batch_of(1000, 100)
        latencies, after_produce = [], []
        indexes = range(0, len(socks), max(1, len(socks) // woken))
        with LoopLagProbe(len(indexes) * 0.003 + 1.0) as probe:
            time.sleep(0.5)   # the probe's own start (a Python process) is over before the first wake
            for index in indexes:
                start = time.perf_counter()
                client.request(PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 30_000,
                                            "topic_data": [{"name": "poll", "partition_data": [
                                                {"index": index, "records": batch}]}]})
                produced = time.perf_counter()
                _frame_reader(socks[index])
                latencies.append(time.perf_counter() - start)
                after_produce.append(time.perf_counter() - produced)
                time.sleep(0.002)
    latencies.sort()
    after_produce.sort()
    return {"long polls: idle broker cores": idle_cores,
            "long polls: produce to poll answered, median ms": latencies[len(latencies) // 2] * 1e3,
            "long polls: p99 ms": latencies[int(len(latencies) * 0.99)] * 1e3,
            "long polls: max ms": latencies[-1] * 1e3,
            "long polls: produce's answer to poll's answer, median / p99 / max ms": " / ".join(
                f"{after_produce[i] * 1e3:.3f}" for i in (len(after_produce) // 2, int(len(after_produce) * 0.99), -1)),
            "long polls: loop lag meanwhile, p50 / p99 / max ms": " / ".join(
                f"{probe.result.get(k, float('nan')):.2f}" for k in ("p50 ms", "p99 ms", "max ms"))}


def churn(total: int, step: int = 1000) -> dict:
    broker = KBroker().start()
    try:
        pid = broker.pid
        with RawClient(broker.bootstrap, timeout_s=300) as client:
            _create(client, ["warm"], 1)
            _delete(client, ["warm"])
            time.sleep(0.2)
            rows = {"RSS before MB": _mb(pid)}
            peak = 0.0
            cpu0, start = cpu_seconds(pid), time.perf_counter()
            for round_start in range(0, total, step):
                names = [f"churn-{i:06d}" for i in range(round_start, min(total, round_start + step))]
                _create(client, names, 1)
                peak = max(peak, _mb(pid))
                _delete(client, names)
                if not round_start:
                    rows["RSS after the first round MB"] = _mb(pid)
            rows["ms/topic (create + delete)"] = (time.perf_counter() - start) / total * 1e3
            rows["broker CPU ms/topic"] = (cpu_seconds(pid) - cpu0) / total * 1e3
            time.sleep(0.5)
            rows["RSS peak MB"] = peak
            rows["RSS after MB"] = _mb(pid)
            rows["fds after"] = _fds(pid)
        return rows
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=10)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--churn", type=int, default=100_000)
    parser.add_argument("--only", help="partitions,connections,churn")
    args = parser.parse_args()
    parts = args.only.split(",") if args.only else ["partitions", "connections", "churn"]
    started = time.perf_counter()
    results = {}
    if "partitions" in parts:
        results[f"{args.topics} topics x {args.partitions} partitions"] = partitions(args.topics, args.partitions)
    if "connections" in parts:
        results[f"{args.connections} connections"] = connections(args.connections)
    if "churn" in parts:
        results[f"{args.churn} topics created and deleted"] = churn(args.churn)
    print("| test | measure | kbroker |\n|---|---|---|")
    for test, rows in results.items():
        for name, value in rows.items():
            print(f"| {test} | {name} | {value:.3g} |" if isinstance(value, float) else f"| {test} | {name} | {value} |")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
