"""Fetch as clients use it: starting mid-batch, tight byte limits, long polls woken by produce, out of range."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from broker.testing import RawClient
from compat_tests.clients import CLIENTS, Out, batch_headers, consume, create_topic, fetch_log, produce
from kproto.messages import PRODUCE
from storage import Compression, Record, build_batch

COUNT = 200


def read_from(client: str, bootstrap: str, topic: str, offset: int, count: int, timeout_s: float = 20, **config):
    """Assign partition 0 at ``offset`` and read ``count`` messages; [(offset, value)]."""
    deadline = time.monotonic() + timeout_s
    out = []
    if client == "kafka-python":
        from kafka import KafkaConsumer, TopicPartition
        tp = TopicPartition(topic, 0)
        consumer = KafkaConsumer(**{"bootstrap_servers": bootstrap, "fetch_max_wait_ms": 100,
                                    "request_timeout_ms": 20000, **config})
        try:
            consumer.assign([tp])
            consumer.seek(tp, offset)
            while len(out) < count and time.monotonic() < deadline:
                out += [(r.offset, r.value) for r in consumer.poll(200).get(tp, [])]
        finally:
            consumer.close()
    elif client == "confluent":
        from confluent_kafka import Consumer, TopicPartition
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compat-fetch", "fetch.wait.max.ms": 100,
                             **config})
        try:
            consumer.assign([TopicPartition(topic, 0, offset)])
            while len(out) < count and time.monotonic() < deadline:
                for m in consumer.consume(500, 0.2):
                    assert not m.error(), m.error()
                    out.append((m.offset(), m.value()))
        finally:
            consumer.close()
    else:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        async def run():
            tp = TopicPartition(topic, 0)
            consumer = AIOKafkaConsumer(**{"bootstrap_servers": bootstrap, "fetch_max_wait_ms": 100,
                                           "request_timeout_ms": 20000, **config})
            await consumer.start()
            try:
                consumer.assign([tp])
                consumer.seek(tp, offset)
                while len(out) < count and time.monotonic() < deadline:
                    out.extend((r.offset, r.value) for r in (await consumer.getmany(timeout_ms=200)).get(tp, []))
            finally:
                await consumer.stop()
        asyncio.run(run())
    return out


@pytest.fixture(scope="module")
def batched_topics(broker):
    """Two topics of COUNT messages in batches of 50: one plain, one zstd-compressed."""
    names = {}
    for codec in ("none", "zstd"):
        name = f"fetch-mid-batch-{codec}"
        create_topic("confluent", broker.bootstrap, name, 1)
        # Batches made here, not by a client's linger timer (which a loaded machine outruns).
        compression = Compression.ZSTD if codec == "zstd" else Compression.NONE
        with RawClient(broker.bootstrap) as raw:
            for first in range(0, COUNT, 50):
                batch = build_batch([Record(timestamp=int(time.time() * 1000), value=b"m%03d" % i)
                                     for i in range(first, first + 50)], compression=compression)
                response = raw.request(PRODUCE, 9, {"transactional_id": None, "acks": -1, "timeout_ms": 10000,
                                                    "topic_data": [{"name": name, "partition_data": [
                                                        {"index": 0, "records": batch}]}]})
                assert response["responses"][0]["partition_responses"][0]["error_code"] == 0
        assert [h.records_count for h in batch_headers(fetch_log(broker.bootstrap, name))] == [50] * 4
        names[codec] = name
    return names


@pytest.mark.parametrize("codec", ["none", "zstd"])
@pytest.mark.parametrize("client", CLIENTS)
def test_start_in_the_middle_of_a_batch(client, codec, batched_topics, bootstrap):
    if client == "kafka-python" and codec == "zstd":
        pytest.skip("kafka-python needs the zstandard package for zstd")
    got = read_from(client, bootstrap, batched_topics[codec], 73, COUNT - 73)
    assert got == [(i, b"m%03d" % i) for i in range(73, COUNT)]


TIGHT_LIMITS = {
    "kafka-python": {"fetch_max_bytes": 30_000, "max_partition_fetch_bytes": 5_000},
    "confluent": {"fetch.max.bytes": 30_000, "message.max.bytes": 20_000, "max.partition.fetch.bytes": 5_000},
    "aiokafka": {"fetch_max_bytes": 30_000, "max_partition_fetch_bytes": 5_000},
}


@pytest.mark.parametrize("client", CLIENTS)
def test_batches_larger_than_the_fetch_limits(client, bootstrap, topic_name):
    """KIP-74: a batch bigger than max.partition.fetch.bytes / fetch.max.bytes still comes back whole."""
    create_topic("confluent", bootstrap, topic_name, 4)
    values = [os.urandom(12_000) for _ in range(40)]
    produce("kafka-python", bootstrap, topic_name, [Out(None, v, partition=i % 4) for i, v in enumerate(values)])
    received = consume(client, bootstrap, topic_name, 4, 40, timeout_s=30, **TIGHT_LIMITS[client])
    assert sorted(r.value for r in received) == sorted(values)
    assert len(received) == 40


@pytest.mark.parametrize("client", CLIENTS)
def test_long_poll_is_woken_by_produce(client, bootstrap, topic_name):
    """A consumer waiting at the end of the log (long fetch.wait) gets new messages as they arrive."""
    create_topic("confluent", bootstrap, topic_name, 1)
    wait = {"kafka-python": {"fetch_max_wait_ms": 10_000}, "confluent": {"fetch.wait.max.ms": 10_000},
            "aiokafka": {"fetch_max_wait_ms": 10_000}}[client]
    produced_at = []

    def produce_later():
        time.sleep(1.5)   # the consumer is parked in a long poll by now
        for i in range(3):
            produced_at.append(time.monotonic())
            produce("confluent", bootstrap, topic_name, [Out(None, b"late-%d" % i, partition=0)])
    thread = threading.Thread(target=produce_later)
    thread.start()
    try:
        started = time.monotonic()
        got = read_from(client, bootstrap, topic_name, 0, 3, timeout_s=30, **wait)
        finished = time.monotonic()
    finally:
        thread.join()
    assert got == [(i, b"late-%d" % i) for i in range(3)]
    # three fetches that each would wait 10 s when not woken
    assert finished - produced_at[0] < 6, f"took {finished - produced_at[0]:.1f}s after the first produce"
    assert finished - started < 10


@pytest.mark.parametrize("client", CLIENTS)
def test_offset_out_of_range_resets_to_earliest(client, batched_topics, bootstrap):
    reset = {"kafka-python": {"auto_offset_reset": "earliest"}, "confluent": {"auto.offset.reset": "earliest"},
             "aiokafka": {"auto_offset_reset": "earliest"}}[client]
    got = read_from(client, bootstrap, batched_topics["none"], 5_000, COUNT, **reset)
    assert got == [(i, b"m%03d" % i) for i in range(COUNT)]


@pytest.mark.parametrize("version", [11, 16])
def test_long_poll_on_a_deleted_topic_ends_with_an_error(version, bootstrap, topic_name):
    """A fetch parked at the end of a partition whose topic is deleted answers at once with the topic's error
    (Kafka completes such a delayed fetch when the partition goes away), not after max_wait with no error."""
    from broker.testing import RawClient
    from kproto.messages import DELETE_TOPICS, FETCH, METADATA
    create_topic("confluent", bootstrap, topic_name, 1)
    produce("confluent", bootstrap, topic_name, [Out(None, b"x", partition=0)])
    with RawClient(bootstrap) as raw:
        topic_id = raw.request(METADATA, 12, {"topics": [{"name": topic_name, "topic_id": bytes(16)}],
                                              "allow_auto_topic_creation": False,
                                              "include_topic_authorized_operations": False})["topics"][0]["topic_id"]

    def delete_soon():
        time.sleep(0.5)
        with RawClient(bootstrap) as other:
            [result] = other.request(DELETE_TOPICS, 4, {"topic_names": [topic_name], "timeout_ms": 5000})["responses"]
            assert result["error_code"] == 0
    thread = threading.Thread(target=delete_soon)
    thread.start()
    try:
        with RawClient(bootstrap, timeout_s=30) as raw:
            started = time.monotonic()
            response = raw.request(FETCH, version, {
                "max_wait_ms": 8000, "min_bytes": 1, "max_bytes": 1 << 20, "isolation_level": 0, "session_id": 0,
                "session_epoch": -1, "topics": [{"topic": topic_name, "topic_id": topic_id, "partitions": [
                    {"partition": 0, "fetch_offset": 1, "partition_max_bytes": 1 << 20}]}],
                "forgotten_topics_data": [], "rack_id": ""})
            elapsed = time.monotonic() - started
    finally:
        thread.join()
    part = response["responses"][0]["partitions"][0]
    expected = 100 if version >= 13 else 3   # UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION
    assert (part["error_code"], bytes(part["records"] or b"")) == (expected, b"")
    assert elapsed < 4, f"the fetch waited {elapsed:.1f}s"
