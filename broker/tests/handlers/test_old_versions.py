"""The versions Kafka 3.9 still serves to clients from before 0.11, over a real socket: Produce v0-2
with message sets (magic 0 and 1, compressed wrappers), Fetch v0-3 down-converting the log's v2
batches, ListOffsets v0 with its offsets array, and each refusal in its API's error shape."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from broker.registry import SERVED
from broker.tests.handlers.serving import TIMESTAMP, batch, create_topic, fetch_body, produce_body, values_of
from kproto.errors import ErrorCode as E
from kproto.messages import API_VERSIONS, FETCH, LIST_OFFSETS, PRODUCE
from storage import Compression, Record, build_batch
from storage.legacy_records import encode_message, encode_wrapper, entries, inner_messages, read_message

T = TIMESTAMP


def message_set(magic: int, *values: bytes | None, codec: int = Compression.NONE, key: bytes | None = None) -> bytes:
    """A producer's message set: one message per value, or one wrapper of them all."""
    records = [(i, T + i, key, v) for i, v in enumerate(values)]
    if codec != Compression.NONE:
        return encode_wrapper(records, magic, codec)
    return b"".join(encode_message(0, magic, 0, timestamp, key, value) for _, timestamp, key, value in records)


def produce_old(client, version: int, topic: str, by_partition: dict[int, bytes], acks: int = -1) -> list[tuple]:
    """[(index, error_code, base_offset, log_append_time_ms)] of a Produce v0-2."""
    response = client.request(PRODUCE, version, produce_body(topic, by_partition, acks=acks))
    [answer] = response["responses"]
    return [(p["index"], p["error_code"], p["base_offset"], p["log_append_time_ms"])
            for p in answer["partition_responses"]]


def messages(records) -> list[tuple]:
    """(magic, offset, timestamp, key, value) of every message of a fetched message set, wrappers opened."""
    data = bytes(records or b"")
    out = []
    for start, end, magic in entries(data):
        m = read_message(data, start, end)
        out += [(magic, i.offset, i.timestamp, i.key, i.value) for i in (inner_messages(m) if m.codec else [m])]
    return out


def fetch_old(client, version: int, topic: str, offsets: dict[int, int], **limits) -> list[dict]:
    response = client.request(FETCH, version, fetch_body(topic, offsets, **limits))
    [answer] = response["responses"]
    assert answer["topic"] == topic
    return answer["partitions"]


def stored_v2(client, topic: str, partition: int = 0) -> list[tuple[int, bytes]]:
    [part] = fetch_old(client, 12, topic, {partition: 0})
    return values_of(part["records"])


# ---------------------------------------------------------------- Produce v0-2


@pytest.mark.parametrize("version, magic", [(0, 0), (1, 0), (2, 1), (2, 0)])
def test_produce_message_sets_one_offset_per_message(client, topic, version, magic):
    create_topic(client, topic, partitions=2)
    assert produce_old(client, version, topic, {0: message_set(magic, b"a", b"b"), 1: message_set(magic, b"x")}) == [
        (0, 0, 0, -1), (1, 0, 0, -1)]
    assert produce_old(client, version, topic, {0: message_set(magic, b"c")}) == [(0, 0, 2, -1)]
    assert stored_v2(client, topic) == [(0, b"a"), (1, b"b"), (2, b"c")]


@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4])
@pytest.mark.parametrize("magic", [0, 1])
def test_produce_compressed_wrappers(client, topic, magic, codec):
    create_topic(client, topic)
    sent = message_set(magic, b"one", b"two", b"three", codec=codec, key=b"k")
    assert produce_old(client, 2, topic, {0: sent}) == [(0, 0, 0, -1)]
    assert stored_v2(client, topic) == [(0, b"one"), (1, b"two"), (2, b"three")]
    [part] = fetch_old(client, 2 if magic else 0, topic, {0: 0})
    ts = [T, T + 1, T + 2] if magic else [-1] * 3
    assert messages(part["records"]) == [(magic, i, ts[i], b"k", v) for i, v in enumerate([b"one", b"two", b"three"])]


