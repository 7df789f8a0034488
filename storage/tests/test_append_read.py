"""Append and read on both engines: offsets, whole batches, max_bytes, refused batches."""

from __future__ import annotations

import struct

import pytest

from storage import (
    Compression,
    CorruptRecordError,
    FileSlice,
    InvalidRecordError,
    LogConfig,
    OffsetOutOfRangeError,
    RecordTooLargeError,
    UnsupportedMessageFormatError,
    decode_records,
    read_header,
)

from .helpers import assert_nothing_written, corrupt, make_batch, read_all, same_batch, split


def open_log(engine, **config):
    storage = engine.open(LogConfig(**config))
    storage.create_topic("t", 1)
    return storage.partition("t", 0)


@pytest.mark.parametrize("codec", list(Compression))
@pytest.mark.parametrize("count,value_bytes", [(1, 0), (1, 1000), (7, 100), (300, 30)])
def test_round_trip(engine, codec, count, value_bytes):
    log = open_log(engine)
    sent = make_batch(count, value_bytes=value_bytes, compression=codec)
    result = log.append(sent, now_ms=5)
    assert (result.base_offset, result.last_offset, result.log_append_time_ms, result.log_start_offset) == (
        0, count - 1, -1, 0)
    assert not result.duplicate
    assert (log.log_end_offset, log.high_watermark, log.last_stable_offset) == (count, count, count)
    read = log.read(0, 1 << 20)
    assert (read.size, read.high_watermark, read.log_start_offset, read.last_stable_offset) == (
        len(sent), count, 0, count)
    (stored,) = split(read.read_bytes())
    assert same_batch(stored, sent, 0)
    assert [r.value for r in decode_records(stored)] == [r.value for r in decode_records(sent)]


def test_offsets_assigned_across_appends(engine):
    log = open_log(engine)
    sent, expected_base = [], 0
    for i in range(200):
        batch = make_batch(1 + i % 5, tag=i, value_bytes=20 + i)
        result = log.append(batch, now_ms=i)
        assert (result.base_offset, result.last_offset) == (expected_base, expected_base + i % 5)
        sent.append((expected_base, batch))
        expected_base += 1 + i % 5
    assert log.log_end_offset == expected_base
    stored = read_all(log, max_bytes=1000)
    assert len(stored) == 200
    for got, (base, batch) in zip(stored, sent):
        assert same_batch(got, batch, base)


def test_partition_leader_epoch_and_base_offset_rewritten(engine):
    log = open_log(engine)
    log.append(make_batch(2), now_ms=1)
    sent = make_batch(1, base_offset=999, partition_leader_epoch=77)
    log.append(sent, now_ms=1)
    (stored,) = split(log.read(2, 1 << 20).read_bytes())
    assert struct.unpack_from(">qii", stored) == (2, len(sent) - 12, 0)
    assert stored[16:] == sent[16:]


def test_several_batches_in_one_append(engine):
    log = open_log(engine)
    batches = [make_batch(3, tag=1), make_batch(1, tag=2), make_batch(2, tag=3, compression=Compression.LZ4)]
    result = log.append(b"".join(batches), now_ms=1)
    assert (result.base_offset, result.last_offset) == (0, 5)
    stored = read_all(log)
    assert [read_header(b).base_offset for b in stored] == [0, 3, 4]
    assert all(same_batch(s, b, o) for s, b, o in zip(stored, batches, [0, 3, 4]))


def test_read_from_mid_batch_offset_returns_the_containing_batch(engine):
    log = open_log(engine)
    for i in range(5):
        log.append(make_batch(10, tag=i), now_ms=1)
    for offset in (0, 3, 9, 10, 17, 49):
        (first, *_) = split(log.read(offset, 1).read_bytes())
        assert read_header(first).base_offset == offset // 10 * 10


def test_max_bytes_limits_and_at_least_one_batch(engine):
    log = open_log(engine)
    sizes = []
    for i in range(10):
        batch = make_batch(1, value_bytes=100 + 10 * i, tag=i)
        sizes.append(len(batch))
        log.append(batch, now_ms=1)
    # exactly two batches fit
    read = log.read(0, sizes[0] + sizes[1])
    assert read.size == sizes[0] + sizes[1]
    assert [read_header(b).base_offset for b in split(read.read_bytes())] == [0, 1]
    # one byte short of two: only the first
    read = log.read(0, sizes[0] + sizes[1] - 1)
    assert [read_header(b).base_offset for b in split(read.read_bytes())] == [0]
    # max_bytes smaller than the first batch: still that one batch, whole
    for max_bytes in (0, 1, sizes[3] - 1):
        read = log.read(3, max_bytes)
        assert read.size == sizes[3]
        assert [read_header(b).base_offset for b in split(read.read_bytes())] == [3]
    # everything
    assert log.read(0, 1 << 30).size == sum(sizes)
    assert log.read(4, sum(sizes[4:])).size == sum(sizes[4:])


def test_read_at_and_beyond_the_end(engine):
    log = open_log(engine)
    log.append(make_batch(4), now_ms=1)
    empty = log.read(4, 1000)
    assert (empty.chunks, empty.size, empty.high_watermark, empty.log_start_offset) == ([], 0, 4, 0)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(5, 1000)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(-1, 1000)


