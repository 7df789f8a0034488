"""The cleaner's work on real segment files: what a round keeps, and the files it writes.

Segment files are written here byte for byte (batches with their offsets assigned), the cleaner
runs on them as it runs in its worker process, and the `.cleaned` files are read back.
"""

from __future__ import annotations

import os
import struct

import pytest

from storage import Compression, Record, build_batch, decode_records, iter_batches, read_header
from storage.cleaner import ATTR_DELETE_HORIZON, CleanJob, SegmentToClean, clean, cleaned_paths

NOW = 1_700_000_000_000
DAY = 86_400_000
PID, EPOCH = 4000, 3


def rec(key, value, timestamp=NOW - DAY):
    return Record(timestamp=timestamp, key=None if key is None else key.encode(),
                  value=None if value is None else value.encode())


class Log:
    """Segment files written by hand: batches get consecutive offsets, as appends give them."""

    def __init__(self, directory):
        self.directory = str(directory)
        self.segments: list[SegmentToClean] = []
        self.batches: list[bytes] = []
        self.next_offset = 0
        self._open: tuple[int, list[bytes]] | None = None

    def batch(self, *records, **kwargs) -> bytes:
        if self._open is None:
            self._open = (self.next_offset, [])
        data = build_batch(records, base_offset=self.next_offset, partition_leader_epoch=0, **kwargs)
        self._open[1].append(data)
        self.batches.append(data)
        self.next_offset = read_header(data).last_offset + 1
        return data

    def roll(self) -> None:
        base, batches = self._open
        path = os.path.join(self.directory, f"{base:020d}.log")
        with open(path, "wb") as file:
            file.write(b"".join(batches))
        self.segments.append(SegmentToClean(base, os.path.getsize(path), self.next_offset, path=path))
        self._open = None

    def plan(self, *, first_dirty=0, upper=None, now=NOW, delete_retention_ms=DAY, segment_bytes=1 << 30,
             index_interval_bytes=4096, max_map_entries=1 << 20, active_producers=None, tail=()):
        return CleanJob(
            topic="t", partition=0, directory=self.directory, segments=list(self.segments), first_dirty_offset=first_dirty,
            first_uncleanable_offset=self.next_offset if upper is None else upper, now_ms=now,
            delete_retention_ms=delete_retention_ms, segment_bytes=segment_bytes,
            index_interval_bytes=index_interval_bytes, max_map_entries=max_map_entries,
            active_producers=active_producers or {}, tail=list(tail))


def cleaned_batches(directory, base_offset=0) -> list[bytes]:
    with open(cleaned_paths(str(directory), base_offset)[0], "rb") as file:
        return [bytes(b) for b in iter_batches(file.read())]


def kept(batches) -> list[tuple[int, str | None, str | None]]:
    """(offset, key, value) of every record, each batch's CRC checked."""
    return [(r.offset, r.key and r.key.decode(), r.value and r.value.decode())
            for b in batches for r in decode_records(b, verify_crc=True)]


def as_next_round(log: Log, directory, result) -> Log:
    """A Log whose segments are the cleaned files of a round (renamed into place)."""
    again = Log(directory)
    for cleaned in result.segments:
        paths = cleaned_paths(str(directory), cleaned.base_offset)
        final = [p[: -len(".cleaned")] for p in paths]
        for old, new in zip(paths, final):
            os.replace(old, new)
        again.segments.append(SegmentToClean(cleaned.base_offset, cleaned.size, cleaned.next_offset, path=final[0]))
    again.next_offset = log.next_offset
    return again


# -- what stays --------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", list(Compression))
def test_the_newest_record_of_each_key_stays_with_its_offset(tmp_path, codec):
    log = Log(tmp_path)
    log.batch(rec("a", "a1"), rec("b", "b1"), rec("c", "c1"), compression=codec)
    log.batch(rec("a", "a2"), rec("d", "d1"), compression=codec)
    log.roll()
    log.batch(rec("b", "b2"), rec("a", "a3"), compression=codec)
    log.roll()
    result = clean(log.plan())
    assert result.end_offset == 7
    [segment] = result.segments
    assert (segment.base_offset, segment.replaced, segment.next_offset) == (0, (0, 5), 7)
    batches = cleaned_batches(tmp_path)
    assert kept(batches) == [(2, "c", "c1"), (4, "d", "d1"), (5, "b", "b2"), (6, "a", "a3")]
    # each batch keeps its base offset and last offset delta, in its own codec
    assert [(read_header(b).base_offset, read_header(b).last_offset, read_header(b).compression)
            for b in batches] == [(0, 2, codec), (3, 4, codec), (5, 6, codec)]
    assert [read_header(b).records_count for b in batches] == [1, 1, 2]
    assert segment.size == sum(map(len, batches)) == os.path.getsize(cleaned_paths(str(tmp_path), 0)[0])