def test_a_bad_crc_is_corrupt_message_for_that_partition_only(client, topic):
    create_topic(client, topic, partitions=2)
    good = message_set(0, b"ok")
    bad = bytearray(message_set(0, b"tampered"))
    bad[-1] ^= 0x20
    assert produce_old(client, 0, topic, {0: bytes(bad), 1: good}) == [(0, E.CORRUPT_MESSAGE, -1, -1),
                                                                       (1, 0, 0, -1)]
    inner_bad = bytearray(message_set(1, b"inner", codec=Compression.GZIP))
    assert produce_old(client, 2, topic, {0: message_set(1, b"v") + bytes(inner_bad)}) == [
        (0, E.INVALID_RECORD, -1, -1)]   # a wrapper among plain messages: Kafka's "more than one batch"
    assert stored_v2(client, topic, 0) == []


@pytest.mark.parametrize("records, expected", [
    (message_set(1, b"v")[:-1], (0, 0, -1, -1)),                         # no whole message: nothing, no error
    (b"", (0, 0, -1, -1)),
    (message_set(0, b"a") + message_set(1, b"b"), (0, E.INVALID_RECORD, -1, -1)),   # magic changes
    (message_set(1, b"v", codec=Compression.GZIP)[:-4] + b"\0\0\0\0", (0, E.CORRUPT_MESSAGE, -1, -1)),
    (bytes(12) + b"\xff" * 8, (0, E.CORRUPT_MESSAGE, -1, -1)),           # a size below any message
], ids=["partial", "empty", "mixed magic", "wrapper crc", "garbage"])
def test_produce_refusals_in_produces_shape(client, topic, records, expected):
    create_topic(client, topic)
    assert produce_old(client, 1, topic, {0: records}) == [expected]
    assert stored_v2(client, topic) == []


def test_message_too_large_and_compacted_topic_keys(client, topic):
    create_topic(client, topic, configs={"max.message.bytes": "200", "cleanup.policy": "compact"})
    assert produce_old(client, 2, topic, {0: message_set(1, b"v" * 300, key=b"k")}) == [
        (0, E.MESSAGE_TOO_LARGE, -1, -1)]
    assert produce_old(client, 2, topic, {0: message_set(1, b"v")}) == [(0, E.INVALID_RECORD, -1, -1)]
    assert produce_old(client, 2, topic, {0: message_set(1, b"v", key=b"k")}) == [(0, 0, 0, -1)]


def test_log_append_time_topic(client, topic):
    create_topic(client, topic, configs={"message.timestamp.type": "LogAppendTime"})
    [(_, code, base_offset, append_time)] = produce_old(client, 2, topic, {0: message_set(1, b"a", b"b")})
    assert (code, base_offset) == (0, 0) and append_time > T
    [part] = fetch_old(client, 2, topic, {0: 0})
    assert messages(part["records"]) == [(1, 0, append_time, None, b"a"), (1, 1, append_time, None, b"b")]
    assert produce_old(client, 1, topic, {0: message_set(1, b"c")}) == [(0, 0, 2, -1)]   # v1 has no such field


def test_unknown_partition_and_acks(client, topic, served):
    create_topic(client, topic)
    assert produce_old(client, 0, topic, {3: message_set(0, b"v")}) == [(3, E.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)]
    assert produce_old(client, 0, topic, {0: message_set(0, b"v")}, acks=2) == [(0, E.INVALID_REQUIRED_ACKS, -1, -1)]
    transactional = build_batch([Record(timestamp=T, value=b"v")], is_transactional=True, producer_id=7,
                                producer_epoch=0, base_sequence=0)
    assert produce_old(client, 2, topic, {0: transactional}) == [(0, E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1)]
    with served.client() as quiet:   # acks=0: no answer; a failure closes the connection
        quiet.send(PRODUCE, 0, produce_body(topic, {0: message_set(0, b"fire")}, acks=0))
        quiet.send(PRODUCE, 0, produce_body(topic, {0: bytes(12) + b"\xff" * 8}, acks=0))
        assert quiet.is_closed()
    assert stored_v2(client, topic) == [(0, b"fire")]


# ---------------------------------------------------------------- Fetch v0-3


