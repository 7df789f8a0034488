"""RecordBatch v2: header, building, decoding, compression codecs."""

from __future__ import annotations

import struct

import crc32c
import pytest

from storage import Compression, CorruptRecordError, Record, TimestampType, build_batch, decode_records, read_header
from storage.codecs import XERIAL_MAGIC, compress, decompress
from storage import records
from storage.records import (
    FRONT,
    HEADER,
    HEADER_BYTES,
    HEADER_PREFIX,
    BatchHeader,
    last_sequence_of,
    _read_varint,
    _write_varint,
    batch_crc,
    increment_sequence,
    iter_batches,
    set_log_append_time,
)

CODECS = list(Compression)


def test_header_is_61_bytes_with_fields_at_kafka_positions():
    batch = build_batch(
        [Record(timestamp=100, value=b"a"), Record(timestamp=90, value=b"b"), Record(timestamp=120, value=b"c")],
        base_offset=7,
        producer_id=42,
        producer_epoch=3,
        base_sequence=11,
        is_transactional=True,
    )
    assert HEADER_BYTES == 61
    header = read_header(batch)
    assert header.base_offset == 7
    assert header.size == len(batch)
    assert header.batch_length == len(batch) - 12
    assert header.partition_leader_epoch == -1
    assert header.magic == 2
    assert header.attributes == 0x10
    assert header.last_offset_delta == 2
    assert header.last_offset == 9
    assert header.base_timestamp == 100
    assert header.max_timestamp == 120
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (42, 3, 11)
    assert header.last_sequence == 13
    assert header.records_count == 3
    assert header.crc == crc32c.crc32c(batch[21:]) == batch_crc(batch)
    assert struct.unpack_from(">q", batch, 35)[0] == 120


def test_field_indexes_and_positions_follow_the_header_layout():
    codes = HEADER.format.lstrip(">")
    assert len(codes) == len(BatchHeader._fields)
    position = 0
    for index, (name, code) in enumerate(zip(BatchHeader._fields, codes)):
        assert (getattr(records, name.upper()), getattr(records, name.upper() + "_POS")) == (index, position), name
        position += struct.calcsize(">" + code)
    assert records.RECORDS_POS == position == HEADER_BYTES
    assert HEADER.format.startswith(HEADER_PREFIX.format) and HEADER.format.startswith(FRONT.format)
    assert HEADER_PREFIX.size == records.BASE_TIMESTAMP_POS and FRONT.size == records.MAGIC_POS


@pytest.mark.parametrize(
    "base_sequence,count,last_sequence", [(-1, 3, -1), (0, 1, 0), (5, 3, 7), (2**31 - 2, 4, 1)]
)
def test_last_sequence_of_a_header_tuple_and_a_batch_header(base_sequence, count, last_sequence):
    batch = build_batch([b"x"] * count, producer_id=1, producer_epoch=0, base_sequence=base_sequence)
    assert last_sequence_of(HEADER.unpack_from(batch)) == read_header(batch).last_sequence == last_sequence


@pytest.mark.parametrize("codec", CODECS)
def test_build_then_decode_round_trip(codec):
    records = [
        Record(timestamp=1_700_000_000_000, key=None, value=b"first"),
        Record(timestamp=1_699_999_999_000, key=b"", value=None, headers=[("h", b"v"), ("empty", None)]),
        Record(timestamp=1_700_000_000_500, key=b"k" * 300, value=bytes(range(256)) * 50, headers=[("é", b"")]),
    ]
    batch = build_batch(records, base_offset=100, compression=codec)
    header = read_header(batch)
    assert header.compression == codec
    decoded = decode_records(batch, verify_crc=True)
    assert [r.offset for r in decoded] == [100, 101, 102]
    assert [(r.timestamp, r.key, r.value, r.headers) for r in decoded] == [
        (r.timestamp, r.key, r.value, r.headers) for r in records
    ]


def test_log_append_time_records_take_the_batch_max_timestamp():
    batch = bytearray(build_batch([Record(timestamp=5, value=b"x"), Record(timestamp=9, value=b"y")]))
    set_log_append_time(batch, 123456)
    header = read_header(batch)
    assert header.timestamp_type == TimestampType.LOG_APPEND_TIME
    assert header.max_timestamp == 123456
    assert header.crc == crc32c.crc32c(bytes(batch[21:]))
    assert [r.timestamp for r in decode_records(batch, verify_crc=True)] == [123456, 123456]


def test_control_batch_attributes():
    batch = build_batch([Record(key=b"\x00\x00\x00\x01", value=b"\x00\x00\x00\x00\x00\x05")], is_control=True,
                        is_transactional=True, producer_id=1, producer_epoch=0)
    header = read_header(batch)
    assert header.is_control and header.is_transactional
    assert header.attributes == 0x30


