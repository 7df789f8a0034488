"""Cluster mode's benchmarks: three local brokers and a ZooKeeper, kbroker alone.

    python -m bench.cluster [--rounds 3] [--only NAME[,NAME...]]

- ``rf3``: 200k x 100 B to one partition, acks=all across RF=3 on three brokers, beside the
  same workload with acks=1 on one broker (the ratio the issue asks for: at least 0.5x).
- ``failover_2s`` / ``failover_6s``: an idempotent acks=all producer sending steadily; its
  partition's leader is SIGKILLed; the time from the kill to the first acknowledgement after it,
  with ``zookeeper.session.timeout.ms`` 2 s and 6 s (the target: at most the timeout + 1 s).
- ``shutdown_100``: a broker leading 100 partitions (300 partitions, RF=3) gets SIGTERM; the
  time its controlled shutdown took to move every leadership (its own log says), and the
  time until another broker's Metadata shows none led by it (the target: at most 1 s).
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench import workloads as w
from bench.brokers import KBroker
from broker.cluster.local import LocalCluster


def create(bootstrap: str, partitions: int, replicas: int, name: str | None = None) -> str:
    name = name or f"bench-{time.monotonic_ns()}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, replicas)], operation_timeout=60)[name].result(90)
    return name


def produce(bootstrap: str, topic: str, count: int, size: int, **conf) -> tuple[float, float]:
    """Produce ``count`` values of ``size`` bytes, waiting for room when the queue is full:
    (messages/s from the first send to the last acknowledgement, messages/s from the first
    acknowledgement to the last: the rate once the client has started up)."""
    producer = Producer({"bootstrap.servers": bootstrap, **conf})
    value = b"x" * size
    acked: list[float] = []

    def first_or_last(err, msg) -> None:
        acked.append(time.perf_counter())
    start = time.perf_counter()
    for i in range(count):
        while True:
            try:
                if i in (0, count - 1):
                    producer.produce(topic, value, on_delivery=first_or_last)
                else:
                    producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.001)
    if producer.flush(120):
        raise RuntimeError("produce did not finish")
    return count / (acked[-1] - start), (count - 1) / (acked[-1] - acked[0])


def rf3_throughput(directory: Path, count: int = 200_000, size: int = 100) -> dict:
    with KBroker() as single:
        topic = w.create_topic(single.bootstrap)
        acks1, acks1_steady = produce(single.bootstrap, topic, count, size, acks=1)
    with LocalCluster(directory, 3) as cluster:
        topic = create(cluster.bootstrap, 1, 3)
        acks_all, acks_all_steady = produce(cluster.bootstrap, topic, count, size, acks="all",
                                            **{"enable.idempotence": True})
    return {"one broker acks=1 msgs/s": acks1, "RF=3 acks=all msgs/s": acks_all, "ratio": acks_all / acks1,
            "after the first ack: one broker msgs/s": acks1_steady, "RF=3 msgs/s": acks_all_steady,
            "ratio after the first ack": acks_all_steady / acks1_steady}


def failover(directory: Path, session_timeout_ms: int) -> dict:
    overrides = {"zookeeper.session.timeout.ms": str(session_timeout_ms)}
    with LocalCluster(directory, 3, overrides=overrides) as cluster:
        topic = create(cluster.bootstrap, 1, 3)
        acked: list[float] = []
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 1, "retry.backoff.ms": 20, "retry.backoff.max.ms": 100,
                             "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                             "topic.metadata.refresh.fast.interval.ms": 50, "message.timeout.ms": 60000})
        stop = threading.Event()

        def delivered(err, msg) -> None:   # each value is its send time: acks of what was sent after the kill
            if err is None:
                acked.append((float(msg.value()), time.monotonic()))

        def run() -> None:
            while not stop.is_set():
                producer.produce(topic, b"%.6f" % time.monotonic(), on_delivery=delivered)
                producer.poll(0.002)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            time.sleep(2)
            victim = cluster.leader(topic)
            survivor = next(b for b in cluster.brokers if b != victim)
            killed = time.monotonic()
            cluster.brokers[victim].kill()
            cluster.wait_for(lambda: cluster.leader(topic, via=survivor) not in (victim, -1), interval_s=0.01,
                             timeout_s=session_timeout_ms / 1000 + 30, what="a new leader")
            elected = time.monotonic()
            deadline = killed + session_timeout_ms / 1000 + 30
            while not any(sent > killed for sent, _ in acked[-50:]) and time.monotonic() < deadline:
                time.sleep(0.005)
            back = next((at for sent, at in acked if sent > killed), None)
        finally:
            stop.set()
            thread.join()
            producer.flush(10)
    if back is None:
        raise RuntimeError("no acknowledgement after the kill")
    return {"new leader in Metadata after s": elected - killed, "acked again (librdkafka) after s": back - killed}


def shutdown_100(directory: Path) -> dict:
    with LocalCluster(directory, 3) as cluster:
        topic = create(cluster.bootstrap, 300, 3)
        cluster.wait_for(lambda: sum(p["leader_id"] == 1 for p in cluster.metadata(2, [topic])["topics"][0][
            "partitions"]) == 100, what="100 leaderships on broker 1")
        started = time.monotonic()
        cluster.signal(1, signal.SIGTERM)
        cluster.wait_for(lambda: all(p["leader_id"] != 1 for p in cluster.metadata(2, [topic])["topics"][0][
            "partitions"]), interval_s=0.01, what="leaders moved")
        seen = time.monotonic() - started
        cluster.brokers[1].stop()
        moved = re.search(r"leaderships moved in (\d+) ms", (cluster.directory / "broker-1.log").read_text())
    return {"moved (broker's log) s": int(moved.group(1)) / 1000 if moved else float("nan"),
            "seen in Metadata s": seen}


SUITE = {
    "rf3": ("produce 200k x 100 B: one broker acks=1 / three brokers RF=3 acks=all", rf3_throughput),
    "failover_2s": ("failover, SIGKILLed leader, session timeout 2 s", lambda d: failover(d, 2000)),
    "failover_6s": ("failover, SIGKILLed leader, session timeout 6 s", lambda d: failover(d, 6000)),
    "shutdown_100": ("controlled shutdown of a broker leading 100 partitions", shutdown_100),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="comma-separated: " + ", ".join(SUITE))
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(SUITE)
    lines = ["| test | metric | median | samples |", "|---|---|---|---|"]
    for name in names:
        title, run = SUITE[name]
        samples: list[dict] = []
        for round_index in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="kbroker-bench-cluster-") as directory:
                try:
                    metrics = run(Path(directory))
                except Exception as exc:
                    print(f"  {name} round {round_index + 1}: failed: {exc}", file=sys.stderr)
                    continue
            samples.append(metrics)
            print(f"  {name} round {round_index + 1}: " + ", ".join(f"{k} {v:,.3g}" for k, v in metrics.items()),
                  file=sys.stderr)
        for metric in (samples[0] if samples else {}):
            lines.append(f"| {title} | {metric} | {statistics.median(s[metric] for s in samples):,.3g} | "
                         f"{len(samples)} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
