"""ListOffsets through each client: earliest, latest, and by time (offsets_for_times)."""

from __future__ import annotations

import asyncio

import pytest

from broker.testing import RawClient
from compat_tests.clients import CLIENTS, Out, create_topic, produce
from kproto.messages import LIST_OFFSETS

T = 1_700_000_000_000
COUNT = 10   # message i has timestamp T + 1000 * i; produced in two batches of 5


@pytest.fixture(scope="module")
def timed_topic(broker):
    name = "list-offsets-timed"
    create_topic("confluent", broker.bootstrap, name, 1, {"retention.ms": "-1"})
    for first in (0, 5):   # two produce calls: at least two batches, lookups inside and across them
        messages = [Out(b"k", b"v%d" % i, partition=0, timestamp=T + 1000 * i) for i in range(first, first + 5)]
        deliveries = produce("confluent", broker.bootstrap, name, messages, **{"linger.ms": 50})
        assert [d.offset for d in deliveries] == list(range(first, first + 5))
    return name


# What each lookup must answer: (offset, timestamp of that record) or None (no such record).
CASES = [
    ("exact first", T, (0, T)),
    ("exact middle", T + 3000, (3, T + 3000)),
    ("between two messages", T + 3500, (4, T + 4000)),
    ("between the batches", T + 4001, (5, T + 5000)),
    ("before the first", T - 60_000, (0, T)),
    ("exact last", T + 9000, (9, T + 9000)),
    ("after the last", T + 9001, None),
]


def kafka_python_lookups(bootstrap, topic, times):
    from kafka import KafkaConsumer, TopicPartition
    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        earliest = consumer.beginning_offsets([tp])[tp]
        latest = consumer.end_offsets([tp])[tp]
        found = []
        for t in times:
            answer = consumer.offsets_for_times({tp: t})[tp]
            found.append(None if answer is None else (answer.offset, answer.timestamp))
        return earliest, latest, found
    finally:
        consumer.close()


def confluent_lookups(bootstrap, topic, times):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compat-list-offsets"})
    try:
        earliest, latest = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
        found = []
        for t in times:
            [answer] = consumer.offsets_for_times([TopicPartition(topic, 0, t)], timeout=10)
            assert answer.error is None
            # librdkafka gives OFFSET_END (-1) when no record is at or after the time; no timestamp
            found.append(None if answer.offset == -1 else (answer.offset, None))
        return earliest, latest, found
    finally:
        consumer.close()


def aiokafka_lookups(bootstrap, topic, times):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run():
        tp = TopicPartition(topic, 0)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        await consumer.start()
        try:
            earliest = (await consumer.beginning_offsets([tp]))[tp]
            latest = (await consumer.end_offsets([tp]))[tp]
            found = []
            for t in times:
                answer = (await consumer.offsets_for_times({tp: t}))[tp]
                found.append(None if answer is None else (answer.offset, answer.timestamp))
            return earliest, latest, found
        finally:
            await consumer.stop()
    return asyncio.run(run())


LOOKUPS = {"kafka-python": kafka_python_lookups, "confluent": confluent_lookups, "aiokafka": aiokafka_lookups}


@pytest.mark.parametrize("client", CLIENTS)
def test_earliest_latest_and_by_time(client, timed_topic, bootstrap):
    earliest, latest, found = LOOKUPS[client](bootstrap, timed_topic, [t for _, t, _ in CASES])
    assert (earliest, latest) == (0, COUNT)
    if client == "confluent":   # librdkafka does not hand back the record's timestamp
        expected = [(name, None if want is None else (want[0], None)) for name, _, want in CASES]
    else:
        expected = [(name, want) for name, _, want in CASES]
    assert list(zip([name for name, _, _ in CASES], found)) == expected


def raw_list_offsets(bootstrap, topic, timestamp, version=7):
    with RawClient(bootstrap) as raw:
        response = raw.request(LIST_OFFSETS, version, {"replica_id": -1, "isolation_level": 0, "topics": [
            {"name": topic, "partitions": [{"partition_index": 0, "timestamp": timestamp}]}]})
    part = response["topics"][0]["partitions"][0]
    return part["error_code"], part["offset"], part["timestamp"]


def test_raw_special_times(timed_topic, bootstrap):
    assert raw_list_offsets(bootstrap, timed_topic, -2) == (0, 0, -1)            # earliest
    assert raw_list_offsets(bootstrap, timed_topic, -1) == (0, COUNT, -1)        # latest
    assert raw_list_offsets(bootstrap, timed_topic, -3) == (0, 9, T + 9000)      # max timestamp (v7+)
    assert raw_list_offsets(bootstrap, timed_topic, T + 3500, 1) == (0, 4, T + 4000)


def test_max_timestamp_in_the_middle(bootstrap, topic_name):
    """-3 names the record holding the largest timestamp, even when later records are older."""
    create_topic("confluent", bootstrap, topic_name, 1, {"retention.ms": "-1"})
    stamps = [T, T + 9000, T + 2000, T + 3000]
    produce("kafka-python", bootstrap, topic_name,
            [Out(None, b"v%d" % i, partition=0, timestamp=t) for i, t in enumerate(stamps)])
    assert raw_list_offsets(bootstrap, topic_name, -3) == (0, 1, T + 9000)
    # by time, Kafka answers the first record (in offset order) at or after the time
    assert [raw_list_offsets(bootstrap, topic_name, t)[1] for t in (T, T + 1000, T + 2500, T + 9000, T + 9001)] == \
        [0, 1, 1, 1, -1]


def test_unknown_topic_and_partition(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    with RawClient(bootstrap) as raw:
        response = raw.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
            {"name": topic_name, "partitions": [{"partition_index": 5, "timestamp": -1}]},
            {"name": topic_name + "-missing", "partitions": [{"partition_index": 0, "timestamp": -1}]}]})
    assert [t["partitions"][0]["error_code"] for t in response["topics"]] == [3, 3]