def test_a_batch_whose_records_all_stay_is_copied_unchanged(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "old"))
    untouched = log.batch(rec("b", "b"), rec("c", "c"), compression=Compression.LZ4)
    log.batch(rec("a", "new"))
    log.roll()
    clean(log.plan())
    assert cleaned_batches(tmp_path)[0] == untouched


def test_timestamps_survive_a_rewrite(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1", NOW - 50), rec("b", "1", NOW - 40), rec("c", "1", NOW - 30))
    log.batch(rec("a", "2", NOW - 20))
    log.roll()
    result = clean(log.plan())
    records = [r for b in cleaned_batches(tmp_path) for r in decode_records(b)]
    assert [(r.offset, r.timestamp) for r in records] == [(1, NOW - 40), (2, NOW - 30), (3, NOW - 20)]
    assert read_header(cleaned_batches(tmp_path)[0]).max_timestamp == NOW - 30
    assert (result.segments[0].max_timestamp, result.segments[0].offset_of_max_timestamp) == (NOW - 20, 3)


def test_records_without_a_key_go(tmp_path):
    log = Log(tmp_path)
    log.batch(rec(None, "x"), rec("a", "1"), rec(None, "y"))
    log.roll()
    clean(log.plan())
    assert kept(cleaned_batches(tmp_path)) == [(1, "a", "1")]


def test_the_clean_section_is_compacted_against_the_dirty_one(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"), rec("b", "1"))
    log.roll()
    log.batch(rec("a", "2"))
    log.roll()
    # offsets 0-1 were cleaned by an earlier round: only [2, 3) is mapped
    result = clean(log.plan(first_dirty=2))
    assert result.end_offset == 3
    assert kept(cleaned_batches(tmp_path)) == [(1, "b", "1"), (2, "a", "2")]


def test_a_full_map_ends_the_round_early_and_keeps_what_lies_past_it(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"), rec("b", "1"))
    log.batch(rec("a", "2"), rec("b", "2"))
    log.batch(rec("c", "1"), rec("a", "3"))
    log.roll()
    result = clean(log.plan(max_map_entries=2))
    assert result.end_offset == 4   # the map holds a and b from the first two batches
    assert kept(cleaned_batches(tmp_path)) == [(2, "a", "2"), (3, "b", "2"), (4, "c", "1"), (5, "a", "3")]


def test_segments_are_grouped_up_to_segment_bytes(tmp_path):
    log = Log(tmp_path)
    for i in range(6):
        log.batch(rec(f"k{i}", "v"))
        log.roll()
    size = log.segments[0].size
    result = clean(log.plan(segment_bytes=2 * size))
    assert [(s.base_offset, s.replaced, s.next_offset) for s in result.segments] == [
        (0, (0, 1), 2), (2, (2, 3), 4), (4, (4, 5), 6)]
    assert [kept(cleaned_batches(tmp_path, s.base_offset)) for s in result.segments] == [
        [(0, "k0", "v"), (1, "k1", "v")], [(2, "k2", "v"), (3, "k3", "v")], [(4, "k4", "v"), (5, "k5", "v")]]


def test_each_cleaned_segment_keeps_its_last_batch(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"))
    log.batch(rec("a", "2"), rec("b", "1"))
    log.roll()
    log.batch(rec("a", "3"), rec("b", "2"))
    log.roll()
    log.batch(rec("c", "1"))
    log.roll()
    result = clean(log.plan(segment_bytes=log.segments[0].size))
    # the first segment's records are all superseded: its last batch stays, empty, so the
    # cleaned segment still ends where the next one begins
    assert [(s.base_offset, s.next_offset) for s in result.segments] == [(0, 3), (3, 6)]
    first = cleaned_batches(tmp_path, 0)
    assert [(read_header(b).base_offset, read_header(b).last_offset, read_header(b).records_count)
            for b in first] == [(1, 2, 0)]
    assert kept(cleaned_batches(tmp_path, 3)) == [(3, "a", "3"), (4, "b", "2"), (5, "c", "1")]


def test_the_last_batch_of_the_round_stays_empty(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"), rec("b", "1"))
    log.batch(rec("a", "2"), rec("b", "2"))
    log.batch(rec("a", "3"), rec("b", "3"))
    log.roll()
    log.batch(rec("a", "4"), rec("b", "4"))   # the uncleanable part of the log: offsets 6-7
    log.roll()
    result = clean(log.plan(upper=6))
    assert result.end_offset == 6
    batches = cleaned_batches(tmp_path)
    assert kept(batches) == [(4, "a", "3"), (5, "b", "3")]
    assert [read_header(b).last_offset for b in batches] == [5]


# -- tombstones ----------------------------------------------------------------------------------


def test_tombstones_get_a_delete_horizon_then_go_after_it(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"), rec("b", "1"))
    log.batch(rec("a", None, NOW - 5), rec("c", "1", NOW - 4))
    log.roll()
    first = clean(log.plan(now=NOW, delete_retention_ms=1000))
    batches = cleaned_batches(tmp_path)
    assert kept(batches) == [(1, "b", "1"), (2, "a", None), (3, "c", "1")]
    header = read_header(batches[1])
    assert header.attributes & ATTR_DELETE_HORIZON
    assert header.base_timestamp == NOW + 1000   # the horizon is the base timestamp (KIP-534)
    assert [r.timestamp for r in decode_records(batches[1])] == [NOW - 5, NOW - 4]
    assert not read_header(batches[0]).attributes & ATTR_DELETE_HORIZON

    again = as_next_round(log, tmp_path, first)
    clean(again.plan(now=NOW + 999, delete_retention_ms=1000))   # before the horizon: kept, horizon kept
    assert kept(cleaned_batches(tmp_path)) == [(1, "b", "1"), (2, "a", None), (3, "c", "1")]
    assert read_header(cleaned_batches(tmp_path)[1]).base_timestamp == NOW + 1000
    clean(again.plan(now=NOW + 1000, delete_retention_ms=1000))
    assert kept(cleaned_batches(tmp_path)) == [(1, "b", "1"), (3, "c", "1")]


def test_records_past_a_full_map_stay(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"))
    log.batch(rec("b", None), rec("a", "2"))
    log.roll()
    result = clean(log.plan(max_map_entries=1))
    assert result.end_offset == 1
    assert kept(cleaned_batches(tmp_path)) == [(0, "a", "1"), (1, "b", None), (2, "a", "2")]


# -- producers and transactions --------------------------------------------------------------------


def test_the_last_batch_of_an_active_producer_stays_as_an_empty_header(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"), rec("b", "1"), producer_id=PID, producer_epoch=EPOCH, base_sequence=7)
    log.batch(rec("a", "2"), rec("b", "2"))
    log.roll()
    log.batch(rec("z", "z"))
    log.roll()
    clean(log.plan(upper=5, active_producers={PID: (1, EPOCH)}))
    batches = cleaned_batches(tmp_path)
    header = read_header(batches[0])
    assert (header.base_offset, header.last_offset, header.records_count) == (0, 1, 0)
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (PID, EPOCH, 7)
    assert header.base_timestamp == -1 and header.compression == Compression.NONE
    assert kept(batches) == [(2, "a", "2"), (3, "b", "2"), (4, "z", "z")]
    # a producer no longer active: its emptied batch goes
    clean(log.plan(upper=5))
    assert [read_header(b).base_offset for b in cleaned_batches(tmp_path)] == [2, 4]


def control_batch(kind: int, timestamp=NOW - DAY) -> list:
    return [Record(timestamp=timestamp, key=struct.pack(">hh", 0, kind), value=struct.pack(">hi", 0, 0))]


def test_aborted_transactions_go_and_their_marker_after_its_horizon(tmp_path):
    log = Log(tmp_path)
    txn = dict(producer_id=PID, producer_epoch=EPOCH, is_transactional=True)
    log.batch(rec("a", "aborted"), base_sequence=0, **txn)
    log.batch(rec("b", "plain"))
    log.batch(*control_batch(0), is_control=True, **txn)        # ABORT, offset 2
    log.batch(rec("c", "committed"), base_sequence=1, **txn)
    log.batch(*control_batch(1), is_control=True, **txn)        # COMMIT, offset 4
    log.roll()
    log.batch(rec("d", "d"))
    log.roll()
    first = clean(log.plan(upper=6, now=NOW, delete_retention_ms=1000))
    batches = cleaned_batches(tmp_path)
    assert kept(batches)[:1] == [(1, "b", "plain")]
    # the aborted batch goes; its marker stays while this round still saw the transaction's data
    assert [read_header(b).base_offset for b in batches] == [1, 2, 3, 4, 5]
    assert not any(read_header(b).attributes & ATTR_DELETE_HORIZON for b in batches)

    second = clean(as_next_round(log, tmp_path, first).plan(upper=6, now=NOW, delete_retention_ms=1000))
    batches = cleaned_batches(tmp_path)
    # now the abort marker's transaction has no data left: it gets its delete horizon; the commit
    # marker stays as it is while its transaction's batch is there
    assert read_header(batches[1]).attributes & ATTR_DELETE_HORIZON
    assert read_header(batches[1]).base_timestamp == NOW + 1000
    assert not read_header(batches[3]).attributes & ATTR_DELETE_HORIZON

    third = as_next_round(log, tmp_path, second)
    clean(third.plan(upper=6, now=NOW + 999, delete_retention_ms=1000))
    assert [read_header(b).base_offset for b in cleaned_batches(tmp_path)] == [1, 2, 3, 4, 5]
    clean(third.plan(upper=6, now=NOW + 1000, delete_retention_ms=1000))
    assert [read_header(b).base_offset for b in cleaned_batches(tmp_path)] == [1, 3, 4, 5]


def test_cleaning_stops_before_an_open_transaction(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"))
    log.roll()
    log.batch(rec("a", "2"), producer_id=PID, producer_epoch=EPOCH, base_sequence=0, is_transactional=True)
    log.roll()
    log.batch(rec("a", "3"))
    log.roll()
    result = clean(log.plan())
    # only the segment below the open transaction is cleaned (the rest waits for its marker)
    assert result.end_offset == 1
    assert [s.replaced for s in result.segments] == [(0,)]


# -- the files ---------------------------------------------------------------------------------------


def test_index_files_point_at_the_batches(tmp_path):
    log = Log(tmp_path)
    for i in range(200):
        log.batch(rec(f"k{i % 50}", "v" * 100), rec(f"x{i}", "w" * 100))
    log.roll()
    result = clean(log.plan(index_interval_bytes=1024))
    log_path, index_path, time_path = cleaned_paths(str(tmp_path), 0)
    data = open(log_path, "rb").read()
    entries = list(struct.iter_unpack(">ii", open(index_path, "rb").read()))
    assert len(entries) > 10
    for relative, position in entries:
        header = read_header(data, position)
        assert header.base_offset <= relative <= header.last_offset
    assert [p for _, p in entries] == sorted(p for _, p in entries)
    times = list(struct.iter_unpack(">qi", open(time_path, "rb").read()))
    assert times[-1] == (result.segments[0].max_timestamp, result.segments[0].offset_of_max_timestamp)
    assert [t for t, _ in times] == sorted(set(t for t, _ in times))


def test_the_memory_engine_gets_the_same_batches_back(tmp_path):
    log = Log(tmp_path)
    log.batch(rec("a", "1"), rec("b", "1"), compression=Compression.ZSTD)
    log.batch(rec("a", None), rec("c", "1"))
    log.roll()
    log.batch(rec("c", "2"), producer_id=PID, producer_epoch=EPOCH, base_sequence=0)
    log.roll()
    on_disk = clean(log.plan())
    in_memory = CleanJob(**{**log.plan().__dict__, "directory": None, "segments": [
        SegmentToClean(s.base_offset, s.size, s.next_offset, batches=[bytes(b) for b in iter_batches(
            open(s.path, "rb").read())]) for s in log.segments]})
    result = clean(in_memory)
    assert [s.batches for s in result.segments] == [cleaned_batches(tmp_path)]
    assert result.end_offset == on_disk.end_offset
    assert [(s.base_offset, s.replaced, s.size) for s in result.segments] == [
        (s.base_offset, s.replaced, s.size) for s in on_disk.segments]
