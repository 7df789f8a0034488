"""What a replicated partition needs of its log, on both engines: a high watermark below the
log end that bounds reads, leader epochs written into batches and kept in Kafka's
leader-epoch-checkpoint, a follower's append of the leader's batches as they are, and
truncation of a tail that diverged from the leader."""

from __future__ import annotations

import os

import pytest

from storage import CorruptRecordError, InvalidRecordError, LogConfig, read_header
from storage.epochs import LEADER_EPOCH_CHECKPOINT, LeaderEpochCache

from .helpers import corrupt, make_batch, read_all, split


def open_log(engine, **config):
    storage = engine.open(LogConfig(**config))
    storage.create_topic("t", 1)
    return storage.partition("t", 0)


def leader_log(engine, epochs_and_counts, **config):
    """A log written by leaders: for each (epoch, batches) the epoch starts at the log end
    and that many 3-record batches are appended with it."""
    log = open_log(engine, **config)
    for epoch, batches in epochs_and_counts:
        log.epochs.assign(epoch, log.log_end_offset)
        log.leader_epoch = epoch
        for i in range(batches):
            log.append(make_batch(3, tag=epoch * 100 + i), now_ms=1)
    return log


# -- the high watermark ------------------------------------------------------------------

def test_high_watermark_follows_the_log_end_until_set(engine):
    log = open_log(engine)
    log.append(make_batch(3), now_ms=1)
    assert (log.high_watermark, log.last_stable_offset) == (3, 3)
    log.set_high_watermark(0)
    log.append(make_batch(2), now_ms=1)
    assert (log.log_end_offset, log.high_watermark, log.last_stable_offset) == (5, 0, 0)
    log.set_high_watermark(99)   # never past the log end
    assert log.high_watermark == 5
    log.set_high_watermark(None)
    log.append(make_batch(1), now_ms=1)
    assert log.high_watermark == 6


@pytest.mark.parametrize("segment_bytes", [1 << 20, 200])
def test_reads_stop_at_max_offset(engine, segment_bytes):
    log = open_log(engine, segment_bytes=segment_bytes)
    for i in range(6):
        log.append(make_batch(2, tag=i), now_ms=1)   # batches at 0, 2, 4, 6, 8, 10
    for max_offset in (2, 4, 6, 10, 12):
        got = split(log.read(0, 1 << 20, max_offset).read_bytes())
        assert [read_header(b).base_offset for b in got] == list(range(0, max_offset, 2))
    assert log.read(4, 1 << 20, 4).size == 0
    assert [read_header(b).base_offset for b in split(log.read(4, 1 << 20, 8).read_bytes())] == [4, 6]
    assert log.read(0, 1 << 20).size == sum(map(len, read_all(log)))


# -- leader epochs -----------------------------------------------------------------------

def test_batches_carry_the_leader_epoch_and_the_cache_answers_where_epochs_end(engine):
    log = leader_log(engine, [(0, 2), (3, 1), (5, 2)])   # epoch 0 at 0, 3 at 6, 5 at 9; end 15
    assert [read_header(b).partition_leader_epoch for b in read_all(log)] == [0, 0, 3, 5, 5]
    cache = log.epochs
    assert cache.entries() == [(0, 0), (3, 6), (5, 9)]
    assert cache.end_offset_for(5, log.log_end_offset) == (5, 15)
    assert cache.end_offset_for(4, log.log_end_offset) == (3, 9)     # the largest epoch below, to where 5 starts
    assert cache.end_offset_for(0, log.log_end_offset) == (0, 6)
    assert cache.end_offset_for(6, log.log_end_offset) == (-1, -1)
    assert cache.end_offset_for(-1, log.log_end_offset) == (-1, -1)
    assert cache.epoch_for_offset(7) == 3


def test_the_epoch_cache_is_kept_in_the_partition_directory(disk):
    log = leader_log(disk, [(1, 1), (4, 1)])
    path = os.path.join(log.directory, LEADER_EPOCH_CHECKPOINT)
    with open(path) as file:
        assert file.read() == "0\n2\n1 0\n4 3\n"
    log = disk.reopen().partition("t", 0)
    assert log.epochs.entries() == [(1, 0), (4, 3)]


def test_an_epoch_that_never_got_data_gives_way(engine):
    log = open_log(engine)
    cache = log.epochs
    assert cache.assign(2, 0)
    assert cache.assign(3, 0)   # epoch 2 led nothing: 3 replaces it at the same offset
    assert not cache.assign(1, 5)   # older epochs are ignored
    assert cache.entries() == [(3, 0)]


def test_a_malformed_checkpoint_is_an_empty_cache(tmp_path):
    (tmp_path / LEADER_EPOCH_CHECKPOINT).write_text("0\n2\n1 0\n")
    assert LeaderEpochCache(str(tmp_path)).entries() == []


# -- a follower's append -------------------------------------------------------------------

