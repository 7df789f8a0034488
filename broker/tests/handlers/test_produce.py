"""Produce over a real socket: offsets and stored records at every kind of version, and each refusal
in Produce's error shape (per partition, base offset -1), with nothing stored."""

from __future__ import annotations

import time

import pytest

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce, produce_body, values_of
from kproto.errors import ErrorCode as E
from kproto.messages import FETCH, INIT_PRODUCER_ID, METADATA, PRODUCE
from storage import Record, build_batch, decode_records, iter_batches


def answer(index: int, error_code: int = 0, base_offset: int = -1, *, log_start_offset: int = -1,
           log_append_time_ms: int = -1, error_message: str | None = None) -> dict:
    """One partition's response as the client decodes it (fields its version lacks at their defaults)."""
    return {"index": index, "error_code": error_code, "base_offset": base_offset,
            "log_append_time_ms": log_append_time_ms, "log_start_offset": log_start_offset, "record_errors": [],
            "error_message": error_message, "current_leader": {"leader_id": -1, "leader_epoch": -1}}


def stored(client, topic: str, partition: int = 0) -> list[tuple[int, bytes]]:
    """What a consumer reads back from offset 0."""
    response = client.request(FETCH, 12, fetch_body(topic, {partition: 0}))
    [part] = response["responses"][0]["partitions"]
    assert part["error_code"] == 0, part
    return values_of(part["records"])


@pytest.mark.parametrize("version", [3, 5, 8, 9, 11])
def test_batches_get_consecutive_offsets(client, topic, version):
    create_topic(client, topic, partitions=2)
    log_start = 0 if version >= 5 else -1   # log_start_offset is in the response from v5
    first = client.request(PRODUCE, version, produce_body(topic, {0: batch(b"a", b"b", b"c"), 1: batch(b"x")}))
    second = client.request(PRODUCE, version, produce_body(topic, {0: batch(b"d")}))
    assert first == {"responses": [{"name": topic, "partition_responses": [
        answer(0, base_offset=0, log_start_offset=log_start), answer(1, base_offset=0, log_start_offset=log_start)]}],
        "throttle_time_ms": 0, "node_endpoints": []}
    assert second["responses"][0]["partition_responses"] == [answer(0, base_offset=3, log_start_offset=log_start)]
    assert stored(client, topic, 0) == [(0, b"a"), (1, b"b"), (2, b"c"), (3, b"d")]
    assert stored(client, topic, 1) == [(0, b"x")]


