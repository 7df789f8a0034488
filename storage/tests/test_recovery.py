"""Disk engine restart: torn and corrupt tails, damaged indexes, unclean shutdown."""

from __future__ import annotations

import os
import struct

import pytest

from storage import LogConfig, OutOfOrderSequenceError, read_header

from .helpers import make_batch, read_all, same_batch


def name(base: int, suffix: str) -> str:
    return f"{base:020d}{suffix}"


def fill(disk, count=5, segment_batches=None, index_batches=None):
    """A log with count two-record batches; returns (directory, batches, batch size).

    segment_batches: batches per segment; index_batches: index interval in batches."""
    batches = [make_batch(2, tag=i, value_bytes=40, timestamp=1000 + i) for i in range(count)]
    size = len(batches[0])
    assert all(len(b) == size for b in batches)
    config = LogConfig()
    if segment_batches:
        config = config.with_overrides({"segment.bytes": str(segment_batches * size)})
    if index_batches:
        config = config.with_overrides({"index.interval.bytes": str(int(index_batches * size))})
    storage = disk.open(config)
    storage.create_topic("t", 1)
    log = storage.partition("t", 0)
    for batch in batches:
        log.append(batch, now_ms=1)
    storage.close()
    return disk.data_dir / "t-0", batches, len(batches[0])


def reopen_log(disk):
    return disk.open(disk.storage.defaults).partition("t", 0)


def assert_log_holds(log, batches):
    stored = read_all(log)
    assert len(stored) == len(batches)
    assert all(same_batch(s, b, 2 * i) for i, (s, b) in enumerate(zip(stored, batches)))
    assert log.log_end_offset == 2 * len(batches)


@pytest.mark.parametrize("cut", [1, 12, 61, 70])
def test_torn_tail_is_truncated(disk, cut):
    directory, batches, size = fill(disk)
    os.truncate(directory / name(0, ".log"), 4 * size + cut)
    log = reopen_log(disk)
    assert os.path.getsize(directory / name(0, ".log")) == 4 * size
    assert_log_holds(log, batches[:4])
    assert log.append(batches[4], now_ms=1).base_offset == 8
    assert_log_holds(log, batches)


@pytest.mark.parametrize("position", [17, 21, 40, 61, 80])
def test_corrupt_byte_in_the_last_batch(disk, position):
    directory, batches, size = fill(disk)
    with open(directory / name(0, ".log"), "r+b") as file:
        file.seek(4 * size + position)
        byte = file.read(1)
        file.seek(4 * size + position)
        file.write(bytes([byte[0] ^ 0xFF]))
    log = reopen_log(disk)
    assert_log_holds(log, batches[:4])


def test_corruption_in_the_middle_of_the_active_segment_truncates_from_there(disk):
    directory, batches, size = fill(disk)
    with open(directory / name(0, ".log"), "r+b") as file:
        file.seek(2 * size + 70)
        file.write(b"\x00\x00\x00")
    log = reopen_log(disk)
    assert_log_holds(log, batches[:2])


def test_garbage_appended_after_the_last_batch(disk):
    directory, batches, size = fill(disk)
    with open(directory / name(0, ".log"), "ab") as file:
        file.write(b"\x00" * 100)  # a size update that reached disk before the data
    log = reopen_log(disk)
    assert_log_holds(log, batches)
    assert os.path.getsize(directory / name(0, ".log")) == 5 * size


def snapshot_files(directory):
    return {n: (directory / n).read_bytes() for n in sorted(os.listdir(directory)) if "index" in n}


def test_deleted_indexes_are_rebuilt(disk):
    directory, batches, size = fill(disk, count=30, segment_batches=10, index_batches=2)
    before = snapshot_files(directory)
    assert len(before) == 3 * len([n for n in os.listdir(directory) if n.endswith(".log")]) >= 9  # .index, .timeindex, .txnindex
    assert any(len(data) > 0 for data in before.values())
    for file_name in before:
        os.unlink(directory / file_name)
    log = reopen_log(disk)
    assert_log_holds(log, batches)
    log.max_timestamp()   # a closed segment's indexes are read (and rebuilt) when first used
    assert snapshot_files(directory) == before


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data + b"\x01\x02\x03",  # not a whole number of entries
        lambda data: data[8:16] + data[:8] + data[16:],  # not monotonic
        lambda data: data[:-8] + struct.pack(">ii", 10**6, 10**6),  # beyond the log
        lambda data: data[:-8] + struct.pack(">ii", struct.unpack(">ii", data[-8:])[0], struct.unpack(">ii", data[-8:])[1] + 1),  # mid-batch
        lambda data: data + b"\x00" * 80,  # preallocated zeros
        lambda data: os.urandom(len(data)),
    ],
)
def test_damaged_offset_index_of_a_sealed_segment_is_rebuilt(disk, damage):
    directory, batches, size = fill(disk, count=30, segment_batches=10, index_batches=2)
    before = snapshot_files(directory)
    path = directory / name(0, ".index")
    assert len(path.read_bytes()) >= 16
    path.write_bytes(damage(path.read_bytes()))
    log = reopen_log(disk)
    log.max_timestamp()   # a closed segment's indexes are read (and rebuilt) when first used
    assert snapshot_files(directory) == before
    assert_log_holds(log, batches)
    assert [read_header(b).base_offset for b in read_all(log, 13, max_bytes=1)][:2] == [12, 14]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data + b"\x01",
        lambda data: data[12:24] + data[:12] + data[24:],
        lambda data: data[:-12] + struct.pack(">qi", 2**40, 10**6),
        lambda data: data + b"\x00" * 120,
        lambda data: b"",
    ],
)
def test_damaged_time_index_of_a_sealed_segment_is_rebuilt(disk, damage):
    directory, batches, size = fill(disk, count=30, segment_batches=10, index_batches=2)
    before = snapshot_files(directory)
    path = directory / name(0, ".timeindex")
    path.write_bytes(damage(path.read_bytes()))
    log = reopen_log(disk)
    log.max_timestamp()   # a closed segment's indexes are read (and rebuilt) when first used
    assert snapshot_files(directory) == before
    assert log.max_timestamp() == (59, 1030)  # batch 29, second record: 1000 + 29 + 1
    assert log.offset_for_timestamp(1005) == (9, 1005)


