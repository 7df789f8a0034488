"""Disk engine: segment files, rolls, the .index and .timeindex files, read costs."""

from __future__ import annotations

import os
import struct

import pytest

from storage import FileSlice, LogConfig, read_header

from .helpers import make_batch, read_all, same_batch, split


def open_log(disk, **config):
    storage = disk.open(LogConfig(**config))
    storage.create_topic("t", 1)
    return storage.partition("t", 0)


def files(disk, suffix):
    return sorted(n for n in os.listdir(disk.data_dir / "t-0") if n.endswith(suffix))


def test_roll_by_size(disk):
    one = make_batch(2)
    size = len(one)
    log = open_log(disk, segment_bytes=3 * size)  # three batches per segment
    for i in range(8):
        log.append(make_batch(2, tag=i), now_ms=1)
    assert files(disk, ".log") == [f"{base:020d}.log" for base in (0, 6, 12)]
    assert [os.path.getsize(disk.data_dir / "t-0" / n) for n in files(disk, ".log")] == [3 * size, 3 * size, 2 * size]
    assert files(disk, ".index") == [f"{base:020d}.index" for base in (0, 6, 12)]
    assert files(disk, ".timeindex") == [f"{base:020d}.timeindex" for base in (0, 6, 12)]
    # a roll writes a producer snapshot at the new segment's base offset
    assert files(disk, ".snapshot") == [f"{base:020d}.snapshot" for base in (6, 12)]


def test_a_batch_larger_than_segment_bytes_gets_its_own_segment(disk):
    log = open_log(disk, segment_bytes=100)
    for i in range(3):
        log.append(make_batch(1, value_bytes=200, tag=i), now_ms=1)
    assert files(disk, ".log") == [f"{base:020d}.log" for base in (0, 1, 2)]


