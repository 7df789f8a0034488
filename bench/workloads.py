"""Workloads, with confluent-kafka (librdkafka) as the load generator.

Each workload takes a started broker and returns its metrics. Broker CPU is read
from /proc over the measured interval, so it counts the broker's cores only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench.loop_lag import LoopLagProbe
from broker.testing import process_cpu_seconds, process_rss_bytes


def create_topic(bootstrap: str, partitions: int = 1, name: str | None = None) -> str:
    name = name or f"bench-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(30)
    deadline = time.monotonic() + 10
    while name not in admin.list_topics(timeout=10).topics:
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {name} did not appear")
        time.sleep(0.05)
    return name


def produce(bootstrap: str, topic: str, count: int, size: int, requests: list | None = None, **conf) -> float:
    """Produce ``count`` values of ``size`` bytes; seconds from the first send to the last ack.

    librdkafka's default batching; no per-message callback, so the Python loop is
    as light as it can be (delivery is checked afterwards through the end offset).
    ``requests``, when given, gets the number of Produce requests librdkafka sent (its
    statistics), which says how it batched on this run.
    """
    if requests is not None:
        stats: list[str] = []
        conf = {**conf, "statistics.interval.ms": 200, "stats_cb": stats.append}
    producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, **conf})
    value = b"x" * size
    send = producer.produce
    poll = producer.poll
    start = time.perf_counter()
    for _ in range(count):
        try:
            send(topic, value)
        except BufferError:   # librdkafka's queue is full: wait for acknowledgements, as long as it takes
            while True:
                poll(0.001)
                try:
                    send(topic, value)
                    break
                except BufferError:
                    pass
    if producer.flush(120):
        raise RuntimeError("produce did not finish")
    elapsed = time.perf_counter() - start
    if requests is not None:
        producer.poll(0.5)   # the statistics after the last acknowledgement
        if stats:
            brokers = json.loads(stats[-1]).get("brokers", {}).values()
            requests.append(sum(b.get("req", {}).get("Produce", 0) for b in brokers))
    return elapsed


def send(producer: Producer, topic: str, value: bytes, **kwargs) -> None:
    """produce(), waiting for room in librdkafka's queue when it is full."""
    while True:
        try:
            producer.produce(topic, value, **kwargs)
            return
        except BufferError:
            producer.poll(0.001)


def end_offset(bootstrap: str, topic: str, partition: int = 0) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        consumer.close()


