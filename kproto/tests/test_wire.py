"""The wire primitives, byte by byte, and a few properties of the constructs built from them.

Varints against hand-computed bytes (zig-zag, then 7 bits a byte, low bits first)
and their length caps; null against empty for plain, nullable and compact strings,
bytes and arrays; invalid UTF-8; records as a zero-copy view on parse and as
chunks (file ranges) on build; tagged fields omitted at their default and unknown
tags written back; and compiled code with no interpreted fallback anywhere.
"""

from __future__ import annotations

import struct

import pytest

from kproto import _wire
from kproto import constructs as c
from kproto._wire import Reader, Writer
from kproto.codec import (REQUEST_HEADER, RESPONSE_HEADER, decode_request, decode_response, encode_request,
                          encode_response)
from kproto.errors import DecodeError
from kproto.messages import FETCH, HEARTBEAT, PRODUCE
from kproto.schema import Records, Schema, field
from kproto.tests.strategies import declared_schemas


def _both(construct):
    """The interpreted construct and its compiled form, to parse and build with alike."""
    return [construct, construct.compile()]


def parse(construct, data: bytes):
    io = Reader(data)
    try:
        value = construct._parse(io, None, "")
    except DecodeError:
        raise
    except Exception as exc:  # what Schema.parse and the frame decoders turn into DecodeError
        raise DecodeError(repr(exc)) from None
    assert io.tell() == len(data), "bytes left over"
    return value


def build(construct, value) -> bytes:
    io = Writer()
    construct._build(value, io, None, "")
    return io.getvalue()


# -- varints ----------------------------------------------------------------------------

UVARINTS = [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (16383, "ff7f"), (16384, "808001"),
    ((1 << 31) - 1, "ffffffff07"), ((1 << 32) - 1, "ffffffff0f"),
]
VARINTS = [  # zig-zag: 0, -1, 1, -2, 2 ... become 0, 1, 2, 3, 4 ...
    (0, "00"), (-1, "01"), (1, "02"), (-2, "03"), (2, "04"), (63, "7e"), (-64, "7f"), (64, "8001"), (-65, "8101"),
    ((1 << 31) - 1, "feffffff0f"), (-(1 << 31), "ffffffff0f"),
]
VARLONGS = [
    (0, "00"), (-1, "01"), (1, "02"), ((1 << 31) - 1, "feffffff0f"), (-(1 << 31), "ffffffff0f"),
    (1 << 31, "8080808010"),
    ((1 << 63) - 1, "feffffffffffffffff01"), (-(1 << 63), "ffffffffffffffffff01"),
]


@pytest.mark.parametrize("construct_index", [0, 1], ids=["interpreted", "compiled"])
@pytest.mark.parametrize(("kind", "value", "hex_bytes"), [
    *(("uvarint", v, h) for v, h in UVARINTS),
    *(("varint", v, h) for v, h in VARINTS),
    *(("varlong", v, h) for v, h in VARLONGS),
])
def test_varint_bytes(kind, value, hex_bytes, construct_index):
    construct = _both({"uvarint": c.UVARINT, "varint": c.VARINT, "varlong": c.VARLONG}[kind])[construct_index]
    assert build(construct, value).hex() == hex_bytes
    assert parse(construct, bytes.fromhex(hex_bytes)) == value


def test_varint_functions():
    for value, hex_bytes in UVARINTS:
        assert _wire.encode_uvarint(value).hex() == hex_bytes
        assert _wire.read_uvarint(Reader(bytes.fromhex(hex_bytes))) == value
    for value, hex_bytes in VARINTS:
        assert _wire.read_varint(Reader(bytes.fromhex(hex_bytes))) == value
    for value, hex_bytes in VARLONGS:
        assert _wire.read_varlong(Reader(bytes.fromhex(hex_bytes))) == value
    with pytest.raises(ValueError):
        _wire.write_uvarint(Writer(), -1)


@pytest.mark.parametrize(("reader", "hex_bytes"), [
    (_wire.read_uvarint, "8080808000"),             # 5 bytes: the most a 32-bit varint may take
    (_wire.read_varint, "ffffffff0f"),
    (_wire.read_varlong, "ffffffffffffffffff01"),    # 10 bytes for 64 bits
])
def test_varint_at_its_length_cap(reader, hex_bytes):
    io = Reader(bytes.fromhex(hex_bytes))
    reader(io)
    assert io.tell() == len(hex_bytes) // 2


@pytest.mark.parametrize(("reader", "hex_bytes"), [
    (_wire.read_uvarint, "808080808000"),           # 6 bytes
    (_wire.read_varint, "808080808000"),
    (_wire.read_varint, "ffffffff1f"),              # 5 bytes but 33 bits
    (_wire.read_varlong, "8080808080808080808000"),  # 11 bytes
    (_wire.read_uvarint, ""),                       # cut short
    (_wire.read_uvarint, "80"),
    (_wire.read_varlong, "ffffffff"),
])
def test_bad_varints(reader, hex_bytes):
    with pytest.raises(DecodeError):
        reader(Reader(bytes.fromhex(hex_bytes)))


