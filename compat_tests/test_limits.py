"""Large messages: 900 KB goes through; over message.max.bytes / max.message.bytes is MESSAGE_TOO_LARGE,
and the producer (and the connection) stay usable afterwards."""

from __future__ import annotations

import asyncio
import os

import pytest

from broker.testing import RawClient
from compat_tests.clients import CLIENTS, Out, consume, create_topic, end_offsets, produce
from kproto.messages import METADATA, PRODUCE
from storage import Record, build_batch

MESSAGE_TOO_LARGE = 10


def next_client(client: str) -> str:
    return CLIENTS[(CLIENTS.index(client) + 1) % len(CLIENTS)]


@pytest.mark.parametrize("producer", CLIENTS)
def test_900_kb_message(producer, bootstrap, topic_name):
    big = os.urandom(900 * 1024)   # incompressible, and no codec anyway
    messages = [Out(b"before", b"small-1"), Out(b"big", big, (("size", b"921600"),)), Out(b"after", b"small-2")]
    messages = [Out(m.key, m.value, m.headers, partition=0) for m in messages]
    deliveries = produce(producer, bootstrap, topic_name, messages)
    assert [(d.error, d.offset) for d in deliveries] == [(None, 0), (None, 1), (None, 2)]
    received = consume(next_client(producer), bootstrap, topic_name, [0], 3)
    assert [(r.offset, r.key, r.value, r.headers) for r in received] == [
        (0, b"before", b"small-1", ()), (1, b"big", big, (("size", b"921600"),)), (2, b"after", b"small-2", ())]


# -- over the limit: one producer sends a too-large message, then a small one ---------------------


def kafka_python_big_then_small(bootstrap, topic, big, small):
    from kafka import KafkaProducer
    # Idempotence off: kafka-python 3.0's idempotent (non-transactional) producer classifies every
    # non-retriable batch error as fatal and fails all later sends, where the Java client only fails
    # the batch. That is the client's choice, not the broker's; the broker's answer is the same.
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=1_048_576, request_timeout_ms=10000,
                             enable_idempotence=False)
    try:
        try:
            producer.send(topic, value=big, partition=0).get(timeout=20)
            big_error = None
        except Exception as exc:
            big_error = type(exc).__name__
        md = producer.send(topic, value=small, partition=0).get(timeout=20)
        return big_error, md.offset
    finally:
        producer.close(timeout=10)


def confluent_big_then_small(bootstrap, topic, big, small):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 1_000_000, "linger.ms": 0})
    reports = []
    producer.produce(topic, value=big, partition=0,
                     on_delivery=lambda err, msg: reports.append(None if err is None else err.name()))
    assert producer.flush(20) == 0
    producer.produce(topic, value=small, partition=0,
                     on_delivery=lambda err, msg: reports.append(err or msg.offset()))
    assert producer.flush(20) == 0
    return reports[0], reports[1]


def aiokafka_big_then_small(bootstrap, topic, big, small):
    from aiokafka import AIOKafkaProducer

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=1_048_576,
                                    request_timeout_ms=10000)
        await producer.start()
        try:
            try:
                await producer.send_and_wait(topic, value=big, partition=0)
                big_error = None
            except Exception as exc:
                big_error = type(exc).__name__
            md = await producer.send_and_wait(topic, value=small, partition=0)
            return big_error, md.offset
        finally:
            await producer.stop()
    return asyncio.run(run())


BIG_THEN_SMALL = {"kafka-python": kafka_python_big_then_small, "confluent": confluent_big_then_small,
                  "aiokafka": aiokafka_big_then_small}
TOO_LARGE_ERROR = {"kafka-python": "MessageSizeTooLargeError", "confluent": "MSG_SIZE_TOO_LARGE",
                   "aiokafka": "MessageSizeTooLargeError"}


@pytest.fixture(scope="module")
def small_limit_broker(tmp_path_factory):
    """A broker whose message.max.bytes is 100,000 (shared by this module's over-the-limit tests)."""
    from broker.testing import BrokerProcess
    root = tmp_path_factory.mktemp("small-limit")
    process = BrokerProcess(root / "data", overrides={"message.max.bytes": "100000"},
                            log_path=root / "broker.log").start()
    yield process
    assert process.stop() == 0


@pytest.mark.parametrize("client", CLIENTS)
def test_over_broker_message_max_bytes(client, small_limit_broker, topic_name):
    bootstrap = small_limit_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    big_error, small_offset = BIG_THEN_SMALL[client](bootstrap, topic_name, os.urandom(200_000), b"small")
    assert big_error == TOO_LARGE_ERROR[client]
    assert small_offset == 0, "the refused message must not take an offset"
    assert end_offsets(bootstrap, topic_name, 1) == [1]
    received = consume(next_client(client), bootstrap, topic_name, [0], 1)
    assert [(r.offset, r.value) for r in received] == [(0, b"small")]


def test_over_topic_max_message_bytes(bootstrap, topic_name):
    """The topic's own max.message.bytes (set at creation) is enforced, below the broker's limit."""
    create_topic("kafka-python", bootstrap, topic_name, 1, {"max.message.bytes": "50000"})
    big_error, small_offset = BIG_THEN_SMALL["confluent"](bootstrap, topic_name, os.urandom(80_000), b"small")
    assert big_error == "MSG_SIZE_TOO_LARGE"
    assert small_offset == 0
    assert end_offsets(bootstrap, topic_name, 1) == [1]


def test_too_large_keeps_the_connection(small_limit_broker, topic_name):
    """Raw: MESSAGE_TOO_LARGE is an answer, not a disconnect; the same socket serves the next requests."""
    bootstrap = small_limit_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    with RawClient(bootstrap) as raw:
        def produce_one(value: bytes) -> dict:
            batch = build_batch([Record(timestamp=1_700_000_000_000, value=value)])
            response = raw.request(PRODUCE, 9, {"transactional_id": None, "acks": -1, "timeout_ms": 5000,
                                                "topic_data": [{"name": topic_name, "partition_data": [
                                                    {"index": 0, "records": batch}]}]})
            return response["responses"][0]["partition_responses"][0]
        too_big = produce_one(os.urandom(150_000))
        assert (too_big["error_code"], too_big["base_offset"]) == (MESSAGE_TOO_LARGE, -1)
        metadata = raw.request(METADATA, 12, {"topics": [{"name": topic_name, "topic_id": bytes(16)}],
                                              "allow_auto_topic_creation": False,
                                              "include_topic_authorized_operations": False})
        assert metadata["topics"][0]["error_code"] == 0
        ok = produce_one(b"fits")
        assert (ok["error_code"], ok["base_offset"]) == (0, 0)
    assert end_offsets(bootstrap, topic_name, 1) == [1]