@pytest.fixture
def modern_topic(client, topic) -> str:
    """What a modern producer wrote: a batch of three, a gzip batch of two, and a zstd batch."""
    create_topic(client, topic, partitions=2)
    client.request(PRODUCE, 11, produce_body(topic, {0: batch(b"a", b"b", b"c")}))
    client.request(PRODUCE, 11, produce_body(topic, {0: batch(b"d", b"e", timestamp=T + 10,
                                                              compression=Compression.GZIP)}))
    client.request(PRODUCE, 11, produce_body(topic, {0: batch(b"z", timestamp=T + 20,
                                                              compression=Compression.ZSTD)}))
    return topic


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_fetch_down_converts_what_a_modern_producer_wrote(client, modern_topic, version):
    magic = 0 if version <= 1 else 1
    [part] = fetch_old(client, version, modern_topic, {0: 1})
    assert (part["error_code"], part["high_watermark"]) == (0, 6)
    ts = (lambda t: t) if magic else (lambda t: -1)
    # offset 0 left out of the uncompressed batch; the zstd batch stops the conversion
    assert messages(part["records"]) == [(magic, 1, ts(T + 1), None, b"b"), (magic, 2, ts(T + 2), None, b"c"),
                                         (magic, 3, ts(T + 10), None, b"d"), (magic, 4, ts(T + 11), None, b"e")]
    [zstd] = fetch_old(client, version, modern_topic, {0: 5})
    assert (zstd["error_code"], zstd["records"]) == (E.UNSUPPORTED_COMPRESSION_TYPE, b"")
    [end] = fetch_old(client, version, modern_topic, {0: 6})
    assert (end["error_code"], end["records"]) == (0, b"")


def test_down_conversion_disabled_for_a_topic(client, topic):
    create_topic(client, topic, configs={"message.downconversion.enable": "false"})
    client.request(PRODUCE, 0, produce_body(topic, {0: message_set(0, b"a")}))   # producing is not converting
    [part] = fetch_old(client, 3, topic, {0: 0})
    assert (part["error_code"], part["high_watermark"], part["records"]) == (E.UNSUPPORTED_VERSION, -1, b"")
    assert stored_v2(client, topic) == [(0, b"a")]


def test_fetch_old_versions_error_shapes(client, modern_topic):
    [out_of_range, unknown] = fetch_old(client, 1, modern_topic, {0: 99, 7: 0})
    assert (out_of_range["error_code"], unknown["error_code"]) == (E.OFFSET_OUT_OF_RANGE, E.UNKNOWN_TOPIC_OR_PARTITION)
    response = client.request(FETCH, 0, fetch_body("no-such-topic", {0: 0}))
    assert response["responses"][0]["partitions"][0]["error_code"] == E.UNKNOWN_TOPIC_OR_PARTITION


def test_fetch_v3_returns_the_first_message_whole_beyond_the_limits(client, topic):
    create_topic(client, topic, partitions=2)
    client.request(PRODUCE, 11, produce_body(topic, {0: batch(b"x" * 500, b"y"), 1: batch(b"z" * 500)}))
    [p0, p1] = fetch_old(client, 3, topic, {0: 0, 1: 0}, max_bytes=100, partition_max_bytes=100)
    # the first batch comes whole (KIP-74), converted within its bytes
    assert [m[4] for m in messages(p0["records"])] == [b"x" * 500, b"y"]
    assert p1["records"] == b""                                      # later partitions stop at the limit


def test_fetch_v0_to_v2_limits_are_hard(client, topic):
    create_topic(client, topic, partitions=2)
    client.request(PRODUCE, 11, produce_body(topic, {0: batch(b"x" * 500), 1: batch(b"s", b"t" * 400)}))
    [p0, p1] = fetch_old(client, 2, topic, {0: 0, 1: 0}, partition_max_bytes=100)
    # a message larger than the fetch size comes cut at it: an old consumer says "message too large"
    assert len(p0["records"]) == 100 and messages(p0["records"]) == []
    assert [m[4] for m in messages(p1["records"])] == [b"s"]          # what fits of a larger batch


def test_control_batches_are_left_out(client, topic, served):
    create_topic(client, topic)
    log = served.call(lambda: served.broker.storage.partition(topic, 0))
    marker = build_batch([Record(timestamp=T, key=b"\0\0\0\0", value=b"\0\0\0\0\0\0")], is_control=True,
                         is_transactional=True, producer_id=9, producer_epoch=0)
    served.call(log.append, batch(b"before"), T)
    served.call(lambda: log.append(marker, T, from_coordinator=True))   # as the transaction coordinator writes it
    served.call(log.append, batch(b"after"), T)
    [part] = fetch_old(client, 3, topic, {0: 0})
    assert [(m[1], m[4]) for m in messages(part["records"])] == [(0, b"before"), (2, b"after")]


# ---------------------------------------------------------------- ListOffsets v0