def test_disk_reads_are_file_slices_and_memory_reads_are_bytes(engine):
    log = open_log(engine)
    for i in range(3):
        log.append(make_batch(2, tag=i), now_ms=1)
    chunks = log.read(0, 1 << 20).chunks
    if engine.disk:
        (only,) = chunks  # contiguous batches of one segment form one slice
        assert isinstance(only, FileSlice)
        assert only.position == 0 and only.file.fileno() >= 0
        assert "r" in only.file.mode and "w" not in only.file.mode
    else:
        assert len(chunks) == 3 and all(isinstance(c, (bytes, memoryview)) for c in chunks)


def test_log_append_time(engine):
    storage = engine.open()
    storage.create_topic("lat", 1, {"message.timestamp.type": "LogAppendTime"})
    log = storage.partition("lat", 0)
    sent = make_batch(3, timestamp=10, compression=Compression.GZIP)
    result = log.append(sent, now_ms=555_000)
    assert result.log_append_time_ms == 555_000
    (stored,) = split(log.read(0, 1 << 20).read_bytes())
    header = read_header(stored)
    assert header.timestamp_type == 1 and header.max_timestamp == 555_000 and header.base_timestamp == 10
    assert [r.timestamp for r in decode_records(stored, verify_crc=True)] == [555_000] * 3
    assert stored[61:] == sent[61:]


# ---------------------------------------------------------------- refused appends


def test_crc_mismatch_refuses_the_whole_append(engine):
    log = open_log(engine)
    good = make_batch(2)
    log.append(good, now_ms=1)
    bad = corrupt(make_batch(3, tag=1), 70)
    with pytest.raises(CorruptRecordError):
        log.append(make_batch(1, tag=2) + bad, now_ms=1)  # first batch fine, second corrupt
    with pytest.raises(CorruptRecordError):
        log.append(corrupt(make_batch(1), 22), now_ms=1)  # attributes are covered by the CRC
    assert_nothing_written(log, engine, 2, len(good))


def test_truncated_batches_are_corrupt(engine):
    log = open_log(engine)
    batch = make_batch(2)
    for cut in (1, 11, 12, 20, 60, len(batch) - 1):
        with pytest.raises(CorruptRecordError):
            log.append(batch[:cut], now_ms=1)
        with pytest.raises(CorruptRecordError):
            log.append(batch + batch[:cut], now_ms=1)
    with pytest.raises(InvalidRecordError):
        log.append(b"", now_ms=1)
    assert_nothing_written(log, engine, 0, 0)


def test_bad_magic_is_unsupported(engine):
    log = open_log(engine)
    for magic in (0, 1, 3):
        bad = bytearray(make_batch(1))
        bad[16] = magic
        with pytest.raises(UnsupportedMessageFormatError):
            log.append(make_batch(1) + bytes(bad), now_ms=1)
    assert_nothing_written(log, engine, 0, 0)


def test_too_large(engine):
    log = open_log(engine, max_message_bytes=1000)
    fits = make_batch(1, value_bytes=1000 - 61 - 20)
    assert len(fits) <= 1000
    log.append(fits, now_ms=1)
    big = make_batch(1, value_bytes=1000)
    assert len(big) > 1000
    with pytest.raises(RecordTooLargeError):
        log.append(make_batch(1) + big, now_ms=1)
    assert_nothing_written(log, engine, 1, len(fits))


def test_inconsistent_headers_are_invalid(engine):
    from crc32c import crc32c

    log = open_log(engine)

    def patched(position: int, fmt: str, value: int) -> bytes:
        data = bytearray(make_batch(3))
        struct.pack_into(fmt, data, position, value)
        struct.pack_into(">I", data, 17, crc32c(bytes(data[21:])))
        return bytes(data)

    for bad in (patched(23, ">i", -1), patched(23, ">i", 5), patched(57, ">i", 2), patched(21, ">h", 5)):
        with pytest.raises(InvalidRecordError):
            log.append(bad, now_ms=1)
    short = bytearray(make_batch(1))
    struct.pack_into(">i", short, 8, 40)  # batch_length below the 49-byte header
    with pytest.raises(CorruptRecordError):
        log.append(bytes(short[:52]), now_ms=1)
    assert_nothing_written(log, engine, 0, 0)


def test_append_accepts_memoryview_and_bytearray(engine):
    log = open_log(engine)
    batch = make_batch(2)
    log.append(memoryview(bytearray(b"xx" + batch))[2:], now_ms=1)
    log.append(bytearray(batch), now_ms=1)
    assert [read_header(b).base_offset for b in read_all(log)] == [0, 2]


def test_more_batches_in_one_append_than_writev_takes(engine):
    log = open_log(engine)
    batches = [make_batch(1, tag=i) for i in range(700)]  # 1400 iovec parts > IOV_MAX
    result = log.append(b"".join(batches), now_ms=1)
    assert (result.base_offset, result.last_offset) == (0, 699)
    stored = read_all(log)
    assert len(stored) == 700 and all(same_batch(s, b, i) for i, (s, b) in enumerate(zip(stored, batches)))