def test_read_across_segments(disk):
    batches = [make_batch(2, tag=i) for i in range(7)]
    size = len(batches[0])
    log = open_log(disk, segment_bytes=3 * size)
    for batch in batches:
        log.append(batch, now_ms=1)
    read = log.read(0, 1 << 20)
    assert [(c.position, c.size) for c in read.chunks] == [(0, 3 * size), (0, 3 * size), (0, size)]
    assert all(isinstance(c, FileSlice) for c in read.chunks)
    assert [c.file.name.rsplit("/", 1)[1] for c in read.chunks] == [
        f"{base:020d}.log" for base in (0, 6, 12)]
    # from the middle of the first segment into the second, limited by max_bytes
    read = log.read(5, 3 * size)
    assert [(c.position, c.size) for c in read.chunks] == [(2 * size, size), (0, 2 * size)]
    stored = split(read.read_bytes())
    assert [read_header(b).base_offset for b in stored] == [4, 6, 8]
    assert all(same_batch(s, batches[o // 2], o) for s, o in zip(stored, (4, 6, 8)))
    # sequential consumer, one batch at a time, across every segment
    assert all(same_batch(s, b, 2 * i) for i, (s, b) in enumerate(zip(read_all(log, max_bytes=1), batches)))


def test_roll_by_time(disk):
    log = open_log(disk, segment_ms=100)
    for now_ms in (1000, 1050, 1100, 1101, 1150, 1202, 1203):
        log.append(make_batch(1, tag=now_ms), now_ms=now_ms)
    # rolls when more than segment_ms passed since the segment's first append
    assert files(disk, ".log") == [f"{base:020d}.log" for base in (0, 3, 5)]
    assert [read_header(b).base_offset for b in read_all(log)] == list(range(7))


def test_roll_by_time_after_reopen_counts_from_the_first_batch_timestamp(disk):
    log = open_log(disk, segment_ms=100)
    log.append(make_batch(1, timestamp=5000), now_ms=5000)
    storage = disk.reopen()
    log = storage.partition("t", 0)
    log.append(make_batch(1, timestamp=5050), now_ms=5050)
    log.append(make_batch(1, timestamp=5101), now_ms=5101)
    assert files(disk, ".log") == [f"{base:020d}.log" for base in (0, 2)]


def index_entries(disk, name):
    data = (disk.data_dir / "t-0" / name).read_bytes()
    return [struct.unpack_from(">ii", data, i) for i in range(0, len(data), 8)]


def time_index_entries(disk, name):
    data = (disk.data_dir / "t-0" / name).read_bytes()
    return [struct.unpack_from(">qi", data, i) for i in range(0, len(data), 12)]


def test_index_entries_every_index_interval_bytes(disk):
    size = len(make_batch(2))
    log = open_log(disk, index_interval_bytes=int(2.5 * size), segment_bytes=100 * size)
    for i in range(14):  # timestamps rise by 10 per batch: 1000+10i and 1001+10i
        log.append(make_batch(2, tag=i, timestamp=1000 + 10 * i), now_ms=1)
    log.flush()
    # an entry for the batch that starts once >= 2.5 batches were written since the last one;
    # offset = that batch's last offset, relative to the segment; position = its start
    expected_index = [(7, 3 * size), (13, 6 * size), (19, 9 * size), (25, 12 * size)]
    assert index_entries(disk, f"{0:020d}.index") == expected_index
    # time index: (largest timestamp so far, last offset of the batch that reached it)
    expected_time_index = [(1031, 7), (1061, 13), (1091, 19), (1121, 25)]
    assert time_index_entries(disk, f"{0:020d}.timeindex") == expected_time_index
    segment = log.segments[0]
    assert list(segment.offset_index.relative_offsets) == [7, 13, 19, 25]
    assert list(segment.offset_index.positions) == [3 * size, 6 * size, 9 * size, 12 * size]
    # sealing the segment (a roll) adds the segment's final maximum, as Kafka does
    log.append(make_batch(1, value_bytes=100 * size), now_ms=1)
    assert files(disk, ".log") == [f"{0:020d}.log", f"{28:020d}.log"]
    assert index_entries(disk, f"{0:020d}.index") == expected_index
    assert time_index_entries(disk, f"{0:020d}.timeindex") == expected_time_index + [(1131, 27)]
    # the rebuilt indexes of a recovered segment are the same
    os.unlink(disk.data_dir / "t-0" / f"{0:020d}.index")
    os.unlink(disk.data_dir / "t-0" / f"{0:020d}.timeindex")
    disk.reopen().partition("t", 0).max_timestamp()   # a closed segment's indexes are read when first used
    assert index_entries(disk, f"{0:020d}.index") == expected_index
    assert time_index_entries(disk, f"{0:020d}.timeindex") == expected_time_index + [(1131, 27)]


def test_index_interval_zero_indexes_every_batch(disk):
    size = len(make_batch(1))
    log = open_log(disk, index_interval_bytes=0)
    for i in range(4):
        log.append(make_batch(1, tag=i), now_ms=1)
    log.flush()
    assert index_entries(disk, f"{0:020d}.index") == [(i, i * size) for i in range(4)]
    os.unlink(disk.data_dir / "t-0" / f"{0:020d}.index")
    disk.reopen()
    assert index_entries(disk, f"{0:020d}.index") == [(i, i * size) for i in range(4)]


def test_writes_use_o_append_whatever_the_read_file_position(disk):
    log = open_log(disk)
    first = make_batch(1)
    log.append(first, now_ms=1)
    (chunk,) = log.read(0, 1 << 20).chunks
    chunk.file.seek(3)  # as asyncio's sendfile moves a shared file's position
    second = make_batch(1, tag=2)
    log.append(second, now_ms=1)
    stored = read_all(log)
    assert same_batch(stored[0], first, 0) and same_batch(stored[1], second, 1)
    flags = __import__("fcntl").fcntl(log.segments[-1]._write_fd, __import__("fcntl").F_GETFL)
    assert flags & os.O_APPEND


def count_preads(monkeypatch):
    calls = []
    real_pread = os.pread

    def counting(fd, size, position):
        calls.append(position)
        return real_pread(fd, size, position)

    monkeypatch.setattr(os, "pread", counting)
    return calls


def test_sequential_reads_cost_the_same_at_any_depth(disk, monkeypatch):
    size = len(make_batch(1))
    assert size < 100
    log = open_log(disk)  # index entries every 4096 bytes: about 50 batches apart
    for i in range(5000):
        log.append(make_batch(1, tag=i), now_ms=1)
    calls = count_preads(monkeypatch)
    costs = []
    offset = 0
    while offset < log.log_end_offset:
        del calls[:]
        read = log.read(offset, 10 * size + size // 2)  # ten batches per read
        assert read.size == 10 * size
        costs.append(len(calls))
        offset += 10
    # the position comes from the end of the previous read and the end is found by one
    # read of the headers past the nearest index entry: the same cost at any depth
    assert costs == [1] * 499 + [0]  # the last read ends at the end of the segment: no walk
    # a random read: header reads from an index entry to the offset, then to the end
    del calls[:]
    log.read(2501, 1)
    assert len(calls) == 2
    # a large read: the index bounds the walk to the last index interval
    del calls[:]
    read = log.read(100, 100 * size)
    assert read.size == 100 * size and len(calls) <= 3


def test_close_writes_snapshot_and_marker(disk):
    log = open_log(disk)
    log.append(make_batch(3), now_ms=1)
    disk.storage.close()
    assert (disk.data_dir / ".kbroker_clean_shutdown").exists()
    assert files(disk, ".snapshot") == [f"{3:020d}.snapshot"]
    disk.open()
    assert not (disk.data_dir / ".kbroker_clean_shutdown").exists()


@pytest.mark.parametrize("count", [1, 5000])
def test_flush_and_reopen_keep_everything(disk, count):
    log = open_log(disk, segment_bytes=50_000)
    batches = [make_batch(1 + i % 3, tag=i) for i in range(count)]
    for batch in batches:
        log.append(batch, now_ms=1)
    log.flush()
    storage = disk.reopen()
    log = storage.partition("t", 0)
    stored = read_all(log, max_bytes=100_000)
    assert len(stored) == count
    offset = 0
    for got, batch in zip(stored, batches):
        assert same_batch(got, batch, offset)
        offset += read_header(batch).records_count
    assert log.log_end_offset == offset


def test_a_short_write_is_completed(disk, monkeypatch):
    log = open_log(disk)
    real_writev = os.writev
    calls = []

    def short_writev(fd, parts):
        data = b"".join(bytes(p) for p in parts)
        calls.append(len(data))
        return os.write(fd, data[: max(1, len(data) // 3)])  # the kernel may stop early

    monkeypatch.setattr(os, "writev", short_writev)
    batches = [make_batch(2, tag=i) for i in range(3)]
    log.append(b"".join(batches), now_ms=1)
    monkeypatch.setattr(os, "writev", real_writev)
    assert len(calls) > 2
    stored = read_all(log)
    assert all(same_batch(s, b, 2 * i) for i, (s, b) in enumerate(zip(stored, batches)))
    assert os.path.getsize(disk.data_dir / "t-0" / f"{0:020d}.log") == sum(map(len, batches))


def test_a_failed_write_leaves_nothing(disk, monkeypatch):
    log = open_log(disk)
    log.append(make_batch(1), now_ms=1)

    def failing_writev(fd, parts):
        os.write(fd, bytes(parts[0]))  # part of the batch reached the file, then the disk filled
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "writev", failing_writev)
    with pytest.raises(OSError):
        log.append(make_batch(2, tag=1), now_ms=1)
    monkeypatch.undo()
    assert log.log_end_offset == 1
    assert os.path.getsize(disk.data_dir / "t-0" / f"{0:020d}.log") == len(make_batch(1))
    assert log.append(make_batch(2, tag=2), now_ms=1).base_offset == 1
    assert [read_header(b).base_offset for b in read_all(log)] == [0, 1]


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_descriptors_stay_under_the_cap_and_closed_segments_reopen(disk, monkeypatch):
    """Partitions hold no descriptor until used; beyond the cap the least recently used segments
    close theirs, and each reopens on its next append or read with nothing lost."""
    from storage.open_files import OPEN_FILES
    monkeypatch.setattr(OPEN_FILES, "cap", 8)
    storage = disk.open(LogConfig())
    before = _open_descriptors()
    storage.create_topic("many", 40)
    assert _open_descriptors() == before   # created: nothing open
    logs = [storage.partition("many", p) for p in range(40)]
    written = {p: [] for p in range(40)}
    for round_ in range(3):
        for p, log in enumerate(logs):
            batch = make_batch(2, tag=round_ * 100 + p)
            log.append(batch, now_ms=1)
            written[p].append(batch)
            assert len(OPEN_FILES) <= 8
            assert _open_descriptors() - before <= 2 * 8
    for p, log in enumerate(logs):   # reads reopen what the cap closed
        stored = read_all(log)
        assert [same_batch(a, b, 2 * i) for i, (a, b) in enumerate(zip(stored, written[p]))] == [True] * 3
        assert _open_descriptors() - before <= 2 * 8
    storage.flush()   # an fsync of a segment whose writer was closed opens it for that
    disk.reopen()
    again = disk.storage.partition("many", 39)
    assert len(read_all(again)) == 3


def test_a_partition_never_written_snapshots_nothing_on_close(disk):
    """As Kafka takes no snapshot where nothing is new: closing many idle partitions costs no fsyncs."""
    storage = disk.open(LogConfig())
    storage.create_topic("idle", 1)
    storage.create_topic("t", 1)
    storage.partition("t", 0).append(make_batch(2), now_ms=1)
    disk.reopen()
    assert not [n for n in os.listdir(disk.data_dir / "idle-0") if n.endswith(".snapshot")]
    assert files(disk, ".snapshot") == [f"{2:020d}.snapshot"]
    assert disk.storage.partition("idle", 0).log_end_offset == 0


def test_closing_many_partitions_at_once_keeps_every_one(disk):
    """Enough partitions that close() closes them in parallel threads: each is flushed, snapshotted
    and reopened whole, and the shutdown is marked clean."""
    from storage.storage import CLOSE_IN_PARALLEL_FROM
    storage = disk.open(LogConfig())
    count = CLOSE_IN_PARALLEL_FROM + 16
    storage.create_topic("wide", count)
    for p in range(count):
        storage.partition("wide", p).append(make_batch(p % 3 + 1, tag=p), now_ms=1)
    storage.close()
    assert (disk.data_dir / ".kbroker_clean_shutdown").exists()
    storage = disk.open(LogConfig())
    assert [storage.partition("wide", p).log_end_offset for p in range(count)] == [p % 3 + 1 for p in range(count)]
    assert all(os.listdir(disk.data_dir / f"wide-{p}") and
               [n for n in os.listdir(disk.data_dir / f"wide-{p}") if n.endswith(".snapshot")] for p in range(count))
