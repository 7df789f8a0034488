"""Idempotent producers: no duplicates, exact order, also across retries; sequence checks on raw frames."""

from __future__ import annotations

import threading
import time

import pytest

from broker.testing import RawClient
from compat_tests.clients import Out, consume, create_topic, end_offsets, produce
from kproto.messages import INIT_PRODUCER_ID, PRODUCE
from storage import Record, build_batch

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
PARTITIONS = 3
COUNT = 3_000


def numbered(count: int) -> list[Out]:
    return [Out(b"k%02d" % (i % 30), b"%06d" % i) for i in range(count)]


def check_exactly_once_in_order(bootstrap, topic, count, reader="aiokafka"):
    """Every message exactly once, each key's messages in production order, offsets dense."""
    assert sum(end_offsets(bootstrap, topic, PARTITIONS)) == count, "duplicates or losses in the log"
    received = consume(reader, bootstrap, topic, PARTITIONS, count)
    assert sorted(int(r.value) for r in received) == list(range(count))
    for p in range(PARTITIONS):
        values = [int(r.value) for r in received if r.partition == p]
        assert values == sorted(values), f"partition {p} out of production order"
        assert [r.offset for r in received if r.partition == p] == list(range(len(values)))


def test_confluent_idempotent(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    deliveries = produce("confluent", bootstrap, topic_name, numbered(COUNT),
                         **{"enable.idempotence": True, "linger.ms": 2, "batch.num.messages": 100})
    assert [d.error for d in deliveries] == [None] * COUNT
    check_exactly_once_in_order(bootstrap, topic_name, COUNT)


def test_kafka_python_idempotent_by_default(bootstrap, topic_name):
    create_topic("kafka-python", bootstrap, topic_name, PARTITIONS)
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, batch_size=2048)
    try:
        assert producer.config["enable_idempotence"] is True
        futures = [producer.send(topic_name, key=m.key, value=m.value) for m in numbered(COUNT)]
        producer.flush(timeout=60)
        offsets = [f.get(timeout=10).offset for f in futures]
        assert len(offsets) == COUNT
        # the producer really used a producer id (InitProducerId), not plain produce
        assert producer._transaction_manager is not None
        assert producer._transaction_manager.producer_id_and_epoch.producer_id >= 0
    finally:
        producer.close(timeout=10)
    check_exactly_once_in_order(bootstrap, topic_name, COUNT, reader="confluent")


def test_confluent_idempotent_across_broker_restart(own_broker, topic_name):
    """Batches in flight when the broker goes down are retried; the restarted broker must recognise the
    ones it had already written (producer state survives a clean restart) and keep order."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 1,
                         "batch.num.messages": 20, "retry.backoff.ms": 50, "reconnect.backoff.ms": 50,
                         "reconnect.backoff.max.ms": 200, "socket.timeout.ms": 5000})
    errors, delivered = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg.offset())

    restarted = threading.Event()

    def restart_soon():
        time.sleep(0.3)
        own_broker.restart()
        restarted.set()

    threading.Thread(target=restart_soon, daemon=True).start()
    total = 0
    deadline = time.monotonic() + 30
    while (not restarted.is_set() or total < 6000) and time.monotonic() < deadline:
        m = Out(b"k%02d" % (total % 30), b"%06d" % total)
        try:
            producer.produce(topic_name, key=m.key, value=m.value, on_delivery=on_delivery)
            total += 1
        except BufferError:
            pass
        producer.poll(0.001 if total % 50 == 0 else 0)
    assert restarted.is_set()
    assert producer.flush(60) == 0
    assert errors == []
    assert len(delivered) == total
    check_exactly_once_in_order(bootstrap, topic_name, total)


# ------------------------------------------------------------------------------------------------ raw


def produce_batch(raw, topic, batch) -> tuple[int, int]:
    response = raw.request(PRODUCE, 9, {"transactional_id": None, "acks": -1, "timeout_ms": 5000, "topic_data": [
        {"name": topic, "partition_data": [{"index": 0, "records": batch}]}]})
    part = response["responses"][0]["partition_responses"][0]
    return part["error_code"], part["base_offset"]


def test_raw_duplicates_and_sequence_gap(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    with RawClient(bootstrap) as raw:
        init = raw.request(INIT_PRODUCER_ID, 4, {"transactional_id": None, "transaction_timeout_ms": 60000,
                                                 "producer_id": -1, "producer_epoch": -1})
        assert init["error_code"] == 0
        pid, epoch = init["producer_id"], init["producer_epoch"]
        assert pid >= 0 and epoch == 0

        def batch(first_sequence, n=3):
            return build_batch([Record(timestamp=1_700_000_000_000 + first_sequence + i, key=b"k",
                                       value=b"seq-%d" % (first_sequence + i)) for i in range(n)],
                               producer_id=pid, producer_epoch=epoch, base_sequence=first_sequence)

        b0, b1, b2 = batch(0), batch(3), batch(6)
        assert produce_batch(raw, topic_name, b0) == (0, 0)
        assert produce_batch(raw, topic_name, b0) == (0, 0), "a resent batch must get its original offset"
        assert produce_batch(raw, topic_name, b1) == (0, 3)
        assert produce_batch(raw, topic_name, b2) == (0, 6)
        assert produce_batch(raw, topic_name, b1) == (0, 3), "an older batch among the last five is a duplicate"
        assert end_offsets(bootstrap, topic_name, 1) == [9]

        gap_error, _ = produce_batch(raw, topic_name, batch(12))   # 9..11 never sent
        assert gap_error == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert end_offsets(bootstrap, topic_name, 1) == [9]
        assert produce_batch(raw, topic_name, batch(9)) == (0, 9), "the refused gap must not advance the sequence"
    values = [r.value for r in consume("kafka-python", bootstrap, topic_name, [0], 12)]
    assert values == [b"seq-%d" % i for i in range(12)]
