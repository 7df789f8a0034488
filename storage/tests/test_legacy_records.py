"""Message sets of magic 0 and 1: golden bytes built from the format description
(docs/implementation.html, "Old Message Format"), CRC-32 checks, compressed wrappers and their
relative offsets, timestamps, Kafka's checks of a produced message set, and down-conversion."""

from __future__ import annotations

import struct
import time
import zlib

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Compression, Record, build_batch, decode_records, read_header
from storage.codecs import compress
from storage.errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    RecordTooLargeError,
    StorageError,
    UnsupportedCompressionTypeError,
)
from storage.legacy_records import (
    down_convert,
    encode_message,
    entries,
    inner_messages,
    read_message,
    stored_records,
    to_record_batch,
)
from storage.lz4_framing import LZ4_MAGIC, compress_kafka_frame, decompress_frame, xxh32
from storage.records import HEADER_BYTES

T = 1_700_000_000_000
MAX = 1 << 20
LEGACY_CODECS = [Compression.GZIP, Compression.SNAPPY, Compression.LZ4]


def message(offset: int, magic: int, value: bytes | None, *, key: bytes | None = None, attributes: int = 0,
            timestamp: int = T, crc: int | None = None) -> bytes:
    """One entry, assembled field by field as the format description lays it out."""
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    for field in (key, value):
        body += struct.pack(">i", -1) if field is None else struct.pack(">i", len(field)) + field
    crc = zlib.crc32(body) if crc is None else crc
    return struct.pack(">qiI", offset, len(body) + 4, crc) + body


def raw(body: bytes, offset: int = 0) -> bytes:
    """An entry of a message's bytes after its crc (magic onwards), with the right crc."""
    return struct.pack(">qiI", offset, len(body) + 4, zlib.crc32(body)) + body


def wrapper(magic: int, codec: int, inner: bytes, *, offset: int = 0, attributes: int = 0, timestamp: int = T,
            crc: int | None = None) -> bytes:
    """A compressed message holding the inner message set (lz4 v0 with Kafka's broken header checksum)."""
    if codec == Compression.LZ4:
        packed = compress_kafka_frame(inner, broken_checksum=magic == 0)
    else:
        packed = compress(codec, inner)
    return message(offset, magic, packed, attributes=codec | attributes, timestamp=timestamp, crc=crc)


def v2_records(batch) -> list[tuple[int, int, bytes | None, bytes | None]]:
    return [(r.offset, r.timestamp, r.key, r.value) for r in decode_records(batch, verify_crc=True)]


