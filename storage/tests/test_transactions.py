"""Transactions in the log: the last stable offset, markers, the transaction index (.txnindex)
and the open-transaction state that survives a restart."""

from __future__ import annotations

import os
import struct

import pytest

from storage import InvalidProducerEpochError, LogConfig, Record, build_batch, read_header
from storage.control import ControlType, Marker, build_marker, marker_of
from storage.errors import InvalidRecordError, InvalidTxnStateError, TransactionCoordinatorFencedError
from storage.producer_state import ProducerStateManager
from storage.records import decode_records
from storage.txn_index import ENTRY_BYTES, AbortedTxn

from .helpers import make_batch, read_all, split

PID, OTHER = 7, 8


def txn(log, count, sequence, *, pid=PID, epoch=0, now_ms=1):
    """A transactional batch of the producer; returns its base offset."""
    batch = make_batch(count, producer_id=pid, producer_epoch=epoch, base_sequence=sequence, is_transactional=True)
    return log.append(batch, now_ms=now_ms).base_offset


def open_log(engine, **config):
    storage = engine.open(LogConfig(**config))
    storage.create_topic("t", 1)
    return storage.partition("t", 0)


def reopened(engine):
    return engine.reopen().partition("t", 0)


def values(batches):
    return [r.value for b in batches for r in decode_records(b) if not read_header(b).is_control]


def test_a_marker_is_the_control_batch_kafka_writes():
    batch = build_marker(PID, 3, 5, committed=True, timestamp_ms=1234)
    header = read_header(batch)
    assert (header.attributes, header.producer_id, header.producer_epoch, header.base_sequence) == (0x30, PID, 3, -1)
    assert (header.records_count, header.base_timestamp, header.max_timestamp) == (1, 1234, 1234)
    [record] = decode_records(batch, verify_crc=True)
    assert record.key == struct.pack(">hh", 0, 1) and record.value == struct.pack(">hi", 0, 5)
    assert marker_of(batch) == Marker(ControlType.COMMIT, 5)
    assert marker_of(build_marker(PID, 3, 0, committed=False, timestamp_ms=1)) == Marker(ControlType.ABORT, 0)


def test_open_transactions_hold_the_last_stable_offset(engine):
    log = open_log(engine)
    log.append(make_batch(2), now_ms=1)                     # 0-1, not transactional
    assert log.last_stable_offset == 2
    assert txn(log, 3, 0) == 2                               # 2-4: PID's transaction opens at 2
    assert txn(log, 1, 0, pid=OTHER) == 5                    # 5: OTHER's opens at 5
    txn(log, 2, 3)                                           # 6-7
    assert (log.last_stable_offset, log.high_watermark) == (2, 8)
    log.append_marker(PID, 0, 0, committed=True, now_ms=2)   # 8
    assert log.last_stable_offset == 5
    log.append_marker(OTHER, 0, 0, committed=False, now_ms=2)  # 9
    assert log.last_stable_offset == log.log_end_offset == 10
    assert log.aborted_transactions(0, 10) == [AbortedTxn(OTHER, 5, 9, 10)]


def test_only_aborted_transactions_are_indexed_with_the_lso_they_leave(engine):
    log = open_log(engine)
    txn(log, 2, 0)                                           # 0-1 PID
    txn(log, 1, 0, pid=OTHER)                                # 2 OTHER
    log.append_marker(PID, 0, 0, committed=False, now_ms=2)  # 3: OTHER still open at 2
    txn(log, 1, 2)                                           # 4: PID's next transaction, same epoch
    log.append_marker(OTHER, 0, 0, committed=True, now_ms=2)  # 5
    log.append_marker(PID, 0, 0, committed=False, now_ms=2)  # 6
    assert log.aborted_transactions(0, 7) == [AbortedTxn(PID, 0, 3, 2), AbortedTxn(PID, 4, 6, 7)]
    assert log.aborted_transactions(4, 5) == [AbortedTxn(PID, 4, 6, 7)]
    assert log.aborted_transactions(0, 1) == [AbortedTxn(PID, 0, 3, 2)]   # LSO 2 > 1: the search stops
    assert log.aborted_transactions(7, 8) == []


def test_a_marker_without_an_open_transaction_changes_nothing_but_is_written(engine):
    log = open_log(engine)
    result = log.append_marker(PID, 2, 0, committed=True, now_ms=5)
    assert (result.base_offset, log.log_end_offset, log.last_stable_offset) == (0, 1, 1)
    assert log.aborted_transactions(0, 1) == []
    assert log.producer_state.producers[PID].producer_epoch == 2