def test_a_follower_appends_the_leaders_batches_as_they_are(engine, tmp_path):
    leader = leader_log(engine, [(0, 2), (7, 2)])
    data = leader.read(0, 1 << 20).read_bytes()
    follower_storage = type(engine)(engine.kind, tmp_path / "follower")
    try:
        follower = open_log(follower_storage)
        assert follower.append_replicated(data[:50], now_ms=1) == 0     # a partial batch waits
        assert follower.append_replicated(data, now_ms=1) == 12
        assert follower.read(0, 1 << 20).read_bytes() == data
        assert follower.epochs.entries() == [(0, 0), (7, 6)]
        with pytest.raises(InvalidRecordError):
            follower.append_replicated(data, now_ms=1)   # offsets below the log end
        with pytest.raises(CorruptRecordError):
            follower.append_replicated(corrupt(split(leader.read(9, 1 << 20).read_bytes())[0], 70), now_ms=1)
    finally:
        follower_storage.close()


def test_a_follower_keeps_producer_state(engine, tmp_path):
    leader = open_log(engine)
    leader.append(make_batch(2, producer_id=9, producer_epoch=0, base_sequence=0), now_ms=1)
    follower_storage = type(engine)(engine.kind, tmp_path / "follower")
    try:
        follower = open_log(follower_storage)
        follower.append_replicated(leader.read(0, 1 << 20).read_bytes(), now_ms=1)
        # as leader after a failover, the follower knows the producer's retry is a duplicate
        retry = follower.append(make_batch(2, producer_id=9, producer_epoch=0, base_sequence=0), now_ms=1)
        assert retry.duplicate and retry.base_offset == 0
    finally:
        follower_storage.close()


# -- truncation --------------------------------------------------------------------------------

@pytest.mark.parametrize("segment_bytes", [1 << 20, 300])
def test_truncation_cuts_at_the_batch_holding_the_offset(engine, segment_bytes):
    log = leader_log(engine, [(0, 3), (2, 3)], segment_bytes=segment_bytes)   # 18 records, epoch 2 at 9
    log.set_high_watermark(18)
    log.truncate_to(10)    # inside the batch 9..11: it goes
    assert log.log_end_offset == 9
    assert log.high_watermark == 9
    assert log.epochs.entries() == [(0, 0)]
    assert [read_header(b).base_offset for b in read_all(log)] == [0, 3, 6]
    log.leader_epoch = 4
    log.epochs.assign(4, 9)
    assert log.append(make_batch(2), now_ms=1).base_offset == 9
    assert [read_header(b).partition_leader_epoch for b in read_all(log)] == [0, 0, 0, 4]
    log.truncate_to(50)   # beyond the end: nothing
    assert log.log_end_offset == 11
    if engine.disk:
        log = engine.reopen().partition("t", 0)
        assert log.log_end_offset == 11 and log.epochs.entries() == [(0, 0), (4, 9)]
        assert len(read_all(log)) == 4


def test_truncation_rebuilds_producer_state(engine):
    log = open_log(engine)
    log.append(make_batch(1, producer_id=5, producer_epoch=0, base_sequence=0), now_ms=1)
    log.append(make_batch(1, producer_id=5, producer_epoch=0, base_sequence=1), now_ms=1)
    log.truncate_to(1)
    again = log.append(make_batch(1, producer_id=5, producer_epoch=0, base_sequence=1), now_ms=1)
    assert not again.duplicate and again.base_offset == 1   # the cut batch is not remembered


def test_truncate_fully_starts_the_log_elsewhere(engine):
    log = leader_log(engine, [(1, 2)])
    log.truncate_fully(40)
    assert (log.log_start_offset, log.log_end_offset, log.epochs.entries()) == (40, 40, [])
    assert log.append(make_batch(1), now_ms=1).base_offset == 40


# -- transactions on a replica -----------------------------------------------------------

def transactional(count: int, sequence: int, pid: int = 5):
    return make_batch(count, producer_id=pid, producer_epoch=0, base_sequence=sequence, is_transactional=True)


def test_a_follower_learns_transactions_from_the_markers_it_copies(engine, tmp_path):
    leader = open_log(engine)
    leader.append(transactional(2, 0), now_ms=1)                      # 0-1, aborted at 2
    leader.append_marker(5, 0, 0, committed=False, now_ms=1)
    leader.append(transactional(3, 2), now_ms=1)                      # 3-5, still open
    follower_storage = type(engine)(engine.kind, tmp_path / "follower")
    try:
        follower = open_log(follower_storage)
        follower.append_replicated(leader.read(0, 1 << 20).read_bytes(), now_ms=1)
        # as leader after a failover: the same aborted transactions and the same open one
        assert follower.aborted_transactions(0, 10) == leader.aborted_transactions(0, 10) != []
        assert follower.last_stable_offset == leader.last_stable_offset == 3
        follower.append_marker(5, 0, 0, committed=True, now_ms=1)      # the new leader ends it
        assert follower.last_stable_offset == 7
    finally:
        follower_storage.close()


def test_truncation_below_a_marker_reopens_its_transaction(engine):
    log = open_log(engine)
    log.append(transactional(2, 0), now_ms=1)                         # 0-1
    log.append_marker(5, 0, 0, committed=False, now_ms=1)             # 2: aborted
    assert log.aborted_transactions(0, 10) != [] and log.last_stable_offset == 3
    log.truncate_to(2)   # the marker was a tail the new leader never had
    assert log.aborted_transactions(0, 10) == []
    assert log.last_stable_offset == 0   # the transaction is open again, as on the new leader
    assert log.log_end_offset == 2
