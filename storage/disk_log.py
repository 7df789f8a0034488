"""The file engine: a partition directory of segments, as Kafka lays it out.

`<data_dir>/<topic>-<partition>/` holds `<base offset>.log|.index|.timeindex|.txnindex`
segments, `partition.metadata`, and producer snapshots `<offset>.snapshot` (see producer_state).

A segment's .txnindex lists the aborted transactions whose marker it holds (txn_index). Every
segment is made with one; at start a missing or torn one is rebuilt from the log, by replaying
the batch headers (and the markers) from a producer state before it, which is also how the
entries a crash may have lost after the newest snapshot come back.
"""

from __future__ import annotations

import logging
import mmap
import os
import uuid
from array import array
from bisect import bisect_right
from collections import deque

from .config import LogConfig
from .control import marker_of
from .epochs import LeaderEpochCache
from .errors import StorageError
from .log import PartitionLog
from .producer_state import CompletedTxn, ProducerStateManager
from .records import (
    ATTR_CONTROL,
    ATTRIBUTES,
    BASE_OFFSET,
    BATCH_LENGTH,
    HEADER_PREFIX,
    LAST_OFFSET_DELTA,
    LOG_OVERHEAD,
    MAX_TIMESTAMP,
    PRODUCER_EPOCH,
    PRODUCER_ID,
)
from .recovery import recover_segment
from .results import FileSlice, ReadResult
from .segment import (
    INDEX_SUFFIX, LOG_SUFFIX, SEGMENT_SUFFIXES, SWAP_SUFFIX, TIME_INDEX_SUFFIX, DeferredLogSegment,
    LogSegment, segment_file_name)
from .topics import atomic_write, fsync_dir, read_partition_metadata, write_partition_metadata
from .txn_index import TXN_INDEX_SUFFIX, AbortedTxn

logger = logging.getLogger(__name__)

SNAPSHOT_SUFFIX = ".snapshot"
SNAPSHOTS_TO_KEEP = 2
_LEFTOVER_SUFFIXES = (".tmp", ".deleted", ".cleaned", ".swap")


def _complete_interrupted_swaps(directory: str) -> list[str]:
    """Finish what a crash interrupted in a directory: a `.log.swap` file is a cleaned segment
    the cleaner committed, so the segments it covers (base offsets from its own up to its
    last offset) are removed and the swap files take their final names; `.cleaned` files and
    index swaps without a log swap were not committed and are removed (with the other
    leftovers, by the caller). Returns the directory's names afterwards."""
    names = os.listdir(directory)
    swaps = _offset_files(names, LOG_SUFFIX + SWAP_SUFFIX)
    if not swaps:
        return names
    log_bases = _offset_files(names, LOG_SUFFIX)
    for base in swaps:
        swap_path = os.path.join(directory, segment_file_name(base, LOG_SUFFIX) + SWAP_SUFFIX)
        end = _next_offset_of(swap_path, base)
        for covered in log_bases:
            if base <= covered < end:
                for suffix in SEGMENT_SUFFIXES:
                    try:
                        os.unlink(os.path.join(directory, segment_file_name(covered, suffix)))
                    except FileNotFoundError:
                        pass
        for suffix in SEGMENT_SUFFIXES:
            swap = os.path.join(directory, segment_file_name(base, suffix) + SWAP_SUFFIX)
            if os.path.exists(swap):
                os.rename(swap, swap[: -len(SWAP_SUFFIX)])
        logger.info("%s: completed the swap of a cleaned segment interrupted by a crash", swap_path)
    fsync_dir(directory)
    return os.listdir(directory)


def _next_offset_of(path: str, base_offset: int) -> int:
    """The offset after the last whole batch of a log file."""
    next_offset = base_offset
    size = os.path.getsize(path)
    if size < HEADER_PREFIX.size:
        return next_offset
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        position = 0
        while size - position >= HEADER_PREFIX.size:
            prefix = HEADER_PREFIX.unpack_from(mapped, position)
            end = position + LOG_OVERHEAD + prefix[BATCH_LENGTH]
            if end > size:
                break
            next_offset = prefix[BASE_OFFSET] + prefix[LAST_OFFSET_DELTA] + 1
            position = end
    return next_offset


def _offset_files(names: list[str], suffix: str) -> list[int]:
    """Sorted offsets of the files named `<digits><suffix>`."""
    offsets = []
    for name in names:
        if name.endswith(suffix) and name[: -len(suffix)].isdigit():
            offsets.append(int(name[: -len(suffix)]))
    return sorted(offsets)