def test_unclean_shutdown_recovers_segments_after_the_last_snapshot(disk):
    directory, batches, size = fill(disk, count=30, segment_batches=10)
    segments = sorted(n for n in os.listdir(directory) if n.endswith(".log"))
    assert segments == [name(0, ".log"), name(20, ".log"), name(40, ".log")]
    # damage a sealed segment: trusted after a clean shutdown ...
    with open(directory / name(20, ".log"), "r+b") as file:
        file.seek(3 * size + 70)
        file.write(b"\xff")
    log = reopen_log(disk)
    assert log.log_end_offset == 60
    disk.storage.close()
    # ... checked when the shutdown was not clean and no snapshot vouches for it
    os.unlink(disk.data_dir / ".kbroker_clean_shutdown")
    for snapshot in directory.glob("*.snapshot"):
        snapshot.unlink()
    log = reopen_log(disk)
    assert_log_holds(log, batches[:13])
    assert sorted(n for n in os.listdir(directory) if n.endswith(".log")) == [name(0, ".log"), name(20, ".log")]
    assert log.append(batches[13], now_ms=1).base_offset == 26


def test_unclean_shutdown_with_snapshot_checks_only_from_it(disk):
    directory, batches, size = fill(disk, count=30, segment_batches=10)
    assert sorted(p.name for p in directory.glob("*.snapshot")) == [name(40, ".snapshot"), name(60, ".snapshot")]
    os.unlink(disk.data_dir / ".kbroker_clean_shutdown")
    # no producers: every snapshot holds the same empty state; make 20 the newest one
    os.rename(directory / name(40, ".snapshot"), directory / name(20, ".snapshot"))
    os.unlink(directory / name(60, ".snapshot"))
    for base in (0, 20):  # a flipped byte in batch 5 of segments 0 and 20
        with open(directory / name(base, ".log"), "r+b") as file:
            file.seek(5 * size + 70)
            file.write(b"\xff")
    log = reopen_log(disk)
    # segment 0 is before the recovery point and trusted; segment 20 is checked and cut
    assert log.log_end_offset == 30
    assert sorted(n for n in os.listdir(directory) if n.endswith(".log")) == [name(0, ".log"), name(20, ".log")]
    stored = read_all(log)
    assert len(stored) == 15
    assert stored[5][70] == 0xFF != batches[5][70]  # served as it is on disk
    assert all(same_batch(s, b, 2 * i) for i, (s, b) in enumerate(zip(stored, batches)) if i != 5)


def test_truncation_below_a_snapshot_rebuilds_producer_state(disk):
    storage = disk.open()
    storage.create_topic("t", 1)
    log = storage.partition("t", 0)
    batches = [make_batch(1, producer_id=9, producer_epoch=0, base_sequence=i, tag=i) for i in range(4)]
    for batch in batches:
        log.append(batch, now_ms=1)
    storage.close()
    directory = disk.data_dir / "t-0"
    assert sorted(p.name for p in directory.glob("*.snapshot")) == [name(4, ".snapshot")]
    size = len(batches[0])
    os.truncate(directory / name(0, ".log"), 3 * size + 5)
    log = reopen_log(disk)
    assert log.log_end_offset == 3
    assert sorted(p.name for p in directory.glob("*.snapshot")) == []
    # sequence 3 was lost with the tail: its retry is new data, not a duplicate
    result = log.append(batches[3], now_ms=1)
    assert (result.base_offset, result.duplicate) == (3, False)
    assert log.append(batches[3], now_ms=1).duplicate
    with pytest.raises(OutOfOrderSequenceError):
        log.append(make_batch(1, producer_id=9, producer_epoch=0, base_sequence=5), now_ms=1)