def test_read_stops_at_max_offset_and_says_where_it_ended(engine):
    log = open_log(engine, segment_bytes=400)               # several segments
    for i in range(6):
        log.append(make_batch(1, tag=i, value_bytes=100), now_ms=1)
    open_at = txn(log, 1, 0)                                 # 6
    log.append(make_batch(1, tag=9), now_ms=1)               # 7, after the open transaction
    lso = log.last_stable_offset
    assert lso == open_at == 6
    whole = log.read(0, 1 << 20, max_offset=lso)
    assert [read_header(b).base_offset for b in split(whole.read_bytes())] == list(range(6))
    assert whole.next_offset == 6 and whole.last_stable_offset == 6
    some = log.read(2, 300, max_offset=lso)                 # batches of ~180 bytes: one fits
    assert [read_header(b).base_offset for b in split(some.read_bytes())] == [2]
    assert some.next_offset == 3
    past = log.read(5, 1 << 20, max_offset=lso)              # the last segment before the LSO
    assert [read_header(b).base_offset for b in split(past.read_bytes())] == [5] and past.next_offset == 6
    assert log.read(6, 1 << 20, max_offset=lso).size == 0
    assert log.read(7, 1 << 20, max_offset=lso).next_offset == 7
    everything = log.read(0, 1 << 20)
    assert everything.next_offset == 8 and len(split(everything.read_bytes())) == 8


def test_a_producer_with_an_open_transaction_cannot_write_outside_it(engine):
    log = open_log(engine)
    txn(log, 1, 0)
    with pytest.raises(InvalidTxnStateError):
        log.append(make_batch(1, producer_id=PID, producer_epoch=0, base_sequence=1), now_ms=1)
    log.append_marker(PID, 0, 0, committed=True, now_ms=1)
    log.append(make_batch(1, producer_id=PID, producer_epoch=0, base_sequence=1), now_ms=1)


def test_clients_may_not_write_control_batches(engine):
    log = open_log(engine)
    with pytest.raises(InvalidRecordError, match="not allowed to write control records"):
        log.append(build_marker(PID, 0, 0, committed=True, timestamp_ms=1), now_ms=1)
    assert log.log_end_offset == 0


def test_markers_of_fenced_epochs_and_old_coordinators_are_refused(engine):
    log = open_log(engine)
    txn(log, 1, 0, epoch=3)
    with pytest.raises(InvalidProducerEpochError):
        log.append_marker(PID, 2, 0, committed=False, now_ms=1)
    log.append_marker(PID, 4, 7, committed=False, now_ms=1)   # a fence: the epoch bumped by the coordinator
    with pytest.raises(TransactionCoordinatorFencedError):
        log.append_marker(PID, 4, 6, committed=False, now_ms=1)
    with pytest.raises(InvalidProducerEpochError):           # the zombie
        log.append(make_batch(1, producer_id=PID, producer_epoch=3, base_sequence=1, is_transactional=True), now_ms=1)
    assert log.log_end_offset == 2


def test_transactional_offset_commits_from_the_coordinator_skip_sequences(engine):
    log = open_log(engine)
    batch = build_batch([Record(timestamp=1, key=b"k", value=b"v")], producer_id=PID, producer_epoch=0,
                        is_transactional=True)
    log.append(batch, now_ms=1, from_coordinator=True)
    log.append(batch, now_ms=1, from_coordinator=True)       # no sequence, no duplicate detection
    assert (log.log_end_offset, log.last_stable_offset) == (2, 0)
    log.append_marker(PID, 0, 0, committed=True, now_ms=1)
    assert log.last_stable_offset == 3


def test_open_transactions_and_the_index_survive_a_restart(engine):
    log = open_log(engine, segment_bytes=300)
    txn(log, 1, 0)                                           # 0
    for i in range(4):
        log.append(make_batch(1, tag=i, value_bytes=100), now_ms=1)
    txn(log, 1, 0, pid=OTHER)                                # 5
    log.append_marker(PID, 0, 0, committed=False, now_ms=1)  # 6, in a later segment than 0
    log = reopened(engine)
    assert log.last_stable_offset == 5
    assert log.aborted_transactions(0, 7) == [AbortedTxn(PID, 0, 6, 5)]
    assert log.producer_state.producers[OTHER].current_txn_first_offset == 5
    log.append_marker(OTHER, 0, 0, committed=True, now_ms=1)
    assert reopened(engine).last_stable_offset == 8


def txn_files(directory):
    return {n: (directory / n).read_bytes() for n in sorted(os.listdir(directory)) if n.endswith(".txnindex")}


def test_the_txnindex_file_is_kafkas_format(disk):
    log = open_log(disk)
    txn(log, 2, 0)
    log.append_marker(PID, 0, 0, committed=False, now_ms=1)
    directory = disk.data_dir / "t-0"
    data = (directory / "00000000000000000000.txnindex").read_bytes()
    assert len(data) == ENTRY_BYTES and data == struct.pack(">hqqqq", 0, PID, 0, 2, 3)


