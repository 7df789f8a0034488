"""The log cleaner's work on files (Kafka's Cleaner): compaction of a partition's closed segments.

`clean(plan)` reads closed segment files and writes their compacted replacements beside them as
`<base>.log.cleaned`, `<base>.index.cleaned` and `<base>.timeindex.cleaned` (fsynced); the log
swaps them in (`.swap`, then the final names) and keeps the old files as `.deleted` for
file.delete.delay.ms. It takes plain values and returns plain values and touches no open log, so
it runs in a worker process, off the event loop: records are decoded here (their bytes in
cleaner_records.py) and nowhere else on the way in or out.

A round, as Kafka's:
1. The offset map: key -> offset of its newest record, over the dirty section
   [first_dirty_offset, first_uncleanable_offset), until `max_map_entries` keys (then the round
   ends where the map ended). Aborted transactional batches are left out of it.
2. Every segment from the start of the log to the end of the map, in groups that fit one
   segment (segment.bytes, and an offset range an index can hold), is copied into one
   cleaned segment, batch by batch:
   - a record stays if it is the newest of its key (or past the map), and it is not a
     tombstone whose delete horizon has passed; a record without a key goes;
   - a batch whose records all stay is copied as it is. Otherwise it is written again in its
     own codec, with its base offset, last offset delta, producer id, epoch and base sequence
     unchanged, so offsets keep their gaps and a producer's sequence stays valid. Kafka takes
     the first kept record's timestamp as the new base timestamp; this keeps the old one (the
     records' timestamps are the same either way, and the kept records are copied unparsed);
   - a batch with tombstones (or a marker of a transaction that left no data) gets its delete
     horizon, now + delete.retention.ms, in its base timestamp with attribute bit 0x40
     (KIP-534); a later round drops them once that time has passed;
   - an emptied batch goes, except the last batch of a producer that is still active (its
     sequence and epoch must survive), the last batch of the round (the log's last offset
     must survive) and the last batch of each cleaned segment (segments stay contiguous, each
     ending where the next begins): those stay as a header without records;
   - transactional batches of aborted transactions go; markers stay until their transaction's
     batches are gone and their delete horizon has passed (Kafka's CleanedTransactionMetadata).
3. The result names each cleaned segment and the segments it replaced, the abort markers whose
   aborted transactions its transaction index keeps (those that still had batches: Kafka's
   cleanedIndex), and `end_offset`, the first offset not cleaned (the cleaner-offset-checkpoint).
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from collections import deque
from dataclasses import dataclass, field

from .cleaner_records import (
    ATTR_DELETE_HORIZON,
    all_records,
    empty_batch,
    filter_dense_records,
    filter_records,
    kept_max_timestamp,
    map_dense_records,
    map_records,
    rebuild,
    records_of,
    varint,
)
from .codecs import decompress
from .errors import CorruptRecordError
from .records import (
    ATTR_COMPRESSION_MASK,
    ATTR_CONTROL,
    ATTR_TIMESTAMP_TYPE,
    ATTR_TRANSACTIONAL,
    ATTRIBUTES,
    BASE_OFFSET,
    BASE_TIMESTAMP,
    BATCH_LENGTH,
    HEADER,
    HEADER_BYTES,
    HEADER_PREFIX,
    LAST_OFFSET_DELTA,
    LOG_OVERHEAD,
    MAX_TIMESTAMP,
    PRODUCER_EPOCH,
    PRODUCER_ID,
    RECORDS_COUNT,
)

CLEANED_SUFFIX = ".cleaned"
CONTROL_ABORT, CONTROL_COMMIT = 0, 1
INT32_MAX = 2**31 - 1
# Memory of one offset-map entry in this process (a dict slot, a key of ~16 bytes, an int):
# log.cleaner.dedupe.buffer.size / this = the keys one round maps, as Kafka's buffer / 24.
MAP_ENTRY_BYTES = 128

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_CONTROL_KEY = struct.Struct(">hh")
_WRITE_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True)
class SegmentToClean:
    """A closed segment as the cleaner reads it: base offset, size (bytes to read), next_offset
    (the base offset of the segment after it), and either the `.log` path (file engine) or the
    batches themselves (memory engine)."""

    base_offset: int
    size: int
    next_offset: int
    path: str | None = None
    batches: list[bytes] | None = None


@dataclass(frozen=True)
class CleanJob:
    """What one round cleans, taken from the log when the round starts.

    segments: the closed segments from the log's first up to first_uncleanable_offset (a
    segment boundary). directory: where the cleaned files go (None: the memory engine, the
    cleaned batches come back in the result). tail: the later segments, active one included,
    at their size then; read only for the markers of transactions that began in `segments`.
    active_producers: producer id -> (last offset of its last data batch or -1, epoch), from
    the producer state (Kafka's lastRecordsOfActiveProducers).
    """

    topic: str
    partition: int
    directory: str | None
    segments: list[SegmentToClean]
    first_dirty_offset: int
    first_uncleanable_offset: int
    now_ms: int
    delete_retention_ms: int
    segment_bytes: int
    index_interval_bytes: int
    max_map_entries: int
    active_producers: dict[int, tuple[int, int]] = field(default_factory=dict)
    tail: list[SegmentToClean] = field(default_factory=list)


@dataclass(frozen=True)
class CleanedSegment:
    """A cleaned segment replacing the segments whose base offsets are `replaced` (its own
    first). File engine: written as `<base_offset>.{log,index,timeindex}.cleaned` in the job's
    directory; memory engine: its batches."""

    base_offset: int
    replaced: tuple[int, ...]
    size: int
    next_offset: int  # the replaced segments' end: the base offset of the segment after them
    max_timestamp: int
    offset_of_max_timestamp: int
    batches: list[bytes] | None = None
    # the offsets of the abort markers it keeps whose transaction still has batches in the log:
    # its transaction index holds those aborted transactions and no others (an entry whose
    # marker went, or whose batches all went, would make a read_committed consumer drop the
    # producer's later records while it waits for a marker that is no longer there)
    aborted_markers: tuple[int, ...] = ()


@dataclass
class CleanResult:
    end_offset: int  # the first offset not cleaned: the new cleaner-offset-checkpoint
    segments: list[CleanedSegment] = field(default_factory=list)
    map_records_read: int = 0
    map_bytes_read: int = 0
    records_read: int = 0
    bytes_read: int = 0
    records_kept: int = 0
    bytes_written: int = 0
    cpu_seconds: float = 0.0


def cleaned_paths(directory: str, base_offset: int) -> tuple[str, str, str]:
    """The .log, .index and .timeindex paths of a cleaned segment (with the .cleaned suffix)."""
    stem = os.path.join(directory, f"{base_offset:020d}")
    return (stem + ".log" + CLEANED_SUFFIX, stem + ".index" + CLEANED_SUFFIX, stem + ".timeindex" + CLEANED_SUFFIX)


def clean(plan: CleanJob) -> CleanResult:
    """Run one cleaning round (in a worker: it only reads and writes files)."""
    started = time.process_time()
    result = CleanResult(end_offset=plan.first_dirty_offset)
    aborted, first_unstable = _collect_transactions(plan)
    upper = plan.first_uncleanable_offset
    if first_unstable is not None and first_unstable < upper:
        upper = max(plan.first_dirty_offset, _segment_base_at(plan.segments, first_unstable))
    segments = [s for s in plan.segments if s.base_offset < upper]
    if not segments or upper <= plan.first_dirty_offset:
        result.cpu_seconds = time.process_time() - started
        return result

    offset_map, latest_offset = _build_offset_map(plan, segments, upper, aborted, result)
    end_offset = latest_offset + 1
    result.end_offset = max(end_offset, plan.first_dirty_offset)
    state = _Transactions(aborted)
    for group in _group_segments(segments, end_offset, plan.segment_bytes, upper):
        result.segments.append(_clean_group(plan, group, offset_map, latest_offset, upper, state, result))
    result.cpu_seconds = time.process_time() - started
    return result


WORKER_NICE = 10  # the cleaner's CPU priority in its worker process (0 is the broker's)


def clean_in_worker(plan: CleanJob) -> CleanResult:
    """clean(plan) in a worker process (anyio.to_process), at nice WORKER_NICE: on a busy
    machine the broker's own process and its clients get the CPU first, as Kafka bounds its
    cleaner with log.cleaner.io.max.bytes.per.second. Measured (bench/log_life.py): cleaning
    in a worker thread of the broker's process made an event loop wake 13 ms late at p99,
    holding the GIL; in a worker process 0.2 ms, as with no cleaning at all."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICE)
    except (OSError, AttributeError):
        pass
    return clean(plan)


# ---------------------------------------------------------------- transactions


def _segment_base_at(segments, offset: int) -> int:
    base = segments[0].base_offset if segments else offset
    for segment in segments:
        if segment.base_offset <= offset:
            base = segment.base_offset
    return base


def _control_type(batch: bytes) -> int | None:
    """The control record type (ABORT 0, COMMIT 1, ...) of a control batch; None if it has none."""
    header = HEADER.unpack_from(batch, 0)
    if header[RECORDS_COUNT] <= 0:
        return None
    data = batch[HEADER_BYTES:]
    codec = header[ATTRIBUTES] & ATTR_COMPRESSION_MASK
    if codec:
        data = decompress(codec, data)
    _, p = varint(data, 0)  # record length
    p += 1  # attributes
    _, p = varint(data, p)  # timestamp delta
    _, p = varint(data, p)  # offset delta
    key_length, p = varint(data, p)
    if key_length < _CONTROL_KEY.size:
        return None
    return _CONTROL_KEY.unpack_from(data, p)[1]


def _collect_transactions(plan: CleanJob) -> tuple[list[tuple[int, int]], int | None]:
    """Aborted transactions [(producer id, first offset)] with data in the plan's segments, and
    the first offset of a transaction still open (no marker yet), from the batch headers: what
    Kafka reads from its transaction indexes. The tail is read only while one is open."""
    if not any(_has_transactional(segment) for segment in plan.segments):
        return [], None
    open_first: dict[int, int] = {}
    aborted = []
    for i, segment in enumerate(list(plan.segments) + list(plan.tail)):
        if i >= len(plan.segments) and not open_first:
            break
        for batch, header in _walk(segment):
            attributes = header[ATTRIBUTES]
            if not attributes & ATTR_TRANSACTIONAL:
                continue
            producer_id = header[PRODUCER_ID]
            if not attributes & ATTR_CONTROL:
                open_first.setdefault(producer_id, header[BASE_OFFSET])
                continue
            first = open_first.pop(producer_id, None)
            if first is not None and _control_type(batch) == CONTROL_ABORT:
                aborted.append((producer_id, first))
    return aborted, min(open_first.values(), default=None)


def _has_transactional(segment: SegmentToClean) -> bool:
    """Whether any batch of the segment is transactional: a walk over the headers alone."""
    if segment.batches is not None:
        return any(HEADER.unpack_from(b, 0)[ATTRIBUTES] & ATTR_TRANSACTIONAL for b in segment.batches)
    if segment.size < HEADER_BYTES:
        return False
    with open(segment.path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        size = min(segment.size, len(mapped))
        position = 0
        unpack = HEADER_PREFIX.unpack_from
        while size - position >= HEADER_PREFIX.size:
            front = unpack(mapped, position)
            if front[ATTRIBUTES] & ATTR_TRANSACTIONAL:
                return True
            position += LOG_OVERHEAD + front[BATCH_LENGTH]
    return False


class _Transactions:
    """Kafka's CleanedTransactionMetadata: which transactional batches belong to aborted
    transactions, and which markers may go, as the cleaner walks the log in offset order."""

    def __init__(self, aborted: list[tuple[int, int]]) -> None:
        self._pending = deque(sorted(aborted, key=lambda t: t[1]))  # (producer id, first offset)
        self._aborted: dict[int, list] = {}  # producer id -> [last batch offset seen or None]
        self._committed: set[int] = set()
        self.indexed: list[int] = []  # abort markers kept with their transaction's batches (to index)

    def _reach(self, offset: int) -> None:
        pending = self._pending
        while pending and pending[0][1] <= offset:
            producer_id, _ = pending.popleft()
            self._aborted.setdefault(producer_id, [None])

    def on_batch(self, header: tuple, last_offset: int) -> bool:
        """A data batch; True if it belongs to an aborted transaction (it may go)."""
        if self._pending:
            self._reach(last_offset)
        if not header[ATTRIBUTES] & ATTR_TRANSACTIONAL:
            return False
        state = self._aborted.get(header[PRODUCER_ID])
        if state is not None:
            state[0] = last_offset
            return True
        self._committed.add(header[PRODUCER_ID])
        return False

    def on_control_batch(self, producer_id: int, control_type: int | None, last_offset: int) -> bool:
        """A marker; True if it may go once its delete horizon has passed."""
        self._reach(last_offset)
        if control_type is None:
            return True  # emptied by an earlier round
        if control_type == CONTROL_ABORT:
            state = self._aborted.pop(producer_id, None)
            if state is not None and state[0] is not None:
                self.indexed.append(last_offset)
                return False
            return True
        if control_type == CONTROL_COMMIT:
            if producer_id in self._committed:
                self._committed.discard(producer_id)
                return False
            return True
        return False


# ---------------------------------------------------------------- reading


def _walk(segment: SegmentToClean):
    """(batch bytes, HEADER tuple) of each batch of a segment."""
    with _SegmentReader(segment) as reader:
        for header, batch in reader.batches():
            yield batch, header


class _SegmentReader:
    """Whole batches of one segment: a file through mmap (one copy per batch), or a list."""

    def __init__(self, segment: SegmentToClean) -> None:
        self.segment = segment
        self._file = self._mapped = None
        if segment.path is not None and segment.size:
            self._file = open(segment.path, "rb")
            self._mapped = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)

    def batches(self, start_offset: int = -1):
        """(HEADER tuple, batch bytes) of each batch whose last offset is at least start_offset."""
        if self.segment.batches is not None:
            unpack = HEADER.unpack_from
            for batch in self.segment.batches:
                header = unpack(batch, 0)
                if header[BASE_OFFSET] + header[LAST_OFFSET_DELTA] >= start_offset:
                    yield header, batch
            return
        mapped = self._mapped
        if mapped is None:
            return
        size = min(self.segment.size, len(mapped))
        position = 0
        prefix = HEADER_PREFIX.unpack_from
        while start_offset >= 0 and size - position >= HEADER_BYTES:
            front = prefix(mapped, position)
            if front[BASE_OFFSET] + front[LAST_OFFSET_DELTA] >= start_offset:
                break
            position += LOG_OVERHEAD + front[BATCH_LENGTH]
        unpack = HEADER.unpack_from
        while size - position >= HEADER_BYTES:
            header = unpack(mapped, position)
            end = position + LOG_OVERHEAD + header[BATCH_LENGTH]
            if end > size or header[BATCH_LENGTH] < HEADER_BYTES - LOG_OVERHEAD:
                raise CorruptRecordError(f"{self.segment.path}: truncated batch at {position}")
            yield header, mapped[position:end]
            position = end

    def close(self) -> None:
        if self._mapped is not None:
            self._mapped.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> _SegmentReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# ---------------------------------------------------------------- the offset map


def _build_offset_map(plan: CleanJob, segments: list[SegmentToClean], upper: int, aborted, result: CleanResult):
    """Kafka's buildOffsetMap: {key: newest offset} over [first_dirty_offset, upper), and the
    last offset it covers (the map can fill before upper)."""
    start = plan.first_dirty_offset
    offset_map: dict[bytes, int] = {}
    latest = start - 1
    state = _Transactions(aborted)
    limit = plan.max_map_entries
    dirty = [s for s in segments if s.next_offset > start]
    for segment in dirty:
        with _SegmentReader(segment) as reader:
            for header, batch in reader.batches(start):
                if header[BASE_OFFSET] >= upper:
                    break
                last_offset = header[BASE_OFFSET] + header[LAST_OFFSET_DELTA]
                result.map_bytes_read += len(batch)
                if header[ATTRIBUTES] & ATTR_CONTROL:
                    state.on_control_batch(header[PRODUCER_ID], _control_type(batch), last_offset)
                    result.map_records_read += 1
                elif state.on_batch(header, last_offset):
                    result.map_records_read += header[RECORDS_COUNT]
                elif (header[RECORDS_COUNT] == header[LAST_OFFSET_DELTA] + 1 and header[BASE_OFFSET] >= start
                      and len(offset_map) + header[RECORDS_COUNT] <= limit):
                    map_dense_records(records_of(header, batch), header[RECORDS_COUNT], header[BASE_OFFSET],
                                       offset_map)
                    result.map_records_read += header[RECORDS_COUNT]
                else:
                    full = map_records(
                        records_of(header, batch), header[RECORDS_COUNT], header[BASE_OFFSET], start, offset_map, limit
                    )
                    result.map_records_read += header[RECORDS_COUNT]
                    if full:
                        return offset_map, latest
                if last_offset >= start:
                    latest = max(latest, last_offset)
        latest = max(latest, min(segment.next_offset, upper) - 1)
    return offset_map, latest


# ---------------------------------------------------------------- cleaning


def _group_segments(segments: list[SegmentToClean], end_offset: int, max_bytes: int, upper: int) -> list[list[SegmentToClean]]:
    """Kafka's groupSegmentsBySize: consecutive segments below end_offset whose sizes add up
    to at most segment.bytes and whose offsets fit one index (2**31 - 1 past the base)."""
    candidates = [s for s in segments if s.base_offset < end_offset]
    groups = []
    i = 0
    while i < len(candidates):
        group = [candidates[i]]
        size = candidates[i].size
        i += 1
        while i < len(candidates):
            following = candidates[i]
            last_offset = (candidates[i + 1].base_offset if i + 1 < len(candidates) else upper) - 1
            if size + following.size > max_bytes or (
                following.size and last_offset - group[0].base_offset > INT32_MAX
            ):
                break
            group.append(following)
            size += following.size
            i += 1
        groups.append(group)
    return groups


class _CleanedWriter:
    """A cleaned segment being written: the log file (or, for the memory engine, a list of
    batches), and its index entries as appends make them."""

    def __init__(self, directory: str | None, base_offset: int, index_interval_bytes: int) -> None:
        self.base_offset = base_offset
        self.batches: list[bytes] | None = None
        self._file = None
        if directory is None:
            self.batches = []
        else:
            self.paths = cleaned_paths(directory, base_offset)
            for path in self.paths:
                if os.path.exists(path):
                    os.unlink(path)
            self._file = open(self.paths[0], "wb", buffering=_WRITE_BUFFER_BYTES)
        self._interval = index_interval_bytes
        self.size = 0
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self._since_entry = 0
        self._offset_entries = bytearray()
        self._time_entries = bytearray()
        self._last_time_entry = -1

    def _time_entry(self, timestamp: int, offset: int) -> None:
        if timestamp > self._last_time_entry:
            self._time_entries += _TIME_ENTRY.pack(timestamp, offset - self.base_offset)
            self._last_time_entry = timestamp

    def append(self, batch: bytes, last_offset: int, max_timestamp: int) -> None:
        """One batch; index entries as kbroker's appends make them (segment.LogSegment.append)."""
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
            self.offset_of_max_timestamp = last_offset
        if self._since_entry >= self._interval:
            self._offset_entries += _OFFSET_ENTRY.pack(last_offset - self.base_offset, self.size)
            self._time_entry(self.max_timestamp, self.offset_of_max_timestamp)
            self._since_entry = 0
        if self._file is None:
            self.batches.append(bytes(batch))
        else:
            self._file.write(batch)
        self.size += len(batch)
        self._since_entry += len(batch)

    def finish(self) -> None:
        """The final time entry (as sealing adds it), then everything fsynced."""
        self._time_entry(self.max_timestamp, self.offset_of_max_timestamp)
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        for path, data in ((self.paths[1], self._offset_entries), (self.paths[2], self._time_entries)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                written = 0
                while written < len(view):
                    written += os.write(fd, view[written:])
                os.fsync(fd)
            finally:
                os.close(fd)

    def abandon(self) -> None:
        if self._file is None:
            return
        self._file.close()
        for path in self.paths:
            if os.path.exists(path):
                os.unlink(path)


def _clean_group(plan, group, offset_map, latest_offset, upper, state, result) -> CleanedSegment:
    writer = _CleanedWriter(plan.directory, group[0].base_offset, plan.index_interval_bytes)
    group_end = group[-1].next_offset
    indexed_before = len(state.indexed)
    try:
        for segment in group:
            with _SegmentReader(segment) as reader:
                for header, batch in reader.batches():
                    _clean_batch(plan, header, batch, offset_map, latest_offset, upper, group_end, state, writer,
                                 result)
        writer.finish()
    except BaseException:
        writer.abandon()
        raise
    return CleanedSegment(
        base_offset=group[0].base_offset,
        replaced=tuple(s.base_offset for s in group),
        size=writer.size,
        next_offset=group[-1].next_offset,
        max_timestamp=writer.max_timestamp,
        offset_of_max_timestamp=writer.offset_of_max_timestamp,
        batches=writer.batches,
        aborted_markers=tuple(state.indexed[indexed_before:]),
    )


def _clean_batch(plan, header, batch, offset_map, latest_offset, upper, group_end, state, writer, result) -> None:
    """Kafka's checkBatchRetention and filterTo for one batch: write what stays.

    Beyond Kafka, the last batch of each cleaned segment stays too (as an empty header if
    need be): a cleaned segment then ends exactly where the segments it replaces ended, so
    segments stay contiguous and the swap's recovery knows which ones it covers.
    """
    attributes = header[ATTRIBUTES]
    base_offset = header[BASE_OFFSET]
    last_offset = base_offset + header[LAST_OFFSET_DELTA]
    producer_id = header[PRODUCER_ID]
    is_control = attributes & ATTR_CONTROL
    has_horizon = attributes & ATTR_DELETE_HORIZON
    now = plan.now_ms
    result.bytes_read += len(batch)
    if is_control:
        can_discard = state.on_control_batch(producer_id, _control_type(batch), last_offset)
        discard_records = can_discard and has_horizon and header[BASE_TIMESTAMP] <= now
    else:
        can_discard = discard_records = state.on_batch(header, last_offset)
    retain_empty = last_offset + 1 == upper or last_offset + 1 == group_end
    if producer_id >= 0 and producer_id in plan.active_producers:
        last_data_offset, epoch = plan.active_producers[producer_id]
        if last_data_offset >= 0:
            retain_empty = retain_empty or last_offset == last_data_offset
        else:
            retain_empty = retain_empty or (is_control and header[PRODUCER_EPOCH] == epoch)
    count = header[RECORDS_COUNT]
    result.records_read += count
    if discard_records and not retain_empty:
        return  # BatchRetention.DELETE

    if discard_records or count == 0:
        kept, all_kept, tombstones, max_timestamp = [], count == 0, False, -1
    elif is_control:
        data = records_of(header, batch)
        kept, all_kept, tombstones, max_timestamp = all_records(data, count), True, False, header[MAX_TIMESTAMP]
    else:
        data = records_of(header, batch)
        retain_deletes = not has_horizon or now < header[BASE_TIMESTAMP]
        if count == header[LAST_OFFSET_DELTA] + 1 and last_offset <= latest_offset:
            kept, tombstones = filter_dense_records(data, count, base_offset, offset_map, retain_deletes)
        else:
            kept, tombstones = filter_records(data, count, base_offset, offset_map, latest_offset, retain_deletes)
        all_kept = len(kept) == count
        max_timestamp = -1
    if attributes & ATTR_TIMESTAMP_TYPE or is_control:
        max_timestamp = header[MAX_TIMESTAMP]
    marker_for_empty_txn = can_discard and is_control
    set_horizon = (tombstones or marker_for_empty_txn) and not has_horizon

    if (kept and all_kept and not set_horizon) or (count == 0 and not set_horizon):
        writer.append(batch, last_offset, header[MAX_TIMESTAMP])  # the batch as it is
        result.records_kept += count
        result.bytes_written += len(batch)
        return
    if kept:
        if max_timestamp < 0:
            max_timestamp = kept_max_timestamp(data, kept, header[BASE_TIMESTAMP])
        horizon = now + plan.delete_retention_ms if set_horizon else (header[BASE_TIMESTAMP] if has_horizon else None)
        rebuilt = rebuild(header, data, kept, horizon, max_timestamp)
        writer.append(rebuilt, last_offset, max_timestamp)
        result.records_kept += len(kept)
        result.bytes_written += len(rebuilt)
    elif retain_empty:
        empty = empty_batch(header)
        writer.append(empty, last_offset, header[MAX_TIMESTAMP])
        result.bytes_written += len(empty)


__all__ = [
    "CLEANED_SUFFIX",
    "CleanedSegment",
    "CleanJob",
    "CleanResult",
    "MAP_ENTRY_BYTES",
    "SegmentToClean",
    "clean",
    "clean_in_worker",
    "cleaned_paths",
]