def parsed(message_set: bytes) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(offset, timestamp, key, value) of every message, wrappers opened."""
    out = []
    for start, end, _ in entries(message_set):
        m = read_message(message_set, start, end)
        for one in inner_messages(m) if m.codec else [m]:
            out.append((one.offset, one.timestamp, one.key, one.value))
    return out


# ---------------------------------------------------------------- golden bytes


def test_v0_message_golden_bytes():
    # offset 5, size 19: crc, magic 0, attributes 0, key null (-1), value "hello"
    golden = bytes.fromhex("0000000000000005" "00000013" "87a77ab2" "00" "00" "ffffffff" "00000005") + b"hello"
    assert encode_message(5, 0, 0, -1, None, b"hello") == golden == message(5, 0, b"hello")
    assert read_message(golden, 0, len(golden)) == (5, 0, 0, -1, None, b"hello")


def test_v1_message_golden_bytes():
    # v1 adds the int64 timestamp after the attributes; a key "k" and a null value
    golden = bytes.fromhex("0000000000000001" "00000017" "6c2bfaf8" "01" "00" "0000018bcfe56801"
                           "00000001") + b"k" + bytes.fromhex("ffffffff")
    assert encode_message(1, 1, 0, T + 1, b"k", None) == golden
    assert read_message(golden, 0, len(golden)) == (1, 1, 0, T + 1, b"k", None)


def test_crc_is_crc32_of_magic_to_end():
    entry = message(0, 1, b"value")
    assert struct.unpack_from(">I", entry, 12)[0] == zlib.crc32(entry[16:])


@pytest.mark.parametrize("magic", [0, 1])
def test_a_bad_crc_is_corrupt(magic):
    good = message(0, magic, b"v")
    with pytest.raises(CorruptRecordError, match="crc"):
        to_record_batch(message(0, magic, b"v", crc=struct.unpack_from(">I", good, 12)[0] ^ 1), max_message_bytes=MAX)
    flipped = bytearray(good)
    flipped[-1] ^= 0xFF   # a value byte changed in flight
    with pytest.raises(CorruptRecordError):
        to_record_batch(bytes(flipped), max_message_bytes=MAX)


# ---------------------------------------------------------------- produce: message set to v2


def test_v0_messages_become_one_v2_batch_with_no_timestamps():
    batch = to_record_batch(message(0, 0, b"a") + message(0, 0, b"b", key=b"k") + message(0, 0, None),
                            max_message_bytes=MAX)
    assert read_header(batch).records_count == 3
    assert v2_records(batch) == [(0, -1, None, b"a"), (1, -1, b"k", b"b"), (2, -1, None, None)]


def test_v1_messages_keep_their_timestamps():
    batch = to_record_batch(message(7, 1, b"a", timestamp=T + 5) + message(9, 1, b"b", timestamp=T),
                            max_message_bytes=MAX)
    header = read_header(batch)
    assert (header.base_timestamp, header.max_timestamp, header.compression) == (T + 5, T + 5, Compression.NONE)
    assert v2_records(batch) == [(0, T + 5, None, b"a"), (1, T, None, b"b")]   # offsets are the log's to assign


@pytest.mark.parametrize("codec", LEGACY_CODECS)
@pytest.mark.parametrize("magic", [0, 1])
def test_a_compressed_wrapper_becomes_a_batch_of_its_messages_in_its_codec(magic, codec):
    inner_offsets = [0, 1, 2] if magic == 1 else [40, 41, 42]   # v1 relative, v0 absolute (ignored)
    inner = b"".join(message(o, magic, b"value-%d" % i * 20, key=b"k%d" % i, timestamp=T + i)
                     for i, o in enumerate(inner_offsets))
    batch = to_record_batch(wrapper(magic, codec, inner, offset=2), max_message_bytes=MAX)
    assert read_header(batch).compression == codec
    ts = [T, T + 1, T + 2] if magic == 1 else [-1, -1, -1]
    assert v2_records(batch) == [(i, ts[i], b"k%d" % i, b"value-%d" % i * 20) for i in range(3)]


def test_lz4_batches_use_kafkas_frame():
    inner = message(0, 1, b"x" * 1000)
    batch = to_record_batch(wrapper(1, Compression.LZ4, inner), max_message_bytes=MAX)
    frame = batch[HEADER_BYTES:]
    assert frame[:4] == LZ4_MAGIC and frame[4:6] == b"\x60\x40"   # independent 64 KiB blocks, no checksums


def test_v1_inner_offsets_are_relative_to_the_wrapper():
    inner = b"".join(message(o, 1, b"%d" % o) for o in (0, 1, 2))
    [(start, end, _)] = entries(w := wrapper(1, Compression.GZIP, inner, offset=12))
    assert [m.offset for m in inner_messages(read_message(w, start, end))] == [10, 11, 12]


def test_v1_wrapper_offset_below_the_last_inner_offset_is_invalid():
    inner = b"".join(message(o, 1, b"v") for o in (0, 1, 2))
    with pytest.raises(InvalidRecordError, match="wrapper offset"):
        to_record_batch(wrapper(1, Compression.GZIP, inner, offset=1), max_message_bytes=MAX)


def test_a_logappendtime_wrapper_lends_its_timestamp_to_inner_messages():
    inner = message(0, 1, b"a", timestamp=5) + message(1, 1, b"b", timestamp=6)
    produced = wrapper(1, Compression.GZIP, inner, attributes=0x08, timestamp=T)
    assert [r[1] for r in v2_records(to_record_batch(produced, max_message_bytes=MAX))] == [T, T]
    # Kafka refuses LogAppendTime from a producer where it would be used: a LogAppendTime topic
    with pytest.raises(InvalidTimestampError):
        to_record_batch(produced, max_message_bytes=MAX, log_append_time=True)
    with pytest.raises(InvalidTimestampError):   # or a message without a timestamp
        to_record_batch(message(0, 1, b"a", attributes=0x08, timestamp=-1), max_message_bytes=MAX)


@pytest.mark.parametrize("bad, error, match", [
    (wrapper(1, Compression.GZIP, wrapper(1, Compression.GZIP, message(0, 1, b"v"))), InvalidRecordError,
     "inner record with a compression"),
    (wrapper(1, Compression.GZIP, message(0, 0, b"v")), InvalidRecordError, "does not match outer magic"),
    (wrapper(1, Compression.GZIP, message(0, 1, b"v", crc=7)), CorruptRecordError, "crc"),
    (wrapper(1, Compression.GZIP, b""), InvalidRecordError, "no inner records"),
    (message(0, 1, None, attributes=Compression.GZIP), InvalidRecordError, "null value"),
    (message(0, 1, b"zstd bytes", attributes=Compression.ZSTD), InvalidRecordError, "compressionType"),
    (message(0, 1, b"not gzip", attributes=Compression.GZIP), CorruptRecordError, "decompress"),
    (message(0, 0, b"a") + message(1, 1, b"b"), InvalidRecordError, "magic"),
    (wrapper(1, Compression.GZIP, message(0, 1, b"a")) * 2, InvalidRecordError, "more than one batch"),
    (struct.pack(">qi", 0, 13) + bytes(13), CorruptRecordError, "minimum record overhead"),
    (message(0, 3, b"v"), CorruptRecordError, "Invalid magic"),
    (raw(struct.pack(">bbqii", 1, 0, T, -1, 100) + b"short"), CorruptRecordError, "runs past"),
], ids=["inner compressed", "inner magic", "inner crc", "no inner", "null wrapper", "zstd wrapper",
        "not gzip", "mixed magic", "two wrappers", "too small", "magic 3", "value past the end"])
def test_what_kafka_refuses(bad, error, match):
    with pytest.raises(error, match=match):
        to_record_batch(bad, max_message_bytes=MAX)


def test_a_message_over_max_message_bytes_is_too_large():
    entry = message(0, 1, b"v" * 100)
    assert to_record_batch(entry, max_message_bytes=len(entry)) is not None
    with pytest.raises(RecordTooLargeError):
        to_record_batch(entry, max_message_bytes=len(entry) - 1)


def test_a_compacted_topic_needs_keys():
    assert to_record_batch(message(0, 1, b"v", key=b"k"), max_message_bytes=MAX, compacted=True) is not None
    with pytest.raises(InvalidRecordError, match="without key"):
        to_record_batch(message(0, 1, b"v"), max_message_bytes=MAX, compacted=True)


def test_a_partial_last_entry_is_trimmed_and_no_whole_entry_appends_nothing():
    whole = message(0, 1, b"a")
    assert v2_records(to_record_batch(whole + message(1, 1, b"b")[:-3], max_message_bytes=MAX)) == [
        (0, T, None, b"a")]
    assert to_record_batch(whole[:-1], max_message_bytes=MAX) is None
    assert to_record_batch(b"", max_message_bytes=MAX) is None


def test_a_v2_batch_comes_back_as_it_is():
    batch = build_batch([Record(timestamp=T, value=b"v")])
    assert bytes(to_record_batch(batch, max_message_bytes=MAX)) == batch


# ---------------------------------------------------------------- fetch: v2 to message sets


def stored(*records: Record, base_offset: int = 100, **kwargs) -> bytes:
    return build_batch(list(records), base_offset=base_offset, **kwargs)


def test_an_uncompressed_batch_becomes_a_message_per_record_from_the_fetch_offset():
    batch = stored(Record(timestamp=T, value=b"a"), Record(timestamp=T + 1, key=b"k", value=b"b",
                                                            headers=[("h", b"dropped")]))
    assert list(down_convert(batch, 1, 100)) == [message(100, 1, b"a"), message(101, 1, b"b", key=b"k",
                                                                                   timestamp=T + 1)]
    assert list(down_convert(batch, 0, 101)) == [message(101, 0, b"b", key=b"k")]


@pytest.mark.parametrize("codec", LEGACY_CODECS)
@pytest.mark.parametrize("magic", [0, 1])
def test_a_compressed_batch_becomes_one_wrapper_of_all_its_records(magic, codec):
    records = [Record(timestamp=T + i % 2, key=b"k%d" % i, value=b"v%d" % i * 30) for i in range(4)]
    [entry] = down_convert(stored(*records, compression=codec), magic, 102)   # all four: the client skips
    offset, _, crc, wrapper_magic, attributes = struct.unpack_from(">qiIbb", entry)
    assert (offset, wrapper_magic, attributes) == (103, magic, codec)
    assert crc == zlib.crc32(entry[16:])
    if magic == 1:
        assert struct.unpack_from(">q", entry, 18)[0] == T + 1   # the largest timestamp
    ts = [T + i % 2 for i in range(4)] if magic == 1 else [-1] * 4
    assert parsed(entry) == [(100 + i, ts[i], b"k%d" % i, b"v%d" % i * 30) for i in range(4)]
    m = read_message(entry, 0, len(entry))
    inner = (decompress_frame(m.value, ignore_header_checksum=magic == 0) if codec == Compression.LZ4
             else bytes(cramjam.gzip.decompress(m.value)) if codec == Compression.GZIP else None)
    if inner is not None:   # inner offsets: relative in v1, absolute in v0
        assert [struct.unpack_from(">q", inner, s)[0] for s, _, _ in entries(inner)] == (
            [0, 1, 2, 3] if magic == 1 else [100, 101, 102, 103])


def test_lz4_header_checksum_is_kafkas_broken_one_in_v0_only():
    records = [Record(timestamp=T, value=b"x" * 100)]
    for magic in (0, 1):
        [entry] = down_convert(stored(*records, compression=Compression.LZ4), magic, 0)
        frame = read_message(entry, 0, len(entry)).value
        covered = frame[:6] if magic == 0 else frame[4:6]
        assert frame[6] == (xxh32(covered) >> 8) & 0xFF
    with pytest.raises(CorruptRecordError):   # v1 readers check the header checksum
        decompress_frame(compress_kafka_frame(b"data", broken_checksum=True))


def test_logappendtime_batches_keep_their_time_in_v1():
    batch = bytearray(stored(Record(timestamp=5, value=b"a"), Record(timestamp=6, value=b"b")))
    from storage.records import set_log_append_time
    set_log_append_time(batch, T)
    assert list(down_convert(bytes(batch), 1, 0)) == [message(100, 1, b"a", attributes=0x08),
                                                      message(101, 1, b"b", attributes=0x08)]
    compressed = bytearray(stored(Record(timestamp=5, value=b"a"), compression=Compression.GZIP))
    set_log_append_time(compressed, T)
    [entry] = down_convert(bytes(compressed), 1, 0)
    assert struct.unpack_from(">bq", entry, 17) == (Compression.GZIP | 0x08, T)
    assert parsed(entry) == [(100, T, None, b"a")]


def test_control_batches_are_left_out_and_zstd_cannot_be_converted():
    control = stored(Record(timestamp=T, key=b"\0\0\0\0", value=b"\0\0\0\0\0\0"), base_offset=5,
                     is_control=True, is_transactional=True, producer_id=1, producer_epoch=0)
    data = stored(Record(timestamp=T, value=b"a"), base_offset=6)
    assert list(down_convert(control + data, 1, 5)) == [message(6, 1, b"a")]
    zstd = stored(Record(timestamp=T, value=b"z"), base_offset=7, compression=Compression.ZSTD)
    converted = down_convert(data + zstd, 1, 6)
    assert next(converted) == message(6, 1, b"a")
    with pytest.raises(UnsupportedCompressionTypeError):
        next(converted)


@pytest.mark.parametrize("codec", [Compression.NONE, *LEGACY_CODECS])
@pytest.mark.parametrize("magic", [0, 1])
def test_round_trip_through_the_log_format(magic, codec):
    records = [Record(timestamp=T + i, key=None if i % 3 else b"key%d" % i, value=None if i == 4 else b"v" * i)
               for i in range(7)]
    stored_batch = stored(*records, base_offset=0, compression=codec)
    message_set = b"".join(down_convert(stored_batch, magic, 0))
    back = to_record_batch(message_set, max_message_bytes=MAX)
    ts = [T + i for i in range(7)] if magic == 1 else [-1] * 7
    assert v2_records(back) == [(i, ts[i], r.key, r.value) for i, r in enumerate(records)]
    assert read_header(back).compression == codec


def test_xxh32_known_values():
    assert xxh32(b"") == 0x02CC5D05
    assert xxh32(b"abc") == 0x32D153FF
    assert xxh32(b"Nobody inspects the spammish repetition") == 0xE2293B2F


def test_kafka_lz4_frames_round_trip_over_many_blocks():
    data = bytes(range(256)) * 1000 + b"\x07" * 100_000   # 356 KB: several 64 KiB blocks
    frame = compress_kafka_frame(data)
    assert decompress_frame(frame) == data == bytes(cramjam.lz4.decompress(frame))


# ---------------------------------------------------------------- bad input never escapes as anything else

_VALID = [message(0, 0, b"a") + message(1, 0, b"b", key=b"k"), message(0, 1, b"v" * 40, key=b"key"),
          *(wrapper(m, c, message(0, m, b"inner-%d" % i) + message(1, m, b"x" * 100)) for m in (0, 1)
            for i, c in enumerate(LEGACY_CODECS))]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_VALID), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       st.integers(0, 400))
def test_mutated_message_sets_are_refused_with_storage_errors_only(valid, flips, cut):
    data = bytearray(valid[:len(valid) - cut if cut < len(valid) else len(valid)])
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    try:
        result = to_record_batch(bytes(data), max_message_bytes=MAX, compacted=bool(cut % 2))
    except StorageError:
        return
    if result is not None and data[16] != 2:   # (a v2 batch is passed on as it is, for the append to check)
        decode_records(result, verify_crc=True)   # what a message set becomes is a valid v2 batch


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_with_storage_errors_only(data):
    try:
        to_record_batch(data, max_message_bytes=MAX)
    except StorageError:
        pass


@pytest.mark.parametrize("codec", [Compression.NONE, Compression.GZIP])
def test_the_lean_decode_agrees_with_the_records_decoder(codec):
    records = [Record(timestamp=T + i * 100_000 - 5, key=None if i % 7 == 0 else b"k" * (i % 130),
                      value=None if i % 11 == 0 else bytes([i]) * (i * 3), headers=[("h%d" % i, b"x" * i)] * (i % 3))
               for i in range(150)]   # offsets, timestamps and lengths past one varint byte; headers skipped
    batch = build_batch(records, base_offset=1000, compression=codec)
    assert stored_records(memoryview(batch), read_header(batch)) == [
        (r.offset, r.timestamp, r.key, r.value) for r in decode_records(batch)]
    with pytest.raises(CorruptRecordError):
        truncated = build_batch(records[:3])
        header = read_header(truncated)._replace(records_count=4)   # more records than the bytes hold
        stored_records(memoryview(truncated), header)


# ---------------------------------------------------------------- segment times (ListOffsets v0)


def test_segment_times_on_both_engines(engine):
    storage = engine.open()
    storage.create_topic("t", 1, {"segment.bytes": "100"})   # a segment per batch on disk
    log = storage.partition("t", 0)
    assert [(base, size) for base, size, _ in log.segment_times()] == [(0, 0)]
    before = time.time_ns() // 1_000_000 - 1000   # file times may be coarser than a millisecond
    for i in range(3):
        log.append(build_batch([Record(timestamp=T, value=b"v%d" % i)]), now_ms=T + i)
    times = log.segment_times()
    after = time.time_ns() // 1_000_000 + 1000
    sizes = [size for _, size, _ in times]
    if engine.disk:
        assert [base for base, _, _ in times] == [0, 1, 2] and all(sizes)
        assert all(before <= ms <= after for _, _, ms in times)   # the files' modification times
    else:
        # a segment per batch in memory too, each last written at its append's time
        assert [(base, ms) for base, _, ms in times] == [(0, T), (1, T + 1), (2, T + 2)] and all(sizes)
