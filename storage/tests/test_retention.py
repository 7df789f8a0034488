"""Retention (Kafka's UnifiedLog.deleteOldSegments), the log start offset (DeleteRecords) and its
checkpoint, deleted files kept for file.delete.delay.ms, flush.messages and flush.ms."""

from __future__ import annotations

import os

import pytest

from storage import (
    LogConfig,
    NullKeyError,
    OffsetOutOfRangeError,
    PolicyViolationError,
    Record,
    build_batch,
    iter_batches,
    read_header,
)
from storage.checkpoints import format_checkpoint, parse_checkpoint
from storage.codecs import Compression
from storage.config import LogManagerConfig
from storage.log_manager import LogManager

from .helpers import make_batch, read_all

NOW = 1_700_000_000_000
DAY_MS = 86_400_000


def filled(engine, count: int = 6, *, per_segment: int = 2, timestamp: int = NOW, configs=None, **defaults):
    """Topic "t" with count two-record batches, per_segment batches per segment, the k-th
    batch's records stamped timestamp + k * 1000 and + 1 (a segment's newest record decides its age)."""
    batches = [make_batch(2, tag=k, value_bytes=40, timestamp=timestamp + k * 1000) for k in range(count)]
    storage = engine.open(LogConfig(segment_bytes=per_segment * len(make_batch(2, value_bytes=40)), **defaults))
    storage.create_topic("t", 1, configs or {})
    log = storage.partition("t", 0)
    for batch in batches:
        log.append(batch, now_ms=NOW)
    return log


def bases(log) -> list[int]:
    return [segment.base_offset for segment in log.segments]


def log_files(engine, suffix=".log") -> list[str]:
    return sorted(n for n in os.listdir(engine.data_dir / "t-0") if n.endswith(suffix))


# -- retention.ms ----------------------------------------------------------------------------

def test_retention_ms_deletes_the_segments_older_than_it(engine):
    log = filled(engine, configs={"retention.ms": str(DAY_MS)})
    assert bases(log) == [0, 4, 8]
    # segment 0's newest record is NOW + 1001, segment 4's NOW + 3001
    assert log.delete_old_segments(NOW + 1001 + DAY_MS) == 0   # not older than retention.ms: kept
    assert log.delete_old_segments(NOW + 1002 + DAY_MS) == 1
    assert (bases(log), log.log_start_offset, log.log_end_offset) == ([4, 8], 4, 12)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(3, 1 << 20)
    assert read_header(read_all(log)[0]).base_offset == 4


def test_an_idle_topic_ages_out_whole(engine):
    """Kafka deletes an active segment that is due as well, after rolling an empty one."""
    log = filled(engine, count=5, configs={"retention.ms": str(DAY_MS)})
    assert bases(log) == [0, 4, 8]
    assert log.delete_old_segments(NOW + 10 * DAY_MS) == 3
    assert (bases(log), log.log_start_offset, log.log_end_offset) == ([10], 10, 10)
    assert log.read(10, 1 << 20).size == 0
    assert log.append(make_batch(1), now_ms=NOW).base_offset == 10
    assert log.delete_old_segments(NOW + 20 * DAY_MS) == 1   # never the empty active segment
    assert bases(log) == [11]


@pytest.mark.parametrize("configs", [{"retention.ms": "-1"}, {"cleanup.policy": "compact", "retention.ms": "1"}])
def test_no_retention_by_time(engine, configs):
    log = filled(engine, configs=configs)
    assert log.delete_old_segments(NOW + 100 * DAY_MS) == 0
    assert bases(log) == [0, 4, 8]


# -- retention.bytes ---------------------------------------------------------------------------

@pytest.mark.parametrize("retention_segments,log_start", [(3, 0), (2.5, 0), (2, 4), (1.5, 4), (1, 8), (0, 12)])
def test_retention_bytes_deletes_the_oldest_segments_the_log_can_do_without(engine, retention_segments, log_start):
    """As Kafka: a segment goes only if the log is still at least retention.bytes without it
    (the active segment too: a 0 leaves an empty log)."""
    log = filled(engine)   # three full segments
    engine.storage.alter_topic_configs("t", {"retention.bytes": str(int(retention_segments * log.segments[0].size))})
    log.delete_old_segments(NOW)
    assert (log.log_start_offset, log.segments[0].base_offset) == (log_start, log_start)


def test_retention_bytes_minus_one_is_unlimited(engine):
    log = filled(engine, configs={"retention.bytes": "-1"})
    assert log.delete_old_segments(NOW) == 0


# -- the log start offset ------------------------------------------------------------------------