def offsets_v0(client, topic: str, targets: list[tuple[int, int, int]], replica_id: int = -1) -> list[tuple]:
    response = client.request(LIST_OFFSETS, 0, {"replica_id": replica_id, "topics": [{"name": topic, "partitions": [
        {"partition_index": p, "timestamp": t, "max_num_offsets": n} for p, t, n in targets]}]})
    [answer] = response["topics"]
    return [(p["partition_index"], p["error_code"], p["old_style_offsets"]) for p in answer["partitions"]]


def test_list_offsets_v0_by_segment(own_broker, topic):
    with own_broker() as served, served.client() as client:
        create_topic(client, topic, configs={"segment.bytes": "100"})   # a segment per batch
        for value in (b"a", b"b", b"c", b"d"):
            client.request(PRODUCE, 11, produce_body(topic, {0: batch(value)}))
        directory = Path(served.broker.config.data_dir) / f"{topic}-0"
        for base, seconds in zip(range(4), (1000, 2000, 3000, 4000)):
            os.utime(directory / f"{base:020d}.log", (seconds, seconds))
        at = lambda seconds: seconds * 1000   # noqa: E731
        assert offsets_v0(client, topic, [(0, -1, 10)]) == [(0, 0, [4, 3, 2, 1, 0])]
        assert offsets_v0(client, topic, [(0, -1, 2), (0, -2, 10)]) == [(0, 0, [4, 3]), (0, 0, [0])]
        assert offsets_v0(client, topic, [(0, at(2500), 10), (0, at(3000), 1), (0, at(500), 10)]) == [
            (0, 0, [1, 0]), (0, 0, [2]), (0, 0, [])]
        assert offsets_v0(client, topic, [(0, -1, 0), (0, -1, -1), (1, -1, 1)]) == [
            (0, 0, []), (0, E.UNKNOWN_SERVER_ERROR, []), (1, E.UNKNOWN_TOPIC_OR_PARTITION, [])]


def test_list_offsets_v0_empty_and_unknown(client, topic):
    create_topic(client, topic)
    assert offsets_v0(client, topic, [(0, -1, 5), (0, -2, 5)]) == [(0, 0, [0]), (0, 0, [0])]
    client.request(PRODUCE, 0, produce_body(topic, {0: message_set(0, b"a", b"b")}))
    assert offsets_v0(client, topic, [(0, -1, 5), (0, -2, 5)]) == [(0, 0, [2, 0]), (0, 0, [0])]
    assert offsets_v0(client, "no-such-topic", [(0, -1, 1)]) == [(0, E.UNKNOWN_TOPIC_OR_PARTITION, [])]


# ---------------------------------------------------------------- ApiVersions


def _kafka_39_ranges() -> dict[int, tuple[int, int]]:
    """apiKey -> validVersions of Kafka 3.9's request specs (shared/kafka-protocol/message)."""
    env = os.environ.get("KAFKA_PROTOCOL_SPECS")
    spec_dir = Path(env) if env else Path(__file__).resolve().parents[4] / "shared" / "kafka-protocol" / "message"
    if not spec_dir.is_dir():
        pytest.skip(f"Kafka message specs not found at {spec_dir}")
    ranges = {}
    for path in spec_dir.glob("*Request.json"):
        text = path.read_text()
        key, versions = re.search(r'"apiKey":\s*(\d+)', text), re.search(r'"validVersions":\s*"([^"]+)"', text)
        low, _, high = versions.group(1).partition("-")
        low, high = int(low), int(high or low)
        if re.search(r'"latestVersionUnstable":\s*true', text):
            high -= 1   # early access in 3.9, not served by it (share groups' v0, EndTxn v5)
        if low <= high:
            ranges[int(key.group(1))] = (low, high)
    return ranges


def test_every_served_api_serves_every_version_kafka_39_lists(client):
    kafka = _kafka_39_ranges()
    advertised = {k["api_key"]: (k["min_version"], k["max_version"])
                  for k in client.request(API_VERSIONS, 3, {"client_software_name": "t",
                                                            "client_software_version": "1"})["api_keys"]}
    assert advertised == {key: (s.low, s.high) for key, s in SERVED.items()}
    short = {key: (ours, kafka[key]) for key, ours in advertised.items()
             if key in kafka and (ours[0] > kafka[key][0] or ours[1] < kafka[key][1])}
    assert not short, f"served ranges below Kafka 3.9's: {short}"
