"""The log's background work, decided here and run by the broker (Kafka's LogManager and
LogCleanerManager): retention, cleaning, delayed file deletion, flushing, checkpoints.

Every method is synchronous. The broker calls the quick ones from its event loop on a
schedule and runs the slow parts elsewhere: `storage.cleaner.clean(job)` in a worker
process (or a thread for the memory engine), `commit_cleaned`, unlinking files and fsync
in a thread. A log being cleaned is left out of retention until the cleaning is finished
or aborted, as Kafka's cleaner and retention never work on one log at once.

A cleaning, step by step (each step leaves a log that opens valid after a crash):
1. `grab_filthiest_log` picks the log and describes its closed segments (a CleanJob).
2. `clean(job)` writes `<base>.log.cleaned` (and index files), fsynced, per group of segments.
3. `commit_cleaned` renames them `.swap`, the index files first and the log last, then
   fsyncs the directory: from here the cleaned segment replaces the old ones, also after
   a crash (DiskPartitionLog opens by completing the swap).
4. `finish_cleaning` puts each cleaned segment in the log in place of the old ones, whose
   files become `.deleted` until file.delete.delay.ms has passed, and moves the log's
   cleaner checkpoint.

`cleaner-offset-checkpoint` (data directory level, Kafka's format) keeps each compacted
log's cleaner progress: the first offset not cleaned yet.
"""

from __future__ import annotations

import logging
import os

from .checkpoints import CLEANER_OFFSET_CHECKPOINT, format_checkpoint, read_checkpoint, write_checkpoint_bytes
from .cleaner import MAP_ENTRY_BYTES, CleanJob, CleanResult, SegmentToClean, clean
from .config import LogManagerConfig
from .disk_log import DiskPartitionLog
from .log import PartitionLog
from .memory_log import MemorySegment
from .segment import CLEANED_SUFFIX, LOG_SUFFIX, SEGMENT_SUFFIXES, SWAP_SUFFIX, segment_file_name
from .txn_index import ENTRY_BYTES, TXN_INDEX_SUFFIX
from .storage import Storage
from .topics import fsync_dir

logger = logging.getLogger(__name__)

# a segment's files in the order a commit renames them: the log last (its .swap commits the swap)
_LOG_LAST = tuple(s for s in SEGMENT_SUFFIXES if s != LOG_SUFFIX) + (LOG_SUFFIX,)