def test_delete_records_moves_the_log_start_for_every_reader(engine):
    log = filled(engine)
    assert log.delete_records(5) == 5
    with pytest.raises(OffsetOutOfRangeError):
        log.read(4, 1 << 20)
    # the batch holding offset 5 comes back whole; the client skips offset 4
    assert read_header(split_first(log.read(5, 1 << 20))).base_offset == 4
    assert log.offset_for_timestamp(0) == (5, NOW + 2001)   # nothing below the start is found
    assert log.delete_records(3) == 5                        # never backwards
    assert log.delete_records(-1) == 12                      # -1: the high watermark
    assert log.read(12, 1 << 20).size == 0
    with pytest.raises(OffsetOutOfRangeError):
        log.delete_records(13)
    with pytest.raises(OffsetOutOfRangeError):
        log.delete_records(-2)


def test_delete_records_needs_the_delete_policy(engine):
    log = filled(engine, configs={"cleanup.policy": "compact"})
    with pytest.raises(PolicyViolationError, match="can not be deleted due to the configured policy"):
        log.delete_records(2)
    assert log.log_start_offset == 0


def test_segments_below_the_log_start_go_at_the_next_retention_check(engine):
    log = filled(engine, configs={"retention.ms": "-1"})
    log.delete_records(9)
    assert bases(log) == [0, 4, 8]
    assert log.delete_old_segments(NOW) == 2
    assert (bases(log), log.log_start_offset) == ([8], 9)


def test_the_log_start_survives_a_reopen(disk):
    log = filled(disk)
    log.delete_records(6)
    assert log.delete_old_segments(NOW) == 1
    log = disk.reopen().partition("t", 0)
    assert (bases(log), log.log_start_offset) == ([4, 8], 6)
    assert parse_checkpoint((disk.data_dir / "log-start-offset-checkpoint").read_text()) == {("t", 0): 6}


def test_the_log_start_survives_a_crash_once_checkpointed(disk):
    log = filled(disk)
    log.delete_records(7)
    disk.storage.checkpoint_log_start_offsets()
    disk.storage.close()
    os.unlink(disk.data_dir / ".kbroker_clean_shutdown")   # as if the process had died
    log = disk.open(disk.storage.defaults).partition("t", 0)
    assert log.log_start_offset == 7


def test_a_checkpointed_start_past_the_log_end_is_the_log_end(disk):
    filled(disk)
    disk.storage.close()
    (disk.data_dir / "log-start-offset-checkpoint").write_text("0\n1\nt 0 500\n")
    log = disk.open(disk.storage.defaults).partition("t", 0)
    assert (log.log_start_offset, log.log_end_offset) == (12, 12)


