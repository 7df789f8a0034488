"""The wire primitives, byte by byte, and a few properties of the constructs built from them.

Unsigned varints (compact lengths, counts, tags) against hand-computed bytes and
their length cap; booleans, 0 or 1 and nothing else; null against empty for plain,
nullable and compact strings, bytes and arrays; invalid UTF-8; records as a
zero-copy view on parse and as chunks (file ranges) on build; tagged fields omitted
at their default, read within their stated size, and unknown tags written back;
and generated code with no fallback to construct's interpreted code anywhere.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from construct import Int32ub

from kproto import _wire
from kproto import constructs as c
from kproto._wire import Reader, Writer
from kproto.codec import (REQUEST_HEADER, RESPONSE_HEADER, decode_request, decode_response, encode_request,
                          encode_response)
from kproto.errors import DecodeError
from kproto.messages import FETCH, HEARTBEAT, METADATA, PRODUCE
from kproto.schema import Records, Schema, field
from kproto.tests import reference
from kproto.tests.strategies import declared_schemas


def _alone(node):
    """The generated (parse, build) functions of a struct of one field of ``node``'s type."""
    struct = c.KStruct([("x", node, None)])
    module = struct.compile().module
    return getattr(module, struct.parser_name), getattr(module, struct.builder_name)


def parse(node, data: bytes):
    io = Reader(data)
    try:
        value = _alone(node)[0](io)["x"]
    except DecodeError:
        raise
    except Exception as exc:  # what Schema.parse and the frame decoders turn into DecodeError
        raise DecodeError(repr(exc)) from None
    assert io.tell() == len(data), "bytes left over"
    return value


def build(node, value) -> bytes:
    io = Writer()
    _alone(node)[1]({"x": value}, io)
    return io.getvalue()


# -- unsigned varints: compact lengths and counts, tags ----------------------------------

UVARINTS = [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (16383, "ff7f"), (16384, "808001"),
    ((1 << 31) - 1, "ffffffff07"), ((1 << 32) - 1, "ffffffff0f"),
]