def test_log_append_time_topic_stamps_the_batch(client, topic):
    create_topic(client, topic, configs={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    part = produce(client, topic, batch(b"a", b"b", timestamp=1000))
    after = int(time.time() * 1000)
    assert before <= part["log_append_time_ms"] <= after
    assert part == answer(0, base_offset=0, log_start_offset=0, log_append_time_ms=part["log_append_time_ms"])
    response = client.request(FETCH, 12, fetch_body(topic, {0: 0}))
    [one] = list(iter_batches(bytes(response["responses"][0]["partitions"][0]["records"])))
    assert [r.timestamp for r in decode_records(one)] == [part["log_append_time_ms"]] * 2


@pytest.mark.parametrize("version", [0, 1, 2])
def test_versions_below_3_take_a_v2_batch_too(client, topic, version):
    # as Kafka: v0-2 are not held to v3's one-v2-batch rule (message sets: test_old_versions.py)
    create_topic(client, topic, partitions=2)
    response = client.request(PRODUCE, version, produce_body(topic, {0: batch(b"a"), 1: batch(b"b")}))
    assert response["responses"] == [{"name": topic, "partition_responses": [
        answer(0, base_offset=0), answer(1, base_offset=0)]}]
    assert stored(client, topic) == [(0, b"a")]


@pytest.mark.parametrize("acks", [2, -2, 5])
def test_invalid_required_acks(client, topic, acks):
    create_topic(client, topic, partitions=2)
    response = client.request(PRODUCE, 11, produce_body(topic, {0: batch(b"a"), 1: batch(b"b")}, acks=acks))
    assert response["responses"][0]["partition_responses"] == [
        answer(0, E.INVALID_REQUIRED_ACKS), answer(1, E.INVALID_REQUIRED_ACKS)]
    assert stored(client, topic, 0) == stored(client, topic, 1) == []


def test_unknown_partitions_fail_alone(client, topic):
    create_topic(client, topic, partitions=2)
    response = client.request(PRODUCE, 11, produce_body(topic, {2: batch(b"x"), 0: batch(b"a"), -1: batch(b"y")}))
    assert response["responses"][0]["partition_responses"] == [
        answer(2, E.UNKNOWN_TOPIC_OR_PARTITION), answer(0, base_offset=0, log_start_offset=0),
        answer(-1, E.UNKNOWN_TOPIC_OR_PARTITION)]
    assert stored(client, topic) == [(0, b"a")]


def test_unknown_topic_without_auto_creation(own_broker, topic):
    with own_broker(memory=True, auto_create_topics=False) as served, served.client() as client:
        assert produce(client, topic, batch(b"a")) == answer(0, E.UNKNOWN_TOPIC_OR_PARTITION)
        response = client.request(METADATA, 12, {"topics": [{"name": topic}], "allow_auto_topic_creation": False})
        assert response["topics"][0]["error_code"] == E.UNKNOWN_TOPIC_OR_PARTITION


def test_corrupt_batch_is_corrupt_message(client, topic):
    create_topic(client, topic)
    good = batch(b"one", b"two", b"three")
    flipped_value = bytearray(good)
    flipped_value[-2] ^= 0x01
    flipped_crc = bytearray(good)
    flipped_crc[17] ^= 0x80
    for bad in (flipped_value, flipped_crc):
        assert produce(client, topic, bytes(bad)) == answer(0, E.CORRUPT_MESSAGE,
                                                            error_message="record batch CRC mismatch")
    assert stored(client, topic) == []
    # the connection goes on, and the intact batch is stored at offset 0
    assert produce(client, topic, good) == answer(0, base_offset=0, log_start_offset=0)
    assert stored(client, topic) == [(0, b"one"), (1, b"two"), (2, b"three")]


NOT_ONE_BATCH = "Produce requests must contain exactly one whole record batch per partition"
NO_BATCH = "Produce requests must have at least one record batch per partition"
MAGIC_1 = "Produce requests are only allowed to contain record batches with magic version 2"


def _magic_1(data: bytes) -> bytes:
    return data[:16] + b"\x01" + data[17:]


@pytest.mark.parametrize("records,message", [
    (batch(b"a") + batch(b"b"), NOT_ONE_BATCH),
    (batch(b"a")[:-1], NOT_ONE_BATCH),
    (batch(b"a") + b"\x00", NOT_ONE_BATCH),
    (b"", NO_BATCH),
    (None, NO_BATCH),
    (_magic_1(batch(b"a")), MAGIC_1),
], ids=["two batches", "cut short", "trailing byte", "empty", "null", "magic 1"])
@pytest.mark.parametrize("version", [7, 8])
def test_not_one_whole_v2_batch_is_invalid_record(client, topic, records, message, version):
    create_topic(client, topic)
    response = client.request(PRODUCE, version, produce_body(topic, {0: records}))
    # error_message is in the response from v8
    assert response["responses"][0]["partition_responses"] == [
        answer(0, E.INVALID_RECORD, error_message=message if version >= 8 else None)]
    assert stored(client, topic) == []


def test_batch_above_max_message_bytes_is_message_too_large(client, topic):
    create_topic(client, topic, configs={"max.message.bytes": "200"})
    assert produce(client, topic, batch(b"v" * 300)) == answer(
        0, E.MESSAGE_TOO_LARGE, error_message="record batch of 370 bytes exceeds max.message.bytes 200")
    assert produce(client, topic, batch(b"v" * 50)) == answer(0, base_offset=0, log_start_offset=0)


def test_acks_0_gets_no_response(client, topic):
    create_topic(client, topic)
    for value in (b"a", b"b"):
        client.send(PRODUCE, 11, produce_body(topic, {0: batch(value)}, acks=0))
    # the next frame on the connection answers the next request
    assert stored(client, topic) == [(0, b"a"), (1, b"b")]


@pytest.mark.parametrize("version,records", [(11, batch(b"a")[:-1]), (2, bytes(12) + b"\xff" * 8)],
                         ids=["invalid record", "corrupt message set"])
def test_failed_acks_0_closes_the_connection(served, client, topic, version, records):
    """acks=0 has no response to carry the error: the broker closes the connection, as Kafka does."""
    create_topic(client, topic)
    client.send(PRODUCE, version, produce_body(topic, {0: records}, acks=0))
    assert client.is_closed()
    with served.client() as other:
        assert stored(other, topic) == []


def test_idempotent_retry_and_sequence_gap(client, topic):
    create_topic(client, topic)
    producer = client.request(INIT_PRODUCER_ID, 4, {"transactional_id": None, "transaction_timeout_ms": 60000,
                                                     "producer_id": -1, "producer_epoch": -1})
    pid, epoch = producer["producer_id"], producer["producer_epoch"]

    def idempotent(sequence: int, *values: bytes) -> bytes:
        return build_batch([Record(timestamp=1000, value=v) for v in values], producer_id=pid,
                           producer_epoch=epoch, base_sequence=sequence)

    assert produce(client, topic, idempotent(0, b"a", b"b")) == answer(0, base_offset=0, log_start_offset=0)
    # a retry of the same batch is answered with the first offsets and stored once
    assert produce(client, topic, idempotent(0, b"a", b"b")) == answer(0, base_offset=0, log_start_offset=0)
    part = produce(client, topic, idempotent(5, b"c"))
    assert (part["error_code"], part["base_offset"]) == (E.OUT_OF_ORDER_SEQUENCE_NUMBER, -1)
    assert produce(client, topic, idempotent(2, b"c")) == answer(0, base_offset=2, log_start_offset=0)
    assert stored(client, topic) == [(0, b"a"), (1, b"b"), (2, b"c")]


@pytest.mark.parametrize("version", [8, 11])
def test_a_compacted_topic_refuses_records_without_a_key(client, topic, version):
    """Kafka's one look into the records of a produce: a compacted topic needs a key on each."""
    create_topic(client, topic, configs={"cleanup.policy": "compact"})
    keyed = [Record(timestamp=1_700_000_000_000, key=k, value=b"v") for k in (b"a", None, b"b")]
    response = client.request(PRODUCE, version, produce_body(topic, {0: build_batch(keyed)}))
    [part] = response["responses"][0]["partition_responses"]
    message = f"Compacted topic cannot accept message without key in topic partition {topic}-0"
    assert (part["error_code"], part["base_offset"]) == (E.INVALID_RECORD, -1)
    assert part["record_errors"] == [{"batch_index": 1, "batch_index_error_message": message}]
    assert part["error_message"] == ("One or more records have been rejected due to 1 record errors in total, and "
                                     f"only showing the first three errors at most: [RecordError(batchIndex=1, "
                                     f"message='{message}')]")
    assert produce(client, topic, build_batch([keyed[0]]))["base_offset"] == 0