@pytest.mark.parametrize("construct_index", [0, 1], ids=["interpreted", "compiled"])
@pytest.mark.parametrize(("construct", "value"), [
    (c.VARINT, 1 << 31), (c.VARINT, -(1 << 31) - 1), (c.VARLONG, 1 << 63), (c.VARLONG, -(1 << 63) - 1),
    (c.INT8, 128), (c.INT16, -(1 << 15) - 1), (c.INT32, 1 << 31), (c.INT64, 1 << 63), (c.UINT16, -1),
    (c.UVARINT, -1),
])
def test_out_of_range_integers_are_refused_on_build(construct, value, construct_index):
    # never written as some other number (a masked 2**31 would read back as -1)
    with pytest.raises((ValueError, struct.error)):
        build(_both(construct)[construct_index], value)


def test_six_byte_varint_in_a_message_is_a_decode_error():
    # Heartbeat v4: group_id's compact length as a 6-byte varint
    with pytest.raises(DecodeError):
        HEARTBEAT.request.parse(bytes.fromhex("808080808001") + b"g", 4)


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


@pytest.mark.parametrize("construct_index", [0, 1], ids=["interpreted", "compiled"])
@pytest.mark.parametrize(("construct", "value", "hex_bytes"), NULL_AND_EMPTY,
                         ids=[f"{c!r}-{v!r}" for c, v, _ in NULL_AND_EMPTY])
def test_null_and_empty(construct, value, hex_bytes, construct_index):
    construct = _both(construct)[construct_index]
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


@pytest.mark.parametrize("construct_index", [0, 1], ids=["interpreted", "compiled"])
@pytest.mark.parametrize(("construct", "hex_bytes"), NULL_IN_NON_NULLABLE,
                         ids=[repr(c) for c, _ in NULL_IN_NON_NULLABLE])
def test_null_in_non_nullable_is_a_decode_error(construct, hex_bytes, construct_index):
    with pytest.raises(DecodeError, match="null"):
        parse(_both(construct)[construct_index], bytes.fromhex(hex_bytes))


@pytest.mark.parametrize("construct_index", [0, 1], ids=["interpreted", "compiled"])
def test_building_null_into_a_non_nullable_array_is_refused(construct_index):
    construct = _both(c.KArray(c.INT32, compact=True, nullable=False))[construct_index]
    with pytest.raises(ValueError):
        build(construct, None)


def test_null_in_a_non_nullable_message_field():
    # Heartbeat v3: group_id is never nullable, group_instance_id is from v3
    body = bytes.fromhex("ffff 00000001 0001 6d ffff".replace(" ", ""))
    for compiled in (True, False):
        with pytest.raises(DecodeError):
            HEARTBEAT.request.parse(body, 3, compiled=compiled)
    fixed = bytes.fromhex("0001 67 00000001 0001 6d ffff".replace(" ", ""))
    assert HEARTBEAT.request.parse(fixed, 3)["group_instance_id"] is None


@pytest.mark.parametrize("construct_index", [0, 1], ids=["interpreted", "compiled"])
@pytest.mark.parametrize(("construct", "hex_bytes"), [
    (c.STRING, "0002c328"),                 # a lead byte without its continuation
    (c.NULLABLE_STRING, "0001ff"),
    (c.COMPACT_STRING, "03eda080"),         # an encoded surrogate
    (c.COMPACT_NULLABLE_STRING, "02c0"),
])
def test_invalid_utf8_is_a_decode_error(construct, hex_bytes, construct_index):
    with pytest.raises(DecodeError, match="UTF-8"):
        parse(_both(construct)[construct_index], bytes.fromhex(hex_bytes))


def test_invalid_utf8_in_a_frame():
    frame = encode_request(HEARTBEAT, 4, 1, {"group_id": "gg", "generation_id": 1, "member_id": "m"})
    body = bytearray(frame[4:])
    position = body.index(b"gg")
    body[position:position + 2] = b"\xc3\x28"
    with pytest.raises(DecodeError):
        decode_request(bytes(body), HEARTBEAT, 4)


@pytest.mark.parametrize("construct_index", [0, 1], ids=["interpreted", "compiled"])
def test_array_longer_than_the_frame(construct_index):
    construct = _both(c.KArray(c.INT8, compact=False, nullable=False))[construct_index]
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


@pytest.mark.parametrize("compiled", [True, False])
def test_tagged_fields_at_default_are_omitted(compiled):
    body = FETCH.response.build(_fetch_v12_response(_fetch_v12_partition()), 12, compiled=compiled)
    partition = _partition_bytes(body)
    # ... preferred_read_replica -1, records null (compact: 0), then a tag section with no fields
    assert partition.endswith(bytes.fromhex("ffffffff" "00" "00"))
    explicit_defaults = _fetch_v12_partition(diverging_epoch={"epoch": -1, "end_offset": -1},
                                             current_leader={"leader_id": -1, "leader_epoch": -1})
    assert FETCH.response.build(_fetch_v12_response(explicit_defaults), 12, compiled=compiled) == body