@pytest.mark.parametrize(("value", "hex_bytes"), UVARINTS)
def test_uvarint_bytes(value, hex_bytes):
    """7 bits a byte, low bits first, the top bit set on every byte but the last."""
    assert _wire.encode_uvarint(value).hex() == hex_bytes
    data = b"\xee" + bytes.fromhex(hex_bytes) + b"\xee"
    assert _wire.read_uvarint_at(data, 1) == (value, 1 + len(hex_bytes) // 2)


def test_negative_uvarint_is_refused_on_build():
    with pytest.raises(ValueError):
        _wire.encode_uvarint(-1)


@pytest.mark.parametrize("hex_bytes", [
    "808080808000",     # 6 bytes: a 32-bit varint takes at most 5
    "",                 # cut short
    "80",
    "ffffffff",
])
def test_bad_uvarints(hex_bytes):
    with pytest.raises(DecodeError):
        _wire.read_uvarint_at(bytes.fromhex(hex_bytes), 0)


@pytest.mark.parametrize(("construct", "value"), [
    (c.INT8, 128), (c.INT8, -129), (c.INT16, -(1 << 15) - 1), (c.INT32, 1 << 31), (c.INT64, 1 << 63),
])
def test_out_of_range_integers_are_refused_on_build(construct, value):
    # never written as some other number (a masked 2**31 would read back as -1)
    with pytest.raises((ValueError, struct.error)):
        build(construct, value)


def test_six_byte_varint_in_a_message_is_a_decode_error():
    # Heartbeat v4: group_id's compact length as a 6-byte varint
    with pytest.raises(DecodeError):
        HEARTBEAT.request.parse(bytes.fromhex("808080808001") + b"g", 4)


# -- booleans: written 0 or 1, and only 0 or 1 read ------------------------------------------

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("byte", [2, 0x80, 0xff])
@pytest.mark.parametrize("which", [-3, -2], ids=["allow_auto_topic_creation", "include_topic_authorized_operations"])
def test_bool_byte_other_than_0_and_1_is_a_decode_error(byte, which):
    """A bool byte of 2 (or any but 0 and 1) is a malformed frame, not "true"; here in
    a run of fixed-width fields, parsed with one unpack (the single bool is below).
    Kafka itself reads ``readByte() != 0``; no client writes anything but 0 or 1."""
    frame = bytearray.fromhex((GOLDEN / "kafka-python-Metadata-v12.hex").read_text().strip())
    # ... topics (compact, empty), allow_auto_topic_creation, include_topic_authorized_operations, tags
    assert frame[-4:] == bytes.fromhex("01" "01" "00" "00")
    assert decode_request(bytes(frame), METADATA, 12, strict=True)[1]["allow_auto_topic_creation"] is True
    frame[which] = byte
    with pytest.raises(DecodeError, match=f"bool byte {byte}: not 0 or 1"):
        decode_request(bytes(frame), METADATA, 12)


def test_bool_alone_and_in_a_run_of_fixed_fields():
    """A bool between variable-length fields (Metadata v12 response's is_internal) reads
    as one in a run of fixed-width fields does: 0 false, 1 true, 2 a DecodeError."""
    topic = {"error_code": 0, "name": "t", "topic_id": bytes(16), "is_internal": True, "partitions": [],
             "topic_authorized_operations": 0}
    body = bytearray(METADATA.response.build({"topics": [topic]}, 12))
    position = body.index(bytes(16) + b"\x01") + 16   # the byte after the topic id
    for byte, value in ((0, False), (1, True)):
        body[position] = byte
        assert METADATA.response.parse(bytes(body), 12)["topics"][0]["is_internal"] is value
    body[position] = 2
    with pytest.raises(DecodeError, match="bool byte 2"):
        METADATA.response.parse(bytes(body), 12)
    assert parse(c.BOOL, b"\x01") is True and parse(c.BOOL, b"\x00") is False
    with pytest.raises(DecodeError, match="bool byte 2"):
        parse(c.BOOL, b"\x02")
    assert build(c.BOOL, 5) == b"\x01" and build(c.BOOL, []) == b"\x00"   # written from truth, 0 or 1


# -- strings, bytes, arrays: null against empty ------------------------------------------------

NULL_AND_EMPTY = [
    # construct, value, bytes
    (c.STRING, "", "0000"),
    (c.STRING, "ab", "00026162"),
    (c.NULLABLE_STRING, None, "ffff"),
    (c.NULLABLE_STRING, "", "0000"),
    (c.COMPACT_STRING, "", "01"),
    (c.COMPACT_STRING, "ab", "036162"),
    (c.COMPACT_NULLABLE_STRING, None, "00"),
    (c.COMPACT_NULLABLE_STRING, "", "01"),
    (c.STRING, "é", "0002c3a9"),                     # the length counts UTF-8 bytes
    (c.BYTES, b"", "00000000"),
    (c.NULLABLE_BYTES, None, "ffffffff"),
    (c.NULLABLE_BYTES, b"", "00000000"),
    (c.COMPACT_BYTES, b"", "01"),
    (c.COMPACT_BYTES, b"\x00", "0200"),
    (c.COMPACT_NULLABLE_BYTES, None, "00"),
    (c.COMPACT_NULLABLE_BYTES, b"", "01"),
    (c.RECORDS, None, "ffffffff"),
    (c.RECORDS, b"", "00000000"),
    (c.COMPACT_RECORDS, None, "00"),
    (c.COMPACT_RECORDS, b"", "01"),
    (c.KArray(c.INT32, compact=False, nullable=False), [], "00000000"),
    (c.KArray(c.INT32, compact=False, nullable=True), None, "ffffffff"),
    (c.KArray(c.INT32, compact=False, nullable=True), [], "00000000"),
    (c.KArray(c.INT32, compact=False, nullable=False), [7], "0000000100000007"),
    (c.KArray(c.INT32, compact=True, nullable=False), [], "01"),
    (c.KArray(c.INT32, compact=True, nullable=True), None, "00"),
    (c.KArray(c.INT32, compact=True, nullable=True), [], "01"),
    (c.KArray(c.COMPACT_STRING, compact=True, nullable=False), ["a"], "020261"),
    # a nullable struct (inside a struct, as messages hold one): an int8 marker, -1 null or 1 and the struct
    (c.KStruct([("s", c.KNullableStruct(c.KStruct([("x", c.INT32, 0)])), None)]), {"s": None}, "ff"),
    (c.KStruct([("s", c.KNullableStruct(c.KStruct([("x", c.INT32, 0)])), None)]), {"s": {"x": 7}}, "0100000007"),
    (c.UUID, bytes(range(16)), "000102030405060708090a0b0c0d0e0f"),
    (c.BOOL, True, "01"),
    (c.BOOL, False, "00"),
]


@pytest.mark.parametrize(("construct", "value", "hex_bytes"), NULL_AND_EMPTY,
                         ids=[f"{c!r}-{v!r}" for c, v, _ in NULL_AND_EMPTY])
def test_null_and_empty(construct, value, hex_bytes):
    assert build(construct, value).hex() == hex_bytes
    parsed = parse(construct, bytes.fromhex(hex_bytes))
    assert parsed == value and (parsed is None) == (value is None)


NULL_IN_NON_NULLABLE = [
    (c.STRING, "ffff"),
    (c.COMPACT_STRING, "00"),
    (c.BYTES, "ffffffff"),
    (c.COMPACT_BYTES, "00"),
    (c.KArray(c.INT32, compact=False, nullable=False), "ffffffff"),
    (c.KArray(c.INT32, compact=True, nullable=False), "00"),
]


@pytest.mark.parametrize(("construct", "hex_bytes"), NULL_IN_NON_NULLABLE,
                         ids=[repr(c) for c, _ in NULL_IN_NON_NULLABLE])
def test_null_in_non_nullable_is_a_decode_error(construct, hex_bytes):
    with pytest.raises(DecodeError, match="null"):
        parse(construct, bytes.fromhex(hex_bytes))


def test_building_null_into_a_non_nullable_array_is_refused():
    construct = c.KArray(c.INT32, compact=True, nullable=False)
    with pytest.raises(ValueError):
        build(construct, None)


def test_null_in_a_non_nullable_message_field():
    # Heartbeat v3: group_id is never nullable, group_instance_id is from v3
    body = bytes.fromhex("ffff 00000001 0001 6d ffff".replace(" ", ""))
    with pytest.raises(DecodeError):
        HEARTBEAT.request.parse(body, 3)
    fixed = bytes.fromhex("0001 67 00000001 0001 6d ffff".replace(" ", ""))
    assert HEARTBEAT.request.parse(fixed, 3)["group_instance_id"] is None


@pytest.mark.parametrize(("construct", "hex_bytes"), [
    (c.STRING, "0002c328"),                 # a lead byte without its continuation
    (c.NULLABLE_STRING, "0001ff"),
    (c.COMPACT_STRING, "03eda080"),         # an encoded surrogate
    (c.COMPACT_NULLABLE_STRING, "02c0"),
])
def test_invalid_utf8_is_a_decode_error(construct, hex_bytes):
    with pytest.raises(DecodeError, match="(?i)utf-8"):
        parse(construct, bytes.fromhex(hex_bytes))


def test_invalid_utf8_in_a_frame():
    frame = encode_request(HEARTBEAT, 4, 1, {"group_id": "gg", "generation_id": 1, "member_id": "m"})
    body = bytearray(frame[4:])
    position = body.index(b"gg")
    body[position:position + 2] = b"\xc3\x28"
    with pytest.raises(DecodeError):
        decode_request(bytes(body), HEARTBEAT, 4)


def test_array_longer_than_the_frame():
    construct = c.KArray(c.INT8, compact=False, nullable=False)
    with pytest.raises(DecodeError):
        parse(construct, bytes.fromhex("7fffffff00"))  # 2**31-1 elements claimed, one byte there


# -- records ------------------------------------------------------------------------------------

class FileRange:
    """A stand-in for a chunk the transport sends itself (e.g. with sendfile): it has only a size."""

    def __init__(self, data: bytes):
        self.data = data
        self.size = len(data)

    def __repr__(self) -> str:
        return f"FileRange({self.size})"


def _produce_body(records) -> dict:
    return {"transactional_id": None, "acks": -1, "timeout_ms": 1000,
            "topic_data": [{"name": "t", "partition_data": [{"index": 0, "records": records}]}]}


@pytest.mark.parametrize("version", [3, 9])
def test_records_parse_to_a_view_into_the_frame(version):
    batch = bytes(range(61))
    frame = encode_request(PRODUCE, version, 1, _produce_body(batch))[4:]
    _, body = decode_request(frame, PRODUCE, version)
    records = body["topic_data"][0]["partition_data"][0]["records"]
    assert isinstance(records, memoryview)
    assert records.obj is frame  # no copy
    assert records == batch


def test_records_parse_to_a_view_in_responses_too():
    frame = b"".join(encode_response(FETCH, 12, 1, _fetch_body([b"abc"])))[4:]
    _, body = decode_response(frame, FETCH, 12)
    records = body["responses"][0]["partitions"][0]["records"]
    assert isinstance(records, memoryview) and records.obj is frame and records == b"abc"


@pytest.mark.parametrize("compact", [False, True])
def test_records_built_from_chunks(compact):
    chunk = FileRange(b"0123456789")
    io = Writer()
    io.write(b"head")
    (_wire.write_compact_records if compact else _wire.write_records)(io, [b"ab", chunk, b"cd", bytearray(b"e")])
    prefix = _wire.encode_uvarint(15 + 1) if compact else (15).to_bytes(4, "big")
    assert io.getvalue() == b"head" + prefix + b"abcde"
    assert io.slices == [(4 + len(prefix) + 2, chunk)]  # where the chunk's bytes belong
    assert _wire.records_size([b"ab", chunk, memoryview(b"cd")]) == 14


def _fetch_body(records_per_partition: list) -> dict:
    return {"throttle_time_ms": 0, "error_code": 0, "session_id": 0, "responses": [
        {"topic": "t", "topic_id": bytes(16), "partitions": [
            {"partition_index": i, "error_code": 0, "high_watermark": 10, "records": records}
            for i, records in enumerate(records_per_partition)]}]}


def _assemble(parts: list) -> bytes:
    return b"".join(p if isinstance(p, bytes) else p.data for p in parts)


@pytest.mark.parametrize("version", [4, 12])
def test_encode_response_splits_around_chunks(version):
    first, second, third = FileRange(b"A" * 100), FileRange(b"B" * 7), FileRange(b"C" * 3)
    chunked = [[b"x", first, b"yz"], [second, third], [b"plain"], None, [third]]
    plain = [b"x" + b"A" * 100 + b"yz", b"B" * 7 + b"C" * 3, b"plain", None, b"C" * 3]
    parts = encode_response(FETCH, version, 5, _fetch_body(chunked))
    expected = b"".join(encode_response(FETCH, version, 5, _fetch_body(plain)))

    kinds = [bytes, FileRange, bytes, FileRange, FileRange, bytes, FileRange]
    if version >= 12:
        kinds.append(bytes)  # the partition's, topic's and response's tag sections follow the last chunk
    assert [type(p) for p in parts] == kinds
    assert [p for p in parts if isinstance(p, FileRange)] == [first, second, third, third]
    assert _assemble(parts) == expected  # each chunk sits exactly where its bytes belong
    total = sum(len(p) if isinstance(p, bytes) else p.size for p in parts)
    assert int.from_bytes(parts[0][:4], "big") == total - 4
    assert decode_response(expected[4:], FETCH, version)[1]["responses"][0]["partitions"][1]["records"] == \
        b"B" * 7 + b"C" * 3


def test_chunk_as_the_last_bytes():
    schema = Schema("Chunked", "0", "none", [field("records", Records, nullable="0+")])
    io = Writer()
    chunk = FileRange(b"zz")
    schema.write({"records": [chunk]}, io, 0)
    assert io.getvalue() == b"\x00\x00\x00\x02" and io.slices == [(4, chunk)]


# -- tagged fields ---------------------------------------------------------------------------------

def _fetch_v12_partition(**extra) -> dict:
    return {"partition_index": 0, "error_code": 0, "high_watermark": 1, "last_stable_offset": 1,
            "log_start_offset": 0, "aborted_transactions": None, "preferred_read_replica": -1,
            "records": None, **extra}


def _partition_bytes(body: bytes) -> bytes:
    """The bytes of the one partition in a Fetch v12 response built by _fetch_v12_response."""
    start = 4 + 2 + 4 + 1 + 2 + 1  # throttle, error, session, responses count, topic "t", partitions count
    return body[start:-2]          # drop the topic's and the response's tag sections


def _fetch_v12_response(partition: dict) -> dict:
    return {"responses": [{"topic": "t", "partitions": [partition]}]}


def test_tagged_fields_at_default_are_omitted():
    body = FETCH.response.build(_fetch_v12_response(_fetch_v12_partition()), 12)
    partition = _partition_bytes(body)
    # ... preferred_read_replica -1, records null (compact: 0), then a tag section with no fields
    assert partition.endswith(bytes.fromhex("ffffffff" "00" "00"))
    explicit_defaults = _fetch_v12_partition(diverging_epoch={"epoch": -1, "end_offset": -1},
                                             current_leader={"leader_id": -1, "leader_epoch": -1})
    assert FETCH.response.build(_fetch_v12_response(explicit_defaults), 12) == body


def test_tagged_field_written_when_not_default():
    value = _fetch_v12_response(_fetch_v12_partition(diverging_epoch={"epoch": 3, "end_offset": 9}))
    body = FETCH.response.build(value, 12)
    tags = _partition_bytes(body)[-16:]
    # one field: tag 0, 13 bytes: epoch int32, end_offset int64, the struct's own empty tag section
    assert tags == bytes.fromhex("01" "00" "0d" "00000003" "0000000000000009" "00")
    parsed = FETCH.response.parse(body, 12)["responses"][0]["partitions"][0]
    assert parsed["diverging_epoch"] == {"epoch": 3, "end_offset": 9}
    assert parsed["current_leader"] == {"leader_id": -1, "leader_epoch": -1}


def test_unknown_tags_survive_parse_and_build():
    partition = _fetch_v12_partition(current_leader={"leader_id": 2, "leader_epoch": 5})
    partition["_unknown_tagged_fields"] = {100: b"\x01\x02", 3: b""}
    value = _fetch_v12_response(partition)
    value["_unknown_tagged_fields"] = {1 << 20: b"top"}
    body = FETCH.response.build(value, 12)
    assert body.endswith(bytes.fromhex(
        "03"                         # the partition's tags, in tag order:
        "01" "09" "00000002" "00000005" "00"  # known 1 (current_leader), 9 bytes
        "03" "00"                    # unknown 3, empty
        "64" "02" "0102"             # unknown 100
        "00"                         # the topic's tags: none
        "01" "808040" "03" "746f70"  # the response's: unknown 2**20 (a 3-byte varint), "top"
    ))
    parsed = FETCH.response.parse(body, 12)
    assert parsed["_unknown_tagged_fields"] == {1 << 20: b"top"}
    assert parsed["responses"][0]["partitions"][0]["_unknown_tagged_fields"] == {3: b"", 100: b"\x01\x02"}
    assert FETCH.response.build(parsed, 12) == body


def test_unknown_tags_in_headers():
    header = REQUEST_HEADER.parse(bytes.fromhex("0012 0003 00000001 ffff 01 05 01 aa".replace(" ", "")), 2)
    assert header["_unknown_tagged_fields"] == {5: b"\xaa"}
    assert RESPONSE_HEADER.parse(bytes.fromhex("00000001 00".replace(" ", "")), 1) == {"correlation_id": 1}


def test_tag_section_cut_short():
    body = FETCH.response.build(_fetch_v12_response(_fetch_v12_partition()), 12)
    for cut in (1, 2):
        with pytest.raises(DecodeError):
            FETCH.response.parse(body[:-cut], 12)
    # a tag claiming more bytes than follow
    with pytest.raises(DecodeError):
        FETCH.response.parse(body[:-1] + bytes.fromhex("01 07 05 aa".replace(" ", "")), 12)


def test_tagged_field_longer_than_its_stated_size():
    value = _fetch_v12_response(_fetch_v12_partition(diverging_epoch={"epoch": 3, "end_offset": 9}))
    body = bytearray(FETCH.response.build(value, 12))
    position = body.index(bytes.fromhex("01" "00" "0d" "00000003"))
    body[position + 2] = 5   # the 13 bytes of diverging_epoch said to be 5, the tag section's end still in the frame
    with pytest.raises(DecodeError, match="longer than its size"):
        FETCH.response.parse(bytes(body), 12)


# -- compiled code has no interpreted fallbacks ---------------------------------------------------------

def test_compiled_code_has_no_interpreted_fallbacks():
    schemas = declared_schemas()
    assert {"RequestHeader", "ResponseHeader", "FetchRequest", "FetchResponse"} <= {s.name for s in schemas}
    fallbacks = []
    for schema in schemas:
        for version in range(schema.versions.low, schema.versions.high + 1):
            module = schema.compiled(version).module
            if module.linkedparsers or module.linkedbuilders:
                fallbacks.append(f"{schema.name} v{version}: {list(module.linkedinstances.values())}")
    assert not fallbacks, "\n".join(fallbacks)


def test_a_node_that_is_not_a_kafka_type_is_refused():
    with pytest.raises(TypeError, match="not one of Kafka's types"):
        c.KStruct([("x", c.INT32, 0), ("y", Int32ub, 0)]).compile()


def test_long_compact_arrays_and_strings_take_the_multi_byte_varint_path():
    """Counts and lengths of 127+ need a 2-byte varint: the multi-byte path must work."""
    body = {"topics": [{"topic_id": bytes(16), "name": f"t{i}"} for i in range(300)],
            "allow_auto_topic_creation": True, "include_topic_authorized_operations": False}
    long_name = "x" * 200
    body["topics"][7]["name"] = long_name
    data = METADATA.request.build(body, 12)
    assert METADATA.request.parse(data, 12)["topics"][7]["name"] == long_name
    assert len(METADATA.request.parse(data, 12)["topics"]) == 300
    assert reference.parse(METADATA.request.struct(12), data) == METADATA.request.parse(data, 12)