class LogManager:
    def __init__(self, storage: Storage, config: LogManagerConfig | None = None) -> None:
        self.storage = storage
        self.config = config or LogManagerConfig()
        self._cleaning: dict[int, PartitionLog] = {}  # id of a job out -> its log
        if storage.data_dir is not None:
            checkpoint = read_checkpoint(storage.data_dir, CLEANER_OFFSET_CHECKPOINT)
            for log in storage.logs():
                log.cleaner_checkpoint = checkpoint.get((log.topic, log.partition))

    # ------------------------------------------------------------ retention

    def delete_old_segments(self, now_ms: int) -> int:
        """Retention of every log not being cleaned (UnifiedLog.deleteOldSegments); how many
        segments went. Their files are renamed .deleted: see take_deleted_files."""
        return sum(self.delete_old_segments_of(log, now_ms) for log in self.storage.logs())

    def delete_old_segments_of(self, log: PartitionLog, now_ms: int) -> int:
        """Retention of one log (of storage.logs(), taken earlier): nothing if it is being
        cleaned or is gone since."""
        if log.cleaning or not self._is_live(log):
            return 0
        return log.delete_old_segments(now_ms)

    def take_deleted_files(self, now_ms: int) -> list[str]:
        """The .deleted files whose file.delete.delay.ms has passed, to unlink (off the loop)."""
        return [path for log in self.storage.logs() for path in log.take_deleted_files(now_ms)]

    def next_file_deletion_ms(self) -> int | None:
        due = [d for log in self.storage.logs() if (d := log.next_file_deletion_ms()) is not None]
        return min(due) if due else None

    def remove_expired_producers(self, now_ms: int) -> int:
        """producer.id.expiration.ms over every log; how many producers were forgotten."""
        expiration_ms = self.config.producer_id_expiration_ms
        return sum(log.remove_expired_producers(now_ms, expiration_ms) for log in self.storage.logs())

    # ------------------------------------------------------------ flushing

    def logs_to_flush(self, now_ms: int) -> list[PartitionLog]:
        """Logs with data older than their flush.ms (Kafka's flushDirtyLogs)."""
        return [log for log in self.storage.logs() if log.flush_due(now_ms)]

    def shortest_flush_ms(self) -> int | None:
        """The smallest finite flush.ms of any log: how often flushing must be checked."""
        finite = [log.config.flush_ms for log in self.storage.logs() if log.config.flush_ms < 2**62]
        return min(finite) if finite else None

    # ------------------------------------------------------------ cleaning

    def grab_filthiest_log(self, now_ms: int) -> CleanJob | None:
        """The compacted log most in need of cleaning (Kafka's grabFilthiestCompactedLog), as a
        job for storage.cleaner.clean; the log is marked as being cleaned until
        finish_cleaning or abort_cleaning. None if no log needs it."""
        if not self.config.cleaner_enable or len(self._cleaning) >= self.config.cleaner_threads:
            return None
        best = None
        for log in self.storage.logs():
            if not log.config.compact or log.cleaning:
                continue
            cleanable = _cleanable(log, now_ms)
            if cleanable is None:
                continue
            ratio, first_dirty, first_uncleanable, cleanable_bytes, need_now = cleanable
            if (need_now and cleanable_bytes > 0) or ratio > log.config.min_cleanable_dirty_ratio:
                if best is None or ratio > best[0]:
                    best = (ratio, log, first_dirty, first_uncleanable)
        if best is None:
            return None
        _, log, first_dirty, first_uncleanable = best
        config = self.config
        map_entries = max(1, int(config.cleaner_dedupe_buffer_size * config.cleaner_io_buffer_load_factor
                                 // MAP_ENTRY_BYTES))
        job = _job(log, first_dirty, first_uncleanable, now_ms, map_entries)
        log.cleaning = True
        self._cleaning[_key(job)] = log
        return job

    @staticmethod
    def commit_cleaned(job: CleanJob, result: CleanResult) -> None:
        """Commit the cleaned segments on disk: `.cleaned` files renamed `.swap` (index files
        first, the log last), then the directory fsynced. Touches no log object: it may run
        in a thread while the log serves."""
        if job.directory is None:
            return
        for cleaned in result.segments:
            _write_cleaned_txn_index(job.directory, cleaned)
            for suffix in _LOG_LAST:
                path = os.path.join(job.directory, segment_file_name(cleaned.base_offset, suffix))
                os.rename(path + CLEANED_SUFFIX, path + SWAP_SUFFIX)
        if result.segments:
            fsync_dir(job.directory)

    def finish_cleaning(self, job: CleanJob, result: CleanResult, now_ms: int) -> bool:
        """Put the committed cleaned segments in place and move the log's cleaner checkpoint;
        False if the log went away meanwhile (its topic deleted)."""
        log = self._cleaning.pop(_key(job), None)
        if log is None:
            return False
        log.cleaning = False
        if not self._is_live(log):
            return False
        for cleaned in result.segments:
            if isinstance(log, DiskPartitionLog):
                log.replace_segments(cleaned.base_offset, list(cleaned.replaced), now_ms)
            else:
                log.replace_segments(
                    MemorySegment.of_batches(cleaned.base_offset, list(cleaned.batches), cleaned.next_offset),
                    list(cleaned.replaced))
        log.cleaner_checkpoint = result.end_offset
        logger.info(
            "cleaned %s-%d up to offset %d: %d of %d records kept, %.1f of %.1f MB, in %.2f s",
            log.topic, log.partition, result.end_offset, result.records_kept, result.records_read,
            result.bytes_written / 1e6, result.bytes_read / 1e6, result.cpu_seconds)
        return True

    def abort_cleaning(self, job: CleanJob) -> bool:
        """A cleaning that failed or was cancelled: the log is free again, and the cleaned
        files it left are removed (a committed .swap would otherwise be completed at open).
        False if the log went away meanwhile (then its failure was expected)."""
        log = self._cleaning.pop(_key(job), None)
        if log is None:
            return False
        log.cleaning = False
        if not self._is_live(log):
            return False
        if job.directory is not None:
            _remove_cleaned_files(job.directory)
        return True

    def clean_once(self, now_ms: int) -> CleanResult | None:
        """Grab, clean, commit and finish one log, here and now (tests, tools)."""
        job = self.grab_filthiest_log(now_ms)
        if job is None:
            return None
        try:
            result = clean(job)
            self.commit_cleaned(job, result)
        except BaseException:
            self.abort_cleaning(job)
            raise
        self.finish_cleaning(job, result, now_ms)
        return result

    def cleaner_checkpoint(self) -> bytes:
        """cleaner-offset-checkpoint's content for the compacted logs cleaned so far."""
        return format_checkpoint({(log.topic, log.partition): log.cleaner_checkpoint
                                  for log in self.storage.logs() if log.cleaner_checkpoint is not None})

    def write_cleaner_checkpoint(self, data: bytes | None = None) -> None:
        if self.storage.data_dir is not None:
            write_checkpoint_bytes(self.storage.data_dir, CLEANER_OFFSET_CHECKPOINT,
                                   self.cleaner_checkpoint() if data is None else data)

    def _is_live(self, log: PartitionLog) -> bool:
        try:
            return self.storage.partition(log.topic, log.partition) is log
        except Exception:
            return False


def _cleanable(log: PartitionLog, now_ms: int) -> tuple | None:
    """Kafka's cleanableOffsets and LogToClean: (dirty ratio, first dirty offset, first
    uncleanable offset, cleanable bytes, whether max.compaction.lag.ms forces a cleaning);
    None for an empty log."""
    config = log.config
    segments = log.segments
    first_dirty = log.cleaner_checkpoint if log.cleaner_checkpoint is not None else log.log_start_offset
    if not log.log_start_offset <= first_dirty <= log.log_end_offset:
        first_dirty = log.log_start_offset
    active_base = segments[-1].base_offset
    uncleanable = min(log.last_stable_offset, active_base)
    if config.min_compaction_lag_ms > 0:
        for segment in segments[:-1]:
            if segment.next_offset > first_dirty and segment.largest_timestamp() > now_ms - config.min_compaction_lag_ms:
                uncleanable = min(uncleanable, segment.base_offset)
                break
    uncleanable = max(first_dirty, uncleanable)
    # whole segments only: the first uncleanable offset is the base of the segment holding it
    first_uncleanable = active_base
    for segment in segments[:-1]:
        if segment.base_offset <= uncleanable < segment.next_offset:
            first_uncleanable = segment.base_offset
            break
    clean_bytes = sum(s.size for s in segments if s.base_offset < first_dirty)
    low = min(first_dirty, first_uncleanable)
    cleanable_bytes = sum(s.size for s in segments if s.next_offset > low and s.base_offset < first_uncleanable)
    total = clean_bytes + cleanable_bytes
    if total == 0:
        return None
    need_now = False
    if config.max_compaction_lag_ms < 2**62:
        clean_until = now_ms - config.max_compaction_lag_ms
        firsts = [t for s in segments[:-1] if s.next_offset > first_dirty and (t := s.first_batch_timestamp()) > 0]
        need_now = bool(firsts) and min(firsts) < clean_until
    return cleanable_bytes / total, first_dirty, first_uncleanable, cleanable_bytes, need_now


def _key(job: CleanJob) -> int:
    return id(job)  # the broker hands back the job object it was given


def _job(log: PartitionLog, first_dirty: int, first_uncleanable: int, now_ms: int, map_entries: int) -> CleanJob:
    disk = isinstance(log, DiskPartitionLog)

    def described(segment) -> SegmentToClean:
        if disk:
            return SegmentToClean(segment.base_offset, segment.size, segment.next_offset, path=segment.log_path)
        return SegmentToClean(segment.base_offset, segment.size, segment.next_offset, batches=list(segment.batches))

    closed = [s for s in log.segments[:-1] if s.base_offset < first_uncleanable]
    tail = log.segments[len(closed):]
    producers = {
        producer_id: (entry.batches[-1][3] if entry.batches else -1, entry.producer_epoch)
        for producer_id, entry in log.producer_state.producers.items()}
    config = log.config
    return CleanJob(
        topic=log.topic,
        partition=log.partition,
        directory=log.directory if disk else None,
        segments=[described(s) for s in closed],
        first_dirty_offset=first_dirty,
        first_uncleanable_offset=first_uncleanable,
        now_ms=now_ms,
        delete_retention_ms=config.delete_retention_ms,
        segment_bytes=config.segment_bytes,
        index_interval_bytes=config.index_interval_bytes,
        max_map_entries=map_entries,
        active_producers=producers,
        tail=[described(s) for s in tail],
    )


def _remove_cleaned_files(directory: str) -> None:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith((".cleaned", ".swap")):
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass


def _write_cleaned_txn_index(directory: str, cleaned) -> None:
    """The cleaned segment's `.txnindex.cleaned`: the aborted transactions of the segments it
    replaces, in order (an entry whose records the cleaning dropped only names offsets no
    longer there, which a reader skips past, as Kafka's cleaner keeps them)."""
    data = []
    for base in cleaned.replaced:
        try:
            with open(os.path.join(directory, segment_file_name(base, TXN_INDEX_SUFFIX)), "rb") as file:
                raw = file.read()
            data.append(raw[: len(raw) - len(raw) % ENTRY_BYTES])   # whole entries only
        except FileNotFoundError:
            pass
    path = os.path.join(directory, segment_file_name(cleaned.base_offset, TXN_INDEX_SUFFIX)) + CLEANED_SUFFIX
    with open(path, "wb") as file:
        file.write(b"".join(data))
        file.flush()
        os.fsync(file.fileno())