def fill_with_transactions(disk):
    """Three segments; aborted transactions whose data and markers are in different segments."""
    log = open_log(disk, segment_bytes=350)
    txn(log, 1, 0)                                           # 0
    for i in range(3):
        log.append(make_batch(1, tag=i, value_bytes=100), now_ms=1)
    log.append_marker(PID, 0, 0, committed=False, now_ms=1)  # 4
    txn(log, 1, 0, pid=OTHER)                                # 5
    txn(log, 1, 1)                                           # 6
    log.append_marker(OTHER, 0, 0, committed=True, now_ms=1)
    for i in range(3):
        log.append(make_batch(1, tag=i, value_bytes=100), now_ms=1)
    log.append_marker(PID, 0, 0, committed=False, now_ms=1)
    return log


@pytest.mark.parametrize("clean", [True, False])
def test_a_lost_txnindex_is_rebuilt_from_the_log(disk, clean):
    log = fill_with_transactions(disk)
    directory = disk.data_dir / "t-0"
    before = txn_files(directory)
    expected = log.aborted_transactions(0, log.log_end_offset)
    assert len(before) >= 3 and sum(len(data) for data in before.values()) == 2 * ENTRY_BYTES
    disk.storage.close()
    for file_name in before:
        os.unlink(directory / file_name)
    if not clean:
        os.unlink(disk.data_dir / ".kbroker_clean_shutdown")
    log = disk.open().partition("t", 0)
    assert txn_files(directory) == before
    assert log.aborted_transactions(0, log.log_end_offset) == expected


def test_a_torn_txnindex_entry_is_rebuilt(disk):
    fill_with_transactions(disk)
    directory = disk.data_dir / "t-0"
    before = txn_files(directory)
    disk.storage.close()
    name = next(n for n, data in before.items() if data)
    (directory / name).write_bytes(before[name][:-5])
    disk.open()
    assert txn_files(directory) == before


def test_entries_a_crash_lost_after_the_last_snapshot_come_back(disk):
    fill_with_transactions(disk)
    directory = disk.data_dir / "t-0"
    before = txn_files(directory)
    last = sorted(n for n, data in before.items() if data)[-1]
    disk.storage.close()
    (directory / last).write_bytes(b"")                      # the entry never reached the file
    os.unlink(disk.data_dir / ".kbroker_clean_shutdown")
    for snapshot in sorted(n for n in os.listdir(directory) if n.endswith(".snapshot"))[-1:]:
        os.unlink(directory / snapshot)                      # the close snapshot never came either
    disk.open()
    assert txn_files(directory) == before


def test_a_cut_log_cuts_the_txnindex(disk):
    log = open_log(disk)
    txn(log, 1, 0)
    log.append_marker(PID, 0, 0, committed=False, now_ms=1)  # 1
    txn(log, 1, 1)
    log.append_marker(PID, 0, 0, committed=False, now_ms=1)  # 3
    directory = disk.data_dir / "t-0"
    disk.storage.close()
    os.unlink(disk.data_dir / ".kbroker_clean_shutdown")
    for snapshot in [n for n in os.listdir(directory) if n.endswith(".snapshot")]:
        os.unlink(directory / snapshot)
    path = directory / "00000000000000000000.log"
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) - 10)           # the last marker is torn
    log = disk.open().partition("t", 0)
    assert log.log_end_offset == 3 and log.last_stable_offset == 2
    assert log.aborted_transactions(0, 3) == [AbortedTxn(PID, 0, 1, 2)]
    assert len(txn_files(directory)["00000000000000000000.txnindex"]) == ENTRY_BYTES


def test_a_version_1_snapshot_is_still_read():
    state = ProducerStateManager()
    state.update(read_header(make_batch(1, producer_id=PID, producer_epoch=2, base_sequence=0)), 10, 99)
    v2 = state.to_snapshot()
    body = bytearray(v2[10:])
    # version 1: producer_id, epoch, last_timestamp, batch_count (no coordinator epoch, no txn offset)
    v1_body = body[:4] + body[4:4 + 18] + body[4 + 18 + 12:]
    from storage.crc import crc32c
    v1 = struct.pack(">4shI", b"KBPS", 1, crc32c(bytes(v1_body))) + bytes(v1_body)
    loaded = ProducerStateManager.from_snapshot(v1)
    entry = loaded.producers[PID]
    assert (entry.producer_epoch, entry.last_timestamp, entry.coordinator_epoch, entry.current_txn_first_offset) == \
        (2, 99, -1, -1)
    assert list(entry.batches) == list(state.producers[PID].batches)


def test_control_batches_read_back_whole_with_the_data(engine):
    log = open_log(engine)
    txn(log, 2, 0)
    log.append_marker(PID, 0, 0, committed=True, now_ms=1)
    batches = read_all(log)
    assert [read_header(b).is_control for b in batches] == [False, True]
    assert values(batches) == [r.value for r in decode_records(make_batch(2))]