def test_checkpoint_files_are_kafkas_text():
    text = format_checkpoint({("orders", 1): 800, ("orders", 0): 1200, ("a-b.c", 12): 0}).decode()
    assert text == "0\n3\na-b.c 12 0\norders 0 1200\norders 1 800\n"
    assert parse_checkpoint(text) == {("orders", 0): 1200, ("orders", 1): 800, ("a-b.c", 12): 0}
    for bad in ("", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt x 1\n"):
        with pytest.raises(ValueError):
            parse_checkpoint(bad)


# -- deleted files -------------------------------------------------------------------------------

def test_deleted_segments_wait_for_file_delete_delay_ms(disk):
    log = filled(disk, configs={"retention.ms": str(DAY_MS), "file.delete.delay.ms": "5000"})
    later = NOW + 2 * DAY_MS
    assert log.delete_old_segments(later) == 3
    assert log_files(disk) == [f"{12:020d}.log"]
    deleted = log_files(disk, ".deleted")
    assert deleted == sorted(f"{base:020d}{suffix}.deleted" for base in (0, 4, 8)
                             for suffix in (".index", ".log", ".timeindex"))
    assert log.take_deleted_files(later + 4999) == []
    due = log.take_deleted_files(later + 5000)
    assert sorted(os.path.basename(p) for p in due) == deleted
    assert log.take_deleted_files(later + 5000) == []


def test_a_read_under_way_outlives_the_deletion_of_its_segment(disk):
    log = filled(disk, configs={"retention.ms": str(DAY_MS), "file.delete.delay.ms": "0"})
    reading = log.read(0, 1 << 20)   # file ranges, as a fetch holds them until sendfile is done
    expected = reading.read_bytes()
    log.delete_old_segments(NOW + 2 * DAY_MS)
    for path in set(log.take_deleted_files(NOW + 2 * DAY_MS)):
        os.unlink(path)
    assert log_files(disk, ".deleted") == []
    assert reading.read_bytes() == expected


def test_leftover_deleted_files_go_at_open(disk):
    log = filled(disk, configs={"retention.ms": str(DAY_MS)})
    log.delete_old_segments(NOW + 2 * DAY_MS)
    assert log_files(disk, ".deleted")
    disk.reopen()
    assert log_files(disk, ".deleted") == []


def test_the_log_manager_leaves_a_log_being_cleaned_alone(engine):
    log = filled(engine, configs={"retention.ms": str(DAY_MS)})
    manager = LogManager(engine.storage)
    log.cleaning = True
    assert manager.delete_old_segments(NOW + 2 * DAY_MS) == 0
    log.cleaning = False
    assert manager.delete_old_segments(NOW + 2 * DAY_MS) == 3


# -- flushing ------------------------------------------------------------------------------------

def test_flush_messages_counts_records(engine):
    log = filled(engine, count=0, configs={"flush.messages": "5"})
    log.append(make_batch(2), now_ms=NOW)
    log.append(make_batch(2), now_ms=NOW)
    assert log.unflushed_messages == 4
    log.append(make_batch(2), now_ms=NOW)
    assert log.unflushed_messages == 0   # 6 >= 5: flushed


def test_flush_ms_makes_a_log_due(engine):
    log = filled(engine, count=0, configs={"flush.ms": "100"})
    manager = LogManager(engine.storage)
    log.append(make_batch(2), now_ms=NOW)
    assert manager.logs_to_flush(NOW + 99) == []
    assert manager.logs_to_flush(NOW + 100) == [log]
    assert manager.shortest_flush_ms() == 100
    if engine.disk:
        for fd in log.flush_fds(NOW + 100):
            os.fsync(fd)
            os.close(fd)
    else:
        log.flush(NOW + 100)
    assert manager.logs_to_flush(NOW + 1000) == []


# -- keys on a compacted topic --------------------------------------------------------------------

@pytest.mark.parametrize("compression", [Compression.NONE, Compression.ZSTD])
def test_a_compacted_topic_refuses_records_without_a_key(engine, compression):
    log = filled(engine, count=0, configs={"cleanup.policy": "compact,delete"})
    records = [Record(timestamp=NOW, key=k, value=b"v") for k in (b"a", None, b"c", None)]
    with pytest.raises(NullKeyError) as refused:
        log.append(build_batch(records, compression=compression), now_ms=NOW)
    assert [i for i, _ in refused.value.record_errors] == [1, 3]
    assert refused.value.record_errors[0][1] == "Compacted topic cannot accept message without key in topic partition t-0"
    assert str(refused.value).startswith("One or more records have been rejected due to 2 record errors in total")
    assert log.log_end_offset == 0
    assert log.append(build_batch(records[:1], compression=compression), now_ms=NOW).base_offset == 0


def test_other_topics_take_records_without_a_key(engine):
    log = filled(engine, count=0)
    assert log.append(build_batch([Record(timestamp=NOW, value=b"v")]), now_ms=NOW).base_offset == 0


def split_first(result) -> bytes:
    """The first batch of a read."""
    return bytes(next(iter_batches(result.read_bytes())))


def test_idle_producers_expire(engine):
    log = filled(engine, count=0)
    for producer_id, timestamp in ((7, NOW), (8, NOW + 5000)):
        log.append(make_batch(1, timestamp=timestamp, producer_id=producer_id, producer_epoch=0, base_sequence=0),
                   now_ms=NOW)
    assert LogManager(engine.storage, LogManagerConfig(producer_id_expiration_ms=10_000)).remove_expired_producers(
        NOW + 10_000) == 1
    assert list(log.producer_state.producers) == [8]


def test_segments_deleted_right_after_a_reopen_take_their_index_files(disk):
    """Closed segments read their indexes when first used: deleting one that was not used
    still renames (and then removes) all its files."""
    filled(disk, configs={"retention.ms": str(DAY_MS), "file.delete.delay.ms": "0"})
    log = disk.reopen().partition("t", 0)
    assert log.delete_records(5) == 5
    assert log.delete_old_segments(NOW) == 1
    assert log_files(disk, ".deleted") == [f"{0:020d}{s}.deleted" for s in (".index", ".log", ".timeindex", ".txnindex")]
    for path in log.take_deleted_files(NOW):
        os.unlink(path)
    assert sorted(n for n in os.listdir(disk.data_dir / "t-0") if n.startswith(f"{0:020d}")) == []


@pytest.mark.parametrize("compression", [Compression.NONE, Compression.LZ4])
def test_newest_by_key_is_what_a_compacted_topic_comes_to(engine, compression):
    log = filled(engine, count=0, configs={"segment.bytes": "300"})
    writes = [(b"a", b"1"), (b"b", b"2"), (None, b"no key"), (b"a", b"3"), (b"c", b"4"), (b"b", None),
              (b"k" * 200, b"v" * 300)]   # long key and value: varints of two bytes
    for i in range(0, len(writes), 2):
        records = [Record(timestamp=NOW + i + j, key=k, value=v) for j, (k, v) in enumerate(writes[i:i + 2])]
        log.append(build_batch(records, compression=compression), now_ms=NOW)
    assert log.newest_by_key(chunk_bytes=100) == {
        b"a": (3, b"3"), b"b": (5, None), b"c": (4, b"4"), b"k" * 200: (6, b"v" * 300)}
    log.delete_records(4)
    assert log.newest_by_key() == {b"b": (5, None), b"c": (4, b"4"), b"k" * 200: (6, b"v" * 300)}
