"""Idempotent producers: duplicates, sequence gaps, epochs, state that survives a restart."""

from __future__ import annotations

import pytest

from storage import InvalidProducerEpochError, LogConfig, OutOfOrderSequenceError, read_header
from storage.producer_state import ProducerStateManager

from .helpers import make_batch, read_all

PID = 1000


def produce(log, count, sequence, epoch=0, pid=PID, now_ms=1, **kwargs):
    batch = make_batch(count, producer_id=pid, producer_epoch=epoch, base_sequence=sequence, **kwargs)
    return log.append(batch, now_ms=now_ms)


def open_log(engine, **config):
    storage = engine.open(LogConfig(**config))
    storage.create_topic("t", 1)
    return storage.partition("t", 0)


def reopened(engine):
    return engine.reopen().partition("t", 0)


def test_duplicate_retry_returns_the_original_offsets(engine):
    log = open_log(engine)
    log.append(make_batch(2), now_ms=1)  # a non-idempotent batch first: offsets 0-1
    first = produce(log, 3, 0)  # offsets 2-4, sequences 0-2
    assert (first.base_offset, first.last_offset, first.duplicate) == (2, 4, False)
    produce(log, 2, 3)  # 5-6, sequences 3-4
    for _ in range(2):
        retry = produce(log, 3, 0)
        assert (retry.base_offset, retry.last_offset, retry.duplicate) == (2, 4, True)
        assert retry.log_append_time_ms == -1
        assert log.log_end_offset == 7
        log = reopened(engine)  # and again after a restart
    assert len(read_all(log)) == 3
    assert produce(log, 1, 5).base_offset == 7


def test_only_the_last_five_batches_are_remembered(engine):
    log = open_log(engine)
    for i in range(7):
        produce(log, 1, i)
    for sequence in range(2, 7):
        assert produce(log, 1, sequence).duplicate
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 1, 1)  # too old to be recognised
    assert log.log_end_offset == 7


def test_sequence_gap_is_out_of_order(engine):
    log = open_log(engine)
    produce(log, 2, 0)
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 1, 3)  # 2 expected
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 1, 1)  # overlaps, not a retry of a known batch
    assert produce(log, 1, 2).base_offset == 2
    log = reopened(engine)
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 1, 4)
    assert produce(log, 1, 3).base_offset == 3


def test_old_epoch_is_fenced(engine):
    log = open_log(engine)
    produce(log, 1, 0, epoch=5)
    with pytest.raises(InvalidProducerEpochError):
        produce(log, 1, 1, epoch=4)
    log = reopened(engine)
    with pytest.raises(InvalidProducerEpochError):
        produce(log, 1, 0, epoch=4)
    assert log.log_end_offset == 1


def test_new_epoch_must_start_at_zero(engine):
    log = open_log(engine)
    produce(log, 3, 0, epoch=1)
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 1, 3, epoch=2)
    assert produce(log, 2, 0, epoch=2).base_offset == 3
    # a retry of the old epoch's batch is now an old epoch, not a duplicate
    with pytest.raises(InvalidProducerEpochError):
        produce(log, 3, 0, epoch=1)
    assert produce(log, 1, 2, epoch=2).base_offset == 5


def test_unknown_producer_is_accepted_at_any_sequence(engine):
    log = open_log(engine)
    assert produce(log, 2, 17, epoch=3).base_offset == 0
    assert produce(log, 1, 19, epoch=3).base_offset == 2
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 1, 21, epoch=3)
    # producers are independent
    assert produce(log, 1, 500, pid=PID + 1).base_offset == 3
    log = reopened(engine)
    assert produce(log, 1, 20, epoch=3).base_offset == 4
    assert produce(log, 1, 501, pid=PID + 1).base_offset == 5


def test_sequence_wraps_around_int32(engine):
    log = open_log(engine)
    top = 2**31 - 1
    produce(log, 2, top - 1)  # sequences 2147483646, 2147483647
    result = produce(log, 3, 0)  # wraps to 0..2
    assert (result.base_offset, result.last_offset) == (2, 4)
    log = reopened(engine)
    assert produce(log, 3, 0).duplicate
    assert produce(log, 1, 3).base_offset == 5
    # a batch that itself wraps: base 2147483647, 2 records -> last sequence 0
    engine.storage.create_topic("w", 1)
    log2 = engine.storage.partition("w", 0)
    produce(log2, 1, top - 2)
    produce(log2, 2, top - 1)  # 2147483646, 2147483647
    produce(log2, 2, 0)  # 0, 1
    wrap = make_batch(3, producer_id=7, producer_epoch=0, base_sequence=top)
    assert log2.append(wrap, now_ms=1).last_offset == 7
    assert produce(log2, 1, 2, pid=7).base_offset == 8


def test_several_batches_of_one_producer_in_one_append(engine):
    log = open_log(engine)
    both = make_batch(2, producer_id=PID, producer_epoch=0, base_sequence=0) + make_batch(
        3, producer_id=PID, producer_epoch=0, base_sequence=2, tag=1)
    assert log.append(both, now_ms=1).last_offset == 4
    gap = make_batch(1, producer_id=PID, producer_epoch=0, base_sequence=5) + make_batch(
        1, producer_id=PID, producer_epoch=0, base_sequence=7, tag=1)
    with pytest.raises(OutOfOrderSequenceError):
        log.append(gap, now_ms=1)
    assert log.log_end_offset == 5
    assert produce(log, 3, 2).duplicate


def test_duplicate_of_log_append_time_batch_returns_its_append_time(engine):
    storage = engine.open()
    storage.create_topic("t", 1, {"message.timestamp.type": "LogAppendTime"})
    log = storage.partition("t", 0)
    assert produce(log, 1, 0, now_ms=1234).log_append_time_ms == 1234
    retry = produce(log, 1, 0, now_ms=9999)
    assert (retry.duplicate, retry.log_append_time_ms, retry.base_offset) == (True, 1234, 0)


def test_state_rebuilt_from_the_log_without_snapshots(disk):
    log = open_log(disk, segment_bytes=400)
    for i in range(20):
        produce(log, 2, 2 * i, now_ms=i)
    disk.storage.close()
    for path in (disk.data_dir / "t-0").glob("*.snapshot"):
        path.unlink()
    log = disk.open().partition("t", 0)
    assert produce(log, 2, 38).duplicate
    assert produce(log, 1, 40).base_offset == 40
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 1, 42)


def test_snapshot_round_trip_and_damage():
    def header(count, pid, epoch, sequence):
        return read_header(make_batch(count, producer_id=pid, producer_epoch=epoch, base_sequence=sequence))

    state = ProducerStateManager()
    state.update(header(5, 5, 1, 0), 100, 77)
    state.update(header(1, 5, 1, 5), 105, 78)
    state.update(header(1, 6, 0, 9), 106, 79)
    data = state.to_snapshot()
    again = ProducerStateManager.from_snapshot(data)
    assert {pid: (e.producer_epoch, list(e.batches), e.last_timestamp) for pid, e in again.producers.items()} == {
        5: (1, [(0, 4, 100, 104, 77), (5, 5, 105, 105, 78)], 78),
        6: (0, [(9, 9, 106, 106, 79)], 79),
    }
    for damaged in (data[:-1], data[:10], b"XXXX" + data[4:], data[:-1] + bytes([data[-1] ^ 1])):
        with pytest.raises(ValueError):
            ProducerStateManager.from_snapshot(damaged)
