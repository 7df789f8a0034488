"""Start-up time, idle and loaded memory, and many topics."""

from __future__ import annotations

import statistics
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench.workloads import CpuMeter, create_topic, produce, send, warm_up
from broker.testing import RawClient, process_rss_bytes
from kproto.messages import METADATA


def startup(broker) -> dict:
    """Process launch to the first Metadata answer; RSS after a second idle."""
    started = time.perf_counter()
    broker.start(wait=False)
    while True:
        try:
            client = RawClient(broker.bootstrap, timeout_s=5)
            break
        except OSError:
            if time.perf_counter() - started > 20:
                raise RuntimeError("broker did not start") from None
            time.sleep(0.001)
    with client:
        client.request(METADATA, 1, {"topics": None})
    first_answer = time.perf_counter() - started
    time.sleep(1.0)
    return {"first Metadata s": first_answer, "idle RSS MB": process_rss_bytes(broker.pid) / 1e6}


def memory_after_produce(broker, count: int = 1_000_000, size: int = 100) -> dict:
    """RSS after producing ``count`` messages: the log lives on disk, not in the broker's memory."""
    topic = create_topic(broker.bootstrap)
    produce(broker.bootstrap, topic, count, size)
    time.sleep(0.5)
    return {"RSS MB": process_rss_bytes(broker.pid) / 1e6}


def many_topics(broker, topics: int = 100, partitions: int = 10, count: int = 100_000, size: int = 100) -> dict:
    """Produce spread over topics x partitions vs into one partition; full Metadata latency."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    names = [f"many-{i:03d}" for i in range(topics)]
    for future in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
        future.result(60)
    warm_up(broker, size)
    single = create_topic(broker.bootstrap)
    with CpuMeter(broker.pid) as one_cpu:
        one = produce(broker.bootstrap, single, count, size)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": 1})
    value = b"x" * size
    targets = [(n, p) for n in names for p in range(partitions)]
    with CpuMeter(broker.pid) as spread_cpu:
        start = time.perf_counter()
        for i in range(count):
            name, partition = targets[i % len(targets)]
            send(producer, name, value, partition=partition)
        if producer.flush(120):
            raise RuntimeError("produce did not finish")
        spread = time.perf_counter() - start
    samples = []
    with RawClient(broker.bootstrap) as client:
        for _ in range(50):
            t0 = time.perf_counter()
            response = client.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False})
            samples.append(time.perf_counter() - t0)
        if len(response["topics"]) < topics:
            raise RuntimeError(f"Metadata listed {len(response['topics'])} topics")
    return {"spread msgs/s": count / spread, "one-partition msgs/s": count / one,
            "spread / one": one / spread, "Metadata p50 ms": statistics.median(samples) * 1e3,
            "spread broker µs/msg": spread_cpu.seconds / count * 1e6,
            "one broker µs/msg": one_cpu.seconds / count * 1e6}
