"""Workloads, with confluent-kafka (librdkafka) as the load generator.

Each workload takes a started broker and returns its metrics. Broker CPU is read
from /proc over the measured interval, so it counts the broker's cores only.
"""

from __future__ import annotations

import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

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


def produce(bootstrap: str, topic: str, count: int, size: int, **conf) -> float:
    """Produce ``count`` values of ``size`` bytes; seconds from the first send to the last ack.

    librdkafka's default batching; no per-message callback, so the Python loop is
    as light as it can be (delivery is checked afterwards through the end offset).
    """
    producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, **conf})
    value = b"x" * size
    send = producer.produce
    poll = producer.poll
    start = time.perf_counter()
    for _ in range(count):
        try:
            send(topic, value)
        except BufferError:
            poll(0.001)
            send(topic, value)
    if producer.flush(120):
        raise RuntimeError("produce did not finish")
    return time.perf_counter() - start


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
        for msg in consumer.consume(num_messages=10000, timeout=1.0):
            if msg.error() is not None:
                raise KafkaException(msg.error())
            if first is None:
                first = time.perf_counter()
            seen += 1
    end = time.perf_counter()
    consumer.close()
    return first - start, end - first


class CpuMeter:
    """Broker CPU seconds over a block."""

    def __init__(self, pid: int):
        self.pid = pid
        self.seconds = 0.0

    def __enter__(self) -> "CpuMeter":
        self._start = process_cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = process_cpu_seconds(self.pid) - self._start


def produce_throughput(broker, count: int, size: int) -> dict:
    topic = create_topic(broker.bootstrap)
    with CpuMeter(broker.pid) as cpu:
        elapsed = produce(broker.bootstrap, topic, count, size)
    stored = end_offset(broker.bootstrap, topic)
    if stored != count:
        print(f"  warning: {broker.name} reports {stored} messages stored of {count} produced", file=sys.stderr)
    return {"msgs/s": count / elapsed, "MB/s": count * size / elapsed / 1e6,
            "broker cores": cpu.seconds / elapsed, "RSS MB": process_rss_bytes(broker.pid) / 1e6}


def consume_throughput(broker, count: int, size: int) -> dict:
    topic = create_topic(broker.bootstrap)
    produce(broker.bootstrap, topic, count, size)
    with CpuMeter(broker.pid) as cpu:
        _, elapsed = consume(broker.bootstrap, topic, count)
    return {"msgs/s": count / elapsed, "MB/s": count * size / elapsed / 1e6, "broker cores": cpu.seconds / elapsed}


def group_assignment(broker, members: int) -> dict:
    """Time for ``members`` consumers subscribing at once until every partition is assigned,
    then, after one leaves, until the others own every partition again."""
    topic = create_topic(broker.bootstrap, partitions=max(members, 1))
    group = f"bench-group-{uuid.uuid4().hex[:6]}"
    assigned: list[set] = [set() for _ in range(members)]

    def tracker(index):
        def on_assign(consumer, partitions):
            assigned[index] = {p.partition for p in partitions}

        def on_revoke(consumer, partitions):
            assigned[index] = set()
        return on_assign, on_revoke

    consumers = [Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                           "session.timeout.ms": 10000, "heartbeat.interval.ms": 200,
                           "partition.assignment.strategy": "range"}) for _ in range(members)]
    start = time.perf_counter()
    for index, consumer in enumerate(consumers):
        on_assign, on_revoke = tracker(index)
        consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

    def wait_all_assigned(active: list[int], deadline_s: float = 60) -> float:
        begin = time.perf_counter()
        while True:
            for index in active:
                consumers[index].poll(0.005)
            owned = [p for index in active for p in assigned[index]]
            if (all(assigned[index] for index in active) and len(owned) == members
                    and len(set(owned)) == members):
                return time.perf_counter()
            if time.perf_counter() - begin > deadline_s:
                raise RuntimeError(f"partitions never all assigned: {assigned}")

    joined = wait_all_assigned(list(range(members))) - start
    result = {"join s": joined}
    if members > 1:
        leaving = consumers[-1]
        left_at = time.perf_counter()
        leaving.close()
        assigned[-1] = set()
        result["rebalance s"] = wait_all_assigned(list(range(members - 1))) - left_at
    for consumer in consumers[:-1] if members > 1 else consumers:
        consumer.close()
    return result


def produce_ceiling(broker, batch_bytes: int, requests: int) -> dict:
    """Raw pipelined Produce requests of one batch each, from the kproto load generator."""
    from bench.loadgen import batch_of, pipelined_produce

    topic = create_topic(broker.bootstrap)
    batch = batch_of(batch_bytes, record_bytes=min(1000, batch_bytes // 2))
    pipelined_produce(broker.bootstrap, topic, batch, min(200, requests))   # warm up
    with CpuMeter(broker.pid) as cpu:
        elapsed = pipelined_produce(broker.bootstrap, topic, batch, requests)
    return {"requests/s": requests / elapsed, "MB/s": requests * len(batch) / elapsed / 1e6,
            "broker µs/request": cpu.seconds / requests * 1e6}