def test_snappy_xerial_framing_and_raw_both_decode():
    data = bytes(range(256)) * 1000  # > one 32 KB xerial block
    framed = compress(Compression.SNAPPY, data)
    assert framed.startswith(XERIAL_MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x01")
    (first_block,) = struct.unpack_from(">i", framed, 16)
    assert 0 < first_block < len(framed) - 20
    raw = compress(Compression.SNAPPY, data, snappy_xerial=False)
    assert not raw.startswith(XERIAL_MAGIC)
    assert decompress(Compression.SNAPPY, framed) == data
    assert decompress(Compression.SNAPPY, raw) == data
    records = [Record(timestamp=1, value=b"v" * 100)] * 3
    for xerial in (True, False):
        batch = build_batch(records, compression=Compression.SNAPPY, snappy_xerial=xerial)
        assert [r.value for r in decode_records(batch)] == [b"v" * 100] * 3


def test_decompress_garbage_is_corrupt():
    with pytest.raises(CorruptRecordError):
        decompress(Compression.ZSTD, b"not zstd at all")
    with pytest.raises(CorruptRecordError):
        decompress(Compression.SNAPPY, XERIAL_MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x10\x00abc")


def test_decode_truncated_records_is_corrupt():
    batch = bytearray(build_batch([Record(timestamp=1, value=b"hello")] * 2))
    struct.pack_into(">i", batch, 57, 3)  # claims a third record
    with pytest.raises(CorruptRecordError):
        decode_records(batch)


def test_decode_checks_crc_when_asked():
    batch = bytearray(build_batch([Record(timestamp=1, value=b"hello")]))
    batch[-1] ^= 1
    with pytest.raises(CorruptRecordError):
        decode_records(batch, verify_crc=True)


@pytest.mark.parametrize("value", [0, 1, -1, 63, -64, 64, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)])
def test_zigzag_varint_round_trip(value):
    out = bytearray()
    _write_varint(out, value)
    assert _read_varint(bytes(out), 0) == (value, len(out))


def test_varint_known_encodings():
    for value, encoded in [(0, b"\x00"), (-1, b"\x01"), (1, b"\x02"), (-64, b"\x7f"), (64, b"\x80\x01"), (300, b"\xd8\x04")]:
        out = bytearray()
        _write_varint(out, value)
        assert bytes(out) == encoded


def test_sequence_wraps_at_int32_max():
    assert increment_sequence(5, 3) == 8
    assert increment_sequence(2**31 - 1, 1) == 0
    assert increment_sequence(2**31 - 2, 4) == 2


def test_iter_batches_refuses_a_partial_batch():
    a = build_batch([Record(timestamp=1, value=b"a")])
    b = build_batch([Record(timestamp=1, value=b"bb")], base_offset=1)
    assert [bytes(x) for x in iter_batches(a + b)] == [a, b]
    with pytest.raises(CorruptRecordError):
        list(iter_batches(a + b[:-1]))


def test_kafka_python_reads_what_we_build():
    default_records = pytest.importorskip("kafka.record.default_records")
    batch = build_batch(
        [Record(timestamp=1000, key=b"k", value=b"v", headers=[("h", b"x")]), Record(timestamp=1005, value=b"w")],
        base_offset=40,
        compression=Compression.GZIP,
    )
    theirs = default_records.DefaultRecordBatch(bytearray(batch))
    assert theirs.validate_crc()
    decoded = [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in theirs]
    assert decoded == [(40, 1000, b"k", b"v", [("h", b"x")]), (41, 1005, None, b"w", [])]


def test_we_read_what_kafka_python_builds():
    default_records = pytest.importorskip("kafka.record.default_records")
    builder = default_records.DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=0, producer_id=-1, producer_epoch=-1, base_sequence=-1,
        batch_size=1 << 20,
    )
    builder.append(0, timestamp=2000, key=b"a", value=b"1", headers=[])
    builder.append(1, timestamp=1999, key=None, value=b"2", headers=[("x", b"y")])
    batch = bytes(builder.build())
    header = read_header(batch)
    assert header.crc == batch_crc(batch)
    decoded = [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in decode_records(batch)]
    assert decoded == [(0, 2000, b"a", b"1", []), (1, 1999, None, b"2", [("x", b"y")])]


def test_crc32c_is_the_packages_function():
    """storage.crc loads the extension by itself; it must be the very function the package has."""
    from storage.crc import crc32c as ours

    assert ours(b"123456789") == crc32c.crc32c(b"123456789") == 0xE3069283
    assert ours(memoryview(b"xx123456789")[2:]) == 0xE3069283