def test_leftovers_are_cleaned_and_an_empty_active_segment_is_fine(disk):
    directory, batches, size = fill(disk)
    (directory / name(10, ".log")).write_bytes(b"")  # a roll that crashed before its first append
    (directory / name(99, ".index")).write_bytes(b"\x00" * 8)  # an index without its log
    (directory / "00000000000000000003.snapshot.tmp").write_bytes(b"partial")
    log = reopen_log(disk)
    assert sorted(os.listdir(directory)) == sorted(
        [name(0, ".log"), name(0, ".index"), name(0, ".timeindex"), name(0, ".txnindex"), name(10, ".log"),
         name(10, ".index"), name(10, ".timeindex"), name(10, ".txnindex"), name(10, ".snapshot"),
         "partition.metadata"])
    assert_log_holds(log, batches)
    log.append(make_batch(1), now_ms=1)
    assert os.path.getsize(directory / name(10, ".log")) == len(make_batch(1))


def test_a_snapshot_that_does_not_parse_is_ignored(disk):
    directory, batches, size = fill(disk)
    (directory / name(10, ".snapshot")).write_bytes(b"KBPS\x00\x01garbage")
    log = reopen_log(disk)
    assert_log_holds(log, batches)


# ---------------------------------------------------------------- the active segment after a clean shutdown


def flip(path, position):
    with open(path, "r+b") as file:
        file.seek(position)
        byte = file.read(1)[0]
        file.seek(position)
        file.write(bytes([byte ^ 0xFF]))


def test_clean_shutdown_checks_the_active_segment_from_its_last_index_entry(disk):
    directory, batches, size = fill(disk, count=12, index_batches=2)
    assert [p for _, p in struct.iter_unpack(">ii", (directory / name(0, ".index")).read_bytes())] == [
        2 * size, 4 * size, 6 * size, 8 * size, 10 * size]
    flip(directory / name(0, ".log"), 11 * size + 70)  # after the last index entry: found
    flip(directory / name(0, ".log"), 3 * size + 70)  # before it: trusted, as Kafka trusts all
    log = reopen_log(disk)
    assert log.log_end_offset == 22
    stored = read_all(log)
    assert len(stored) == 11 and stored[3][70] != batches[3][70]


def test_a_bad_batch_at_the_last_index_entry_falls_back_to_a_full_check(disk):
    directory, batches, size = fill(disk, count=12, index_batches=2)
    before = snapshot_files(directory)
    flip(directory / name(0, ".log"), 10 * size + 70)
    flip(directory / name(0, ".log"), 7 * size + 70)
    log = reopen_log(disk)
    assert_log_holds(log, batches[:7])
    assert [p for _, p in struct.iter_unpack(">ii", (directory / name(0, ".index")).read_bytes())] == [
        2 * size, 4 * size, 6 * size]
    assert before[name(0, ".index")].startswith((directory / name(0, ".index")).read_bytes())


def test_a_torn_tail_after_the_last_index_entry_keeps_the_index(disk):
    directory, batches, size = fill(disk, count=12, index_batches=2)
    index_before = (directory / name(0, ".index")).read_bytes()
    os.truncate(directory / name(0, ".log"), 11 * size + 30)
    log = reopen_log(disk)
    assert_log_holds(log, batches[:11])
    assert (directory / name(0, ".index")).read_bytes() == index_before
    # the time index ends with the maximum of what is left: batch 10, offset 21
    times = list(struct.iter_unpack(">qi", (directory / name(0, ".timeindex")).read_bytes()))
    assert times[-1] == (1011, 21)
    assert log.max_timestamp() == (21, 1011)


@pytest.mark.parametrize("damage", [lambda data: data[:-3], lambda data: data[8:16] + data[:8] + data[16:], lambda data: b""])
def test_a_damaged_active_index_after_a_clean_shutdown_is_rebuilt(disk, damage):
    directory, batches, size = fill(disk, count=12, index_batches=2)
    before = snapshot_files(directory)
    path = directory / name(0, ".index")
    path.write_bytes(damage(path.read_bytes()))
    log = reopen_log(disk)
    log.max_timestamp()   # a closed segment's indexes are read (and rebuilt) when first used
    assert snapshot_files(directory) == before
    assert_log_holds(log, batches)


def test_appends_after_reopen_index_as_if_there_was_no_restart(disk, tmp_path):
    directory, batches, size = fill(disk, count=7, index_batches=2)
    log = reopen_log(disk)
    more = [make_batch(2, tag=i, value_bytes=40, timestamp=1000 + i) for i in range(7, 15)]
    for batch in more:
        log.append(batch, now_ms=1)
    disk.storage.close()
    # the same batches written without a restart
    from storage import Storage

    other = Storage.open(tmp_path / "other", disk.storage.defaults)
    other.create_topic("t", 1)
    for batch in batches + more:
        other.partition("t", 0).append(batch, now_ms=1)
    other.close()
    assert (directory / name(0, ".index")).read_bytes() == (tmp_path / "other" / "t-0" / name(0, ".index")).read_bytes()