def consume(bootstrap: str, topic: str, count: int, partitions: int = 1, **conf) -> tuple[float, float]:
    """Read ``count`` messages from the start by assignment: (seconds to the first message, seconds after it)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False, **conf})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    start = time.perf_counter()
    first = None
    seen = 0
    deadline = start + 120
    while seen < count:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"consumed {seen} of {count}")
        # never more than are left: a consume() waiting to fill its count would time the timeout
        for msg in consumer.consume(num_messages=min(10000, count - seen), timeout=1.0):
            if msg.error() is not None:
                raise KafkaException(msg.error())
            if first is None:
                first = time.perf_counter()
            seen += 1
    end = time.perf_counter()
    consumer.close()
    return first - start, end - first


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of a process, to the nanosecond (``/proc/<pid>/task/*/schedstat``:
    /proc/<pid>/stat counts in 10 ms ticks, too coarse for a test that costs the broker 50 ms).
    Threads that ended are not counted: the broker's are its loop and short-lived workers."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return process_cpu_seconds(pid)
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return total / 1e9


class CpuMeter:
    """Broker CPU seconds over a block."""

    def __init__(self, pid: int):
        self.pid = pid
        self.seconds = 0.0

    def __enter__(self) -> "CpuMeter":
        self._start = cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = cpu_seconds(self.pid) - self._start


def warm_up(broker, size: int = 100, count: int = 20_000) -> None:
    """A short produce and consume on a topic of its own before a measurement, so that what a
    broker does once (its first connections, first requests of each kind, a coordinator made
    on first use, code compiled on first use) is not counted as the cost of the work measured."""
    topic = create_topic(broker.bootstrap)
    produce(broker.bootstrap, topic, count, size)
    consume(broker.bootstrap, topic, count)


def produce_throughput(broker, count: int, size: int) -> dict:
    # The warm-up writes as much as the measurement: a broker's first large requests grow its
    # heap (fresh pages cost ~3.6 ms per MB of kernel time on this VM), and with a shorter
    # warm-up that landed in the measured run or not, by how librdkafka batched the warm-up.
    warm_up(broker, size, count)
    topic = create_topic(broker.bootstrap)
    requests: list[int] = []
    with CpuMeter(broker.pid) as cpu:
        elapsed = produce(broker.bootstrap, topic, count, size, requests)
    stored = end_offset(broker.bootstrap, topic)
    if stored != count:
        print(f"  warning: {broker.name} reports {stored} messages stored of {count} produced", file=sys.stderr)
    result = {"msgs/s": count / elapsed, "MB/s": count * size / elapsed / 1e6,
              "broker µs/msg": cpu.seconds / count * 1e6, "broker cores": cpu.seconds / elapsed,
              "RSS MB": process_rss_bytes(broker.pid) / 1e6}
    if requests and requests[0]:   # how librdkafka batched on this run: the CPU per message follows it
        result["msgs/request"] = count / requests[0]
        result["broker µs/request"] = cpu.seconds / requests[0] * 1e6
    return result


def consume_throughput(broker, count: int, size: int) -> dict:
    warm_up(broker, size)
    topic = create_topic(broker.bootstrap)
    produce(broker.bootstrap, topic, count, size)
    with CpuMeter(broker.pid) as cpu:
        # librdkafka stops fetching for fetch.queue.backoff.ms (1 s) once queued.min.messages
        # (100k) wait in its queue: a broker faster than the application would be timed by
        # that pause. The queue may hold every message of the test instead.
        _, elapsed = consume(broker.bootstrap, topic, count, **{"queued.min.messages": count + 1})
    return {"msgs/s": count / elapsed, "MB/s": count * size / elapsed / 1e6,
            "broker µs/msg": cpu.seconds / count * 1e6, "broker cores": cpu.seconds / elapsed}


def produce_small_requests(broker, count: int = 100_000, size: int = 100, per_request: int = 10) -> dict:
    """Produce in requests of ``per_request`` messages (linger.ms=0): msgs/s and broker CPU per request.

    The request count comes from librdkafka's own statistics, so it is the same
    measure for every broker.
    """
    warm_up(broker, size)
    topic = create_topic(broker.bootstrap)
    stats: list[dict] = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": 1, "linger.ms": 0,
                         "batch.num.messages": per_request, "statistics.interval.ms": 100,
                         "stats_cb": lambda text: stats.append(json.loads(text))})
    value = b"x" * size
    with CpuMeter(broker.pid) as cpu:
        start = time.perf_counter()
        for _ in range(count):
            send(producer, topic, value)
        if producer.flush(120):
            raise RuntimeError("produce did not finish")
        elapsed = time.perf_counter() - start
    time.sleep(0.25)
    producer.poll(0)
    requests = sum(b.get("req", {}).get("Produce", 0) for b in stats[-1]["brokers"].values()) if stats else 0
    return {"msgs/s": count / elapsed, "requests": requests,
            "broker µs/request": cpu.seconds / requests * 1e6 if requests else float("nan"),
            "broker cores": cpu.seconds / elapsed}


def end_to_end_latency(broker, rate: int = 1000, seconds: float = 10.0) -> dict:
    """One message every 1/rate s (acks=all, linger.ms=0) to a consumer in another process with
    librdkafka's default fetch.wait.max.ms: latency from produce() to the consumer's poll().

    A loop-lag probe runs beside it, in a process of its own: how late a loop that sleeps
    1 ms wakes on this machine meanwhile (its p99), so that a shared box's noise is seen."""
    topic = create_topic(broker.bootstrap)
    total = int(rate * seconds)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
    producer.produce(topic, str(time.monotonic_ns()).encode())   # warm-up
    producer.flush(10)
    reader = subprocess.Popen([sys.executable, "-m", "bench.latency_consumer", broker.bootstrap, topic,
                               str(total)], stdout=subprocess.PIPE, text=True)
    if reader.stdout.readline().strip() != "ready":
        raise RuntimeError("latency consumer did not start")
    interval_ns = int(1e9 / rate)
    with CpuMeter(broker.pid) as cpu, LoopLagProbe(seconds) as probe:
        _pace(producer, topic, total, interval_ns)
    latencies = json.loads(reader.stdout.readline())
    reader.wait(30)
    if len(latencies) < total:
        raise RuntimeError(f"only {len(latencies)} of {total} messages arrived")
    latencies.sort()
    return {"p50 ms": latencies[len(latencies) // 2] * 1e3, "p99 ms": latencies[int(len(latencies) * 0.99)] * 1e3,
            "max ms": latencies[-1] * 1e3, "loop lag p99 ms": probe.result.get("p99 ms", float("nan")),
            "broker cores": cpu.seconds / seconds}


def _pace(producer: Producer, topic: str, total: int, interval_ns: int) -> None:
    """One message every ``interval_ns``, its value the CLOCK_MONOTONIC nanoseconds it was sent at."""
    start = time.monotonic_ns()
    for i in range(total):
        target = start + i * interval_ns
        now = time.monotonic_ns()
        if now < target:
            time.sleep((target - now) / 1e9)   # one wake-up a message: the box has 2 cores
        producer.produce(topic, str(time.monotonic_ns()).encode())
        producer.poll(0)
    producer.flush(10)