class DiskPartitionLog(PartitionLog):
    def __init__(self, topic: str, partition: int, directory: str, config: LogConfig) -> None:
        super().__init__(topic, partition, config)
        self.directory = directory
        self.segments: list[LogSegment] = []
        self._base_offsets = array("q")
        self._snapshot_offset = -1  # offset of the newest snapshot, if it matches the state
        self._closed = False
        self._deleted_files: deque[tuple[int, list[str]]] = deque()  # (due ms, paths), oldest first

    @classmethod
    def open(
        cls,
        topic: str,
        partition: int,
        directory: str,
        config: LogConfig,
        topic_id: uuid.UUID,
        clean_shutdown: bool,
        log_start_offset: int = 0,
    ) -> DiskPartitionLog:
        """Open (creating if needed) and recover a partition directory; log_start_offset is
        the checkpointed start (log-start-offset-checkpoint), used if it is inside the log."""
        directory = str(directory)
        os.makedirs(directory, exist_ok=True)
        existing_id = read_partition_metadata(directory)
        if existing_id is None:
            write_partition_metadata(directory, topic_id)
        elif existing_id != topic_id:
            raise StorageError(f"{directory} belongs to topic id {existing_id}, not {topic_id}")
        log = cls(topic, partition, directory, config)
        log._load(clean_shutdown, log_start_offset)
        return log

    # ------------------------------------------------------------ loading

    def _load(self, clean_shutdown: bool, log_start_offset: int) -> None:
        names = _complete_interrupted_swaps(self.directory)
        log_bases = _offset_files(names, LOG_SUFFIX)
        for name in names:
            stem = name.rsplit(".", 1)[0]
            orphan_index = name.endswith((INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)) and (
                not stem.isdigit() or int(stem) not in log_bases
            )
            if orphan_index or name.endswith(_LEFTOVER_SUFFIXES):
                os.unlink(os.path.join(self.directory, name))
        snapshots = _offset_files(names, SNAPSHOT_SUFFIX)

        if not log_bases:
            self.segments = [LogSegment.create(self.directory, 0)]
        else:
            self.segments = self._load_segments(log_bases, snapshots, clean_shutdown)
            self.segments[-1].open_for_append()
        self._base_offsets = array("q", (segment.base_offset for segment in self.segments))
        self.log_end_offset = self.segments[-1].next_offset
        self.log_start_offset = min(max(log_start_offset, self.segments[0].base_offset), self.log_end_offset)
        self._load_producer_state(snapshots)
        self.epochs = LeaderEpochCache(self.directory)
        self.epochs.truncate_from_end(self.log_end_offset + 1)   # epochs of batches lost in a crash

    def _load_segments(self, log_bases: list[int], snapshots: list[int], clean_shutdown: bool) -> list[LogSegment]:
        # After a clean shutdown only the active segment is checked, from its last index entry;
        # otherwise every segment from the newest snapshot on, whole (a snapshot is written
        # after the log before it was fsynced). The segments before are trusted: their
        # indexes are read (and checked, rebuilt if wrong) when first used.
        if clean_shutdown:
            recover_from = len(log_bases) - 1
        elif snapshots:
            recover_from = max(0, bisect_right(log_bases, snapshots[-1]) - 1)
        else:
            recover_from = 0
        interval = self.config.index_interval_bytes
        segments = [DeferredLogSegment(self.directory, base, interval) if i < recover_from
                    else LogSegment(self.directory, base) for i, base in enumerate(log_bases)]
        for segment, following in zip(segments, segments[1:]):
            segment.size = os.path.getsize(segment.log_path)
            segment.next_offset = following.base_offset
        active = len(segments) - 1
        for i, segment in enumerate(segments):
            if i < recover_from:
                continue  # trusted: its indexes are read when first used
            trusted = clean_shutdown and i == active
            truncated = recover_segment(segment, interval, from_last_index_entry=trusted)
            if truncated:
                logger.warning("%s: truncated %d bytes of invalid data", segment.log_path, truncated)
            if segment.txn_index.is_intact():
                segment.txn_index.truncate_to(segment.next_offset)
            if i + 1 < len(segments) and segment.next_offset != segments[i + 1].base_offset:
                logger.warning(
                    "%s: ends at offset %d, next segment starts at %d: deleting the segments after it",
                    segment.log_path,
                    segment.next_offset,
                    segments[i + 1].base_offset,
                )
                for later in segments[i + 1 :]:
                    later.delete()
                del segments[i + 1 :]
                break
        for segment in segments[:-1]:
            segment.close_writers()
        return segments

    def _load_producer_state(self, snapshots: list[int]) -> None:
        """Newest usable snapshot, then the batch headers after it; drop snapshots outside the log."""
        first_offset = self.segments[0].base_offset
        state, replay_from = None, first_offset
        for offset in reversed(snapshots):
            path = self._snapshot_path(offset)
            if not first_offset <= offset <= self.log_end_offset:
                os.unlink(path)
            elif state is None:
                try:
                    with open(path, "rb") as file:
                        state = ProducerStateManager.from_snapshot(file.read())
                    replay_from = offset
                except (OSError, ValueError) as exc:
                    logger.warning("%s: ignoring producer snapshot: %s", path, exc)
                    os.unlink(path)
        lost = [segment for segment in self.segments if not segment.txn_index.is_intact()]
        if lost:
            logger.warning("%s: rebuilding the transaction index of %d segment(s) from the log",
                           self.directory, len(lost))
            for segment in lost:
                segment.txn_index.create()
            if lost[0].base_offset < replay_from:
                state, replay_from = None, self.log_start_offset   # its batches are before the snapshot
        self.producer_state = state or ProducerStateManager()
        if replay_from < self.log_end_offset:
            self._replay_producer_state(replay_from)
        elif state is not None:
            self._snapshot_offset = replay_from

    def _replay_producer_state(self, offset: int) -> None:
        """Apply the producer fields of every batch header from offset to the end, and every
        marker's outcome; aborted transactions not yet in their segment's index go in."""
        state = self.producer_state
        update = state.update
        i = bisect_right(self._base_offsets, offset) - 1
        position = self.segments[i].find_position(offset)
        for segment in self.segments[i:]:
            for header in segment.iter_header_tuples(position):
                size = LOG_OVERHEAD + header[BATCH_LENGTH]
                if header[PRODUCER_ID] >= 0:
                    if header[ATTRIBUTES] & ATTR_CONTROL:
                        self._replay_marker(segment, position, size, header)
                    else:
                        update(header, header[BASE_OFFSET], header[MAX_TIMESTAMP])
                position += size
            position = 0

    def _replay_marker(self, segment: LogSegment, position: int, size: int, header: tuple) -> None:
        try:
            marker = marker_of(segment.read_batch(position, size))
        except StorageError as exc:
            logger.warning("%s: unreadable control batch at offset %d: %s", segment.log_path, header[BASE_OFFSET], exc)
            marker = None
        if marker is None:
            self.producer_state.update(header, header[BASE_OFFSET], header[MAX_TIMESTAMP])
            return
        completed = self.producer_state.complete_txn(header[PRODUCER_ID], header[PRODUCER_EPOCH],
                                                     marker.coordinator_epoch, header[BASE_OFFSET],
                                                     header[MAX_TIMESTAMP], marker.committed)
        if completed is not None and completed.aborted:
            segment.txn_index.append_if_new(AbortedTxn(*completed[:4]))

    # ------------------------------------------------------------ snapshots

    def _snapshot_path(self, offset: int) -> str:
        return os.path.join(self.directory, f"{offset:020d}{SNAPSHOT_SUFFIX}")

    def _write_snapshot(self) -> None:
        """Snapshot producer state at log_end_offset; keep the newest SNAPSHOTS_TO_KEEP."""
        offset = self.log_end_offset
        if offset == self._snapshot_offset or offset == 0:   # at 0 nothing was ever appended: no state
            return
        atomic_write(self._snapshot_path(offset), self.producer_state.to_snapshot())
        self._snapshot_offset = offset
        snapshots = _offset_files(os.listdir(self.directory), SNAPSHOT_SUFFIX)
        for old in snapshots[:-SNAPSHOTS_TO_KEEP]:
            os.unlink(self._snapshot_path(old))

    # ------------------------------------------------------------ append

    def _write(self, iov: list, total: int, batches: list[tuple[int, int, int]], now_ms: int) -> None:
        active = self.segments[-1]
        if self._must_roll(active, total, batches[-1][1], now_ms):
            active = self._roll()
        active.append(iov, total, batches, self.config.index_interval_bytes, now_ms)
        self._snapshot_offset = -1

    def _roll(self) -> LogSegment:
        """Seal the active segment (fsync), snapshot producer state, start a new segment."""
        self.segments[-1].seal()
        self._write_snapshot()
        segment = LogSegment.create(self.directory, self.log_end_offset)
        fsync_dir(self.directory)
        self.segments.append(segment)
        self._base_offsets.append(segment.base_offset)
        return segment

    # ------------------------------------------------------------ truncation (replication)

    def _truncate(self, offset: int) -> None:
        """Delete the segments after the one holding offset, cut that one before the batch
        holding offset (its indexes rebuilt from what is left), and rebuild the producer
        state from a snapshot at or below the new end."""
        offset = max(offset, self.log_start_offset)
        i = max(bisect_right(self._base_offsets, offset) - 1, 0)
        segment = self.segments[i]
        position = segment.find_position(offset)
        for later in self.segments[i + 1:]:
            later.delete()
        del self.segments[i + 1:]
        del self._base_offsets[i + 1:]
        segment.close_writers()
        os.truncate(segment.log_path, position)
        segment.remember_read(-1, 0)
        recover_segment(segment, self.config.index_interval_bytes)
        segment.open_for_append()
        fsync_dir(self.directory)
        self.log_end_offset = segment.next_offset
        segment.txn_index.truncate_to(self.log_end_offset)   # aborts whose marker was cut
        snapshots = _offset_files(os.listdir(self.directory), SNAPSHOT_SUFFIX)
        for stale in [o for o in snapshots if o > self.log_end_offset]:
            os.unlink(self._snapshot_path(stale))
        self._snapshot_offset = -1
        self._load_producer_state([o for o in snapshots if o <= self.log_end_offset])

    def truncate_fully(self, start_offset: int) -> None:
        """Empty the log and start it at start_offset (a follower that fell below its leader's
        log start): every segment, snapshot and epoch goes."""
        for segment in self.segments:
            segment.delete()
        for stale in _offset_files(os.listdir(self.directory), SNAPSHOT_SUFFIX):
            os.unlink(self._snapshot_path(stale))
        self.segments = [LogSegment.create(self.directory, start_offset)]
        self._base_offsets = array("q", [start_offset])
        fsync_dir(self.directory)
        self.log_start_offset = self.log_end_offset = start_offset
        self.producer_state = ProducerStateManager()
        self._snapshot_offset = -1
        self.epochs.clear()
        if self._high_watermark is not None:
            self._high_watermark = start_offset

    # ------------------------------------------------------------ reads

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadResult:
        empty = self._check_read_offset(offset)
        if empty is not None:
            return empty
        if max_offset is not None and offset >= max_offset:
            return self._result([], 0, offset)
        segments = self.segments
        base_offsets = self._base_offsets
        stop_segment = stop_position = -1   # where max_offset's batch starts, if below the end
        if max_offset is not None and max_offset < self.log_end_offset:
            stop_segment = bisect_right(base_offsets, max_offset) - 1
            stop_position = segments[stop_segment].find_position(max_offset)
        i = bisect_right(base_offsets, offset) - 1
        segment = segments[i]
        position = segment.find_position(offset)
        chunks = []
        size = 0
        next_offset = offset
        while True:
            budget = max_bytes - size
            last = i == stop_segment
            if last:
                if stop_position <= position:
                    break
                budget = min(budget, stop_position - position)   # a batch boundary: the first batch fits
            end, next_offset = segment.read_end(position, budget, size == 0)
            if end > position:
                chunks.append(FileSlice(segment.read_file(), position, end - position))
                size += end - position
            segment.remember_read(next_offset, end)
            i += 1
            if last or end < segment.size or i == len(segments) or size >= max_bytes:
                break
            segment = segments[i]
            position = 0
        return self._result(chunks, size, next_offset)

    # ------------------------------------------------------------ transactions

    def _index_aborted(self, completed: CompletedTxn) -> None:
        self.segments[-1].txn_index.append(AbortedTxn(*completed[:4]))

    def aborted_transactions(self, fetch_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        found = []
        for segment in self.segments[max(0, bisect_right(self._base_offsets, fetch_offset) - 1):]:
            entries, complete = segment.txn_index.collect(fetch_offset, upper_bound_offset)
            found += entries
            if complete:
                break
        return found

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        start = self.log_start_offset
        i = bisect_right(self._base_offsets, start) - 1
        for segment in self.segments[max(i, 0):]:
            if segment.max_timestamp >= timestamp_ms:
                found = segment.offset_for_timestamp(timestamp_ms, start)
                if found is not None:
                    return found
        return None

    def max_timestamp(self) -> tuple[int, int]:
        best = None
        for segment in self.segments:
            if best is None or segment.max_timestamp > best.max_timestamp:
                best = segment
        if best is None or best.max_timestamp < 0:
            return -1, -1
        return best.offset_of_record_with_max_timestamp(), best.max_timestamp

    def segment_times(self) -> list[tuple[int, int, int]]:
        """(base offset, bytes, last modified ms) of each segment, oldest first (for ListOffsets v0)."""
        return [(s.base_offset, s.size, os.stat(s.log_path).st_mtime_ns // 1_000_000) for s in self.segments]

    # ------------------------------------------------------------ lifecycle

    def flush(self, now_ms: int | None = None) -> None:
        super().flush(now_ms)
        if not self._closed:
            self.segments[-1].flush()

    def flush_fds(self, now_ms: int) -> list[int]:
        """For a flush off the event loop: write pending index entries now and return
        duplicates of the active segment's descriptors, to fsync (and close) elsewhere."""
        PartitionLog.flush(self, now_ms)
        return [] if self._closed else self.segments[-1].dup_for_fsync()

    # ------------------------------------------------------------ retention

    def _remove_oldest_segments(self, count: int, now_ms: int) -> None:
        """Drop the oldest segments from the log; their files are renamed .deleted and
        removed after file.delete.delay.ms (take_deleted_files)."""
        doomed = self.segments[:count]
        del self.segments[:count]
        del self._base_offsets[:count]
        self._schedule_delete(doomed, now_ms)

    def _schedule_delete(self, segments: list[LogSegment], now_ms: int) -> None:
        paths = []
        for segment in segments:
            paths += segment.rename_to_deleted()
        self._deleted_files.append((now_ms + self.config.file_delete_delay_ms, paths))

    def take_deleted_files(self, now_ms: int) -> list[str]:
        due = []
        while self._deleted_files and self._deleted_files[0][0] <= now_ms:
            due += self._deleted_files.popleft()[1]
        return due

    def next_file_deletion_ms(self) -> int | None:
        return self._deleted_files[0][0] if self._deleted_files else None

    # ------------------------------------------------------------ cleaning

    def replace_segments(self, base_offset: int, replaced: list[int], now_ms: int) -> LogSegment:
        """Put the cleaned segment `<base_offset>.log.swap` (committed by the cleaner) in place
        of the closed segments whose base offsets are replaced; their files are renamed
        .deleted (and removed after file.delete.delay.ms), then the swap files take the final
        names. A crash at any point leaves files that open completes (see
        _complete_interrupted_swaps)."""
        i = bisect_right(self._base_offsets, base_offset) - 1
        old = self.segments[i : i + len(replaced)]
        if [segment.base_offset for segment in old] != replaced or i + len(replaced) >= len(self.segments):
            raise StorageError(f"{self.directory}: segments {replaced} are not closed segments of the log")
        following = self.segments[i + len(replaced)]
        self._schedule_delete(old, now_ms)
        for suffix in SEGMENT_SUFFIXES:
            swap = os.path.join(self.directory, segment_file_name(base_offset, suffix) + SWAP_SUFFIX)
            if os.path.exists(swap):
                os.rename(swap, swap[: -len(SWAP_SUFFIX)])
        segment = LogSegment(self.directory, base_offset)
        segment.size = os.path.getsize(segment.log_path)
        segment.next_offset = following.base_offset
        if not segment.load_indexes():
            recover_segment(segment, self.config.index_interval_bytes)
            segment.next_offset = following.base_offset
        segment.close_writers()
        self.segments[i : i + len(replaced)] = [segment]
        self._base_offsets = array("q", (s.base_offset for s in self.segments))
        return segment

    def close(self) -> None:
        """Flush (fsync), snapshot producer state, close every file."""
        if self._closed:
            return
        active = self.segments[-1]
        active.time_index.maybe_append(active.max_timestamp, active.offset_of_max_timestamp)  # as Kafka's close
        active.flush()
        self._write_snapshot()
        for segment in self.segments:
            segment.close()
        self._closed = True

    def close_files(self) -> None:
        """Close without flushing or snapshotting (the directory is about to be deleted)."""
        for segment in self.segments:
            segment.close(flush=False)
        self._closed = True