@pytest.mark.parametrize("compiled", [True, False])
def test_tagged_field_written_when_not_default(compiled):
    value = _fetch_v12_response(_fetch_v12_partition(diverging_epoch={"epoch": 3, "end_offset": 9}))
    body = FETCH.response.build(value, 12, compiled=compiled)
    tags = _partition_bytes(body)[-16:]
    # one field: tag 0, 13 bytes: epoch int32, end_offset int64, the struct's own empty tag section
    assert tags == bytes.fromhex("01" "00" "0d" "00000003" "0000000000000009" "00")
    parsed = FETCH.response.parse(body, 12, compiled=compiled)["responses"][0]["partitions"][0]
    assert parsed["diverging_epoch"] == {"epoch": 3, "end_offset": 9}
    assert parsed["current_leader"] == {"leader_id": -1, "leader_epoch": -1}


@pytest.mark.parametrize("compiled", [True, False])
def test_unknown_tags_survive_parse_and_build(compiled):
    partition = _fetch_v12_partition(current_leader={"leader_id": 2, "leader_epoch": 5})
    partition["_unknown_tagged_fields"] = {100: b"\x01\x02", 3: b""}
    value = _fetch_v12_response(partition)
    value["_unknown_tagged_fields"] = {1 << 20: b"top"}
    body = FETCH.response.build(value, 12, compiled=compiled)
    assert body.endswith(bytes.fromhex(
        "03"                         # the partition's tags, in tag order:
        "01" "09" "00000002" "00000005" "00"  # known 1 (current_leader), 9 bytes
        "03" "00"                    # unknown 3, empty
        "64" "02" "0102"             # unknown 100
        "00"                         # the topic's tags: none
        "01" "808040" "03" "746f70"  # the response's: unknown 2**20 (a 3-byte varint), "top"
    ))
    parsed = FETCH.response.parse(body, 12, compiled=compiled)
    assert parsed["_unknown_tagged_fields"] == {1 << 20: b"top"}
    assert parsed["responses"][0]["partitions"][0]["_unknown_tagged_fields"] == {3: b"", 100: b"\x01\x02"}
    assert FETCH.response.build(parsed, 12, compiled=not compiled) == body


def test_unknown_tags_in_headers():
    header = REQUEST_HEADER.parse(bytes.fromhex("0012 0003 00000001 ffff 01 05 01 aa".replace(" ", "")), 2)
    assert header["_unknown_tagged_fields"] == {5: b"\xaa"}
    assert RESPONSE_HEADER.parse(bytes.fromhex("00000001 00".replace(" ", "")), 1) == {"correlation_id": 1}


@pytest.mark.parametrize("compiled", [True, False])
def test_tag_section_cut_short(compiled):
    body = FETCH.response.build(_fetch_v12_response(_fetch_v12_partition()), 12)
    for cut in (1, 2):
        with pytest.raises(DecodeError):
            FETCH.response.parse(body[:-cut], 12, compiled=compiled)
    # a tag claiming more bytes than follow
    with pytest.raises(DecodeError):
        FETCH.response.parse(body[:-1] + bytes.fromhex("01 07 05 aa".replace(" ", "")), 12, compiled=compiled)


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


def test_an_interpreted_fallback_would_be_seen():
    from construct import Int32ub, Struct as ConstructStruct
    module = ConstructStruct("x" / Int32ub).compile().module
    assert not module.linkedparsers  # stock constructs that compile leave nothing linked...
    module = c.KStruct([("x", c.INT32, 0), ("y", _Interpreted(), None)]).compile().module
    assert module.linkedparsers and module.linkedbuilders  # ... one that does not is linked in


class _Interpreted(c.Construct):
    """A construct without _emitparse/_emitbuild: compile() can only link it in."""

    def _parse(self, stream, context, path):
        return None

    def _build(self, obj, stream, context, path):
        return obj

    def _emitbuild(self, code):
        raise NotImplementedError


def test_long_compact_arrays_and_strings_take_the_multi_byte_varint_path():
    """Counts and lengths of 127+ need a 2-byte varint: the compiled slow path must work."""
    from kproto.messages import METADATA

    body = {"topics": [{"topic_id": bytes(16), "name": f"t{i}"} for i in range(300)],
            "allow_auto_topic_creation": True, "include_topic_authorized_operations": False}
    long_name = "x" * 200
    body["topics"][7]["name"] = long_name
    data = METADATA.request.build(body, 12)
    assert METADATA.request.parse(data, 12)["topics"][7]["name"] == long_name
    assert len(METADATA.request.parse(data, 12)["topics"]) == 300
    assert METADATA.request.parse(data, 12, compiled=False) == METADATA.request.parse(data, 12)
