"""PartitionLog: what both engines share (append checks, offsets, producer state, transactions,
the log start offset, retention, flushing, and for a replicated partition its high watermark,
leader epochs, follower appends and truncation)."""

from __future__ import annotations

from .config import LogConfig
from .control import build_marker, marker_of
from .epochs import LeaderEpochCache
from .errors import InvalidRecordError, OffsetOutOfRangeError, PolicyViolationError, StorageError
from .producer_state import CompletedTxn, ProducerStateManager
from .records import (
    ATTR_CONTROL,
    ATTRIBUTES,
    BASE_OFFSET,
    BATCH_LENGTH,
    FRONT,
    INT32_MAX,
    LAST_OFFSET_DELTA,
    MAX_TIMESTAMP,
    PARTITION_LEADER_EPOCH,
    PRODUCER_EPOCH,
    PRODUCER_ID,
    iter_batches,
    newest_by_key,
    read_header,
    set_log_append_time,
)
from .results import AppendResult, ReadResult
from .txn_index import AbortedTxn
from .validation import check_keys, validate_batches, validate_one_batch, validate_replicated

ASSIGNED_PARTITION_LEADER_EPOCH = 0  # one broker, one leader epoch
_RESULT = 6   # in a prepared client batch (PartitionLog._prepare_client_batch)


class PartitionLog:
    """The log of one partition. Subclasses store batches (files or memory)."""

    def __init__(self, topic: str, partition: int, config: LogConfig) -> None:
        self.topic = topic
        self.partition = partition
        self.config = config
        self.log_start_offset = 0
        self.log_end_offset = 0
        self.producer_state = ProducerStateManager()
        self.segments: list = []  # oldest first; the last is the active segment
        # the cleaner's progress: the first offset not yet cleaned (cleaner-offset-checkpoint)
        self.cleaner_checkpoint: int | None = None
        self.cleaning = False  # a cleaner works on the closed segments: retention waits
        self.unflushed_messages = 0
        self.last_flush_ms = -1
        # Replication (cluster mode) sets these; one broker leaves them: epoch 0 in every
        # batch, and a high watermark that is the log end offset.
        self.leader_epoch = ASSIGNED_PARTITION_LEADER_EPOCH   # written into each appended batch
        self.epochs = LeaderEpochCache()   # the disk engine keeps it in the partition directory
        self._high_watermark: int | None = None   # None: the log end offset

    @property
    def high_watermark(self) -> int:
        """The offset below which every in-sync replica has the records: what consumers may read."""
        high_watermark = self._high_watermark
        return self.log_end_offset if high_watermark is None else high_watermark

    @property
    def follows_log_end(self) -> bool:
        """True while no high watermark is set: it is the log end offset."""
        return self._high_watermark is None

    def set_high_watermark(self, offset: int | None) -> None:
        """Set the high watermark (kept within [log start, log end]); None: it follows the log
        end offset, as for one broker or a leader alone in its ISR."""
        if offset is not None:
            offset = max(self.log_start_offset, min(offset, self.log_end_offset))
        self._high_watermark = offset

    @property
    def last_stable_offset(self) -> int:
        """The first offset of the oldest open transaction, but never below the log start
        offset nor above the high watermark; the high watermark when none is open.

        DeleteRecords and retention may move the log start past the first offset of a
        transaction still open: the transaction stays open (its marker comes later, and its
        producer keeps its state), but the LSO is the log start, as Kafka's
        maybeIncrementFirstUnstableOffset keeps logStartOffset <= LSO <= high watermark.
        """
        high_watermark = self.high_watermark
        first_unstable = self.producer_state.first_unstable_offset
        if first_unstable is None:
            return high_watermark
        return min(max(first_unstable, self.log_start_offset), high_watermark)

    def append(self, records: bytes | bytearray | memoryview, now_ms: int, *, one_batch: bool = False,
               from_coordinator: bool = False) -> AppendResult:
        """Check every batch, then assign offsets and write them all, or write nothing.

        one_batch: records must be exactly one whole magic-2 batch (Kafka's rule for Produce
        v3+), else NoRecordBatchError, UnsupportedMessageFormatError or NotOneBatchError.
        from_coordinator: the broker's own append (a coordinator's records, a transaction
        marker): control batches are allowed and sequence numbers are not checked, as Kafka
        does for its coordinators; clients may not write control batches (InvalidRecordError).
        """
        view = records if isinstance(records, memoryview) else memoryview(records)
        if one_batch and not from_coordinator:
            return self._append_client_batch(view, now_ms)
        config = self.config
        if one_batch:
            batches = [(0, len(view), validate_one_batch(view, config.max_message_bytes))]
        else:
            batches = validate_batches(view, config.max_message_bytes)
        if config.compact:
            check_keys(view, batches, f"{self.topic}-{self.partition}")
        log_append_time = config.message_timestamp_type == "LogAppendTime"

        idempotent = control = False
        pending: dict[int, tuple[int, int]] = {}
        check = self.producer_state.check
        for _, _, header in batches:
            if header[ATTRIBUTES] & ATTR_CONTROL:
                if not from_coordinator:
                    raise InvalidRecordError("Clients are not allowed to write control records")
                control = True
            if header[PRODUCER_ID] >= 0:
                idempotent = True
                duplicate = check(header, pending, not from_coordinator)
                if duplicate is not None:
                    timestamp = duplicate[4] if log_append_time else -1
                    return AppendResult(duplicate[2], duplicate[3], timestamp, self.log_start_offset, duplicate=True)

        base_offset = next_offset = self.log_end_offset
        epoch = self.leader_epoch
        iov = []
        written = []  # (size, last_offset, max_timestamp) per batch
        total = 0
        for start, end, header in batches:
            last_offset = next_offset + header[LAST_OFFSET_DELTA]
            if log_append_time:
                batch = bytearray(view[start:end])
                set_log_append_time(batch, now_ms)
                FRONT.pack_into(batch, 0, next_offset, header[BATCH_LENGTH], epoch)
                iov.append(batch)
                written.append((end - start, last_offset, now_ms))
            else:
                iov.append(FRONT.pack(next_offset, header[BATCH_LENGTH], epoch))
                iov.append(view[start + FRONT.size : end])
                written.append((end - start, last_offset, header[MAX_TIMESTAMP]))
            total += end - start
            next_offset = last_offset + 1
        self._write(iov, total, written, now_ms)
        self.log_end_offset = next_offset
        if not self.unflushed_messages:
            self.last_flush_ms = now_ms  # flush.ms counts from the oldest record not flushed
        self.unflushed_messages += next_offset - base_offset  # records: each takes one offset
        if self.unflushed_messages >= config.flush_messages:
            self.flush(now_ms)

        if idempotent:
            update = self.producer_state.update
            for (start, end, header), (_, last_offset, max_timestamp) in zip(batches, written):
                if header[PRODUCER_ID] < 0:
                    continue
                if control and header[ATTRIBUTES] & ATTR_CONTROL:
                    self._complete_txn(view[start:end], header, last_offset, max_timestamp)
                else:
                    update(header, last_offset - header[LAST_OFFSET_DELTA], max_timestamp)
        return AppendResult(base_offset, next_offset - 1, now_ms if log_append_time else -1, self.log_start_offset)

    def _append_client_batch(self, view: memoryview, now_ms: int) -> AppendResult:
        """``append`` of one client batch (Produce v3+): the same checks and effects, in the same
        order, without the lists and loops that many batches need (this is the produce hot path)."""
        prepared = self._prepare_client_batch(view, now_ms, self.log_end_offset, {})
        if type(prepared) is AppendResult:
            return prepared    # a duplicate: nothing to write
        self._store_client_batches((prepared,), now_ms)
        return prepared[_RESULT]

    def client_batches(self, now_ms: int) -> ClientBatches:
        """Client batches of several Produce v3+ requests to this partition, appended together
        (see ClientBatches)."""
        return ClientBatches(self, now_ms)

    def _prepare_client_batch(self, view: memoryview, now_ms: int, base_offset: int, pending: dict,
                              run: ClientBatches | None = None) -> tuple | AppendResult:
        """Check one client batch as ``append(one_batch=True)`` does (StorageError if refused), and
        give it offsets from ``base_offset``: the duplicate's AppendResult for an idempotent retry,
        else (view, iov, size, last_offset, max_timestamp, header, AppendResult) for
        ``_store_client_batches``. ``pending``: the producers' progress in batches checked and not
        yet stored (ProducerStateManager.check); ``run``: the ClientBatches they belong to."""
        config = self.config
        header = validate_one_batch(view, config.max_message_bytes)
        size = len(view)
        if config.compact:
            check_keys(view, [(0, size, header)], f"{self.topic}-{self.partition}")
        log_append_time = config.message_timestamp_type == "LogAppendTime"
        if header[ATTRIBUTES] & ATTR_CONTROL:
            raise InvalidRecordError("Clients are not allowed to write control records")
        if header[PRODUCER_ID] >= 0:
            duplicate = self._check_producer(header, pending, run)
            if duplicate is not None:
                timestamp = duplicate[4] if log_append_time else -1
                return AppendResult(duplicate[2], duplicate[3], timestamp, self.log_start_offset, duplicate=True)
            if run is not None:
                base_offset = run.next_offset    # batches before it may have been stored meanwhile
        last_offset = base_offset + header[LAST_OFFSET_DELTA]
        if log_append_time:
            batch = bytearray(view)
            set_log_append_time(batch, now_ms)
            FRONT.pack_into(batch, 0, base_offset, header[BATCH_LENGTH], self.leader_epoch)
            iov = [batch]
            max_timestamp = now_ms
        else:
            iov = [FRONT.pack(base_offset, header[BATCH_LENGTH], self.leader_epoch), view[FRONT.size:]]
            max_timestamp = header[MAX_TIMESTAMP]
        return (view, iov, size, last_offset, max_timestamp, header,
                AppendResult(base_offset, last_offset, now_ms if log_append_time else -1, self.log_start_offset))

    def _check_producer(self, header: tuple, pending: dict, run: ClientBatches | None):
        """ProducerStateManager.check of an idempotent client batch. Within a run, a batch whose
        producer has batches not yet stored is checked against them; if that does not accept it
        (a duplicate, a gap, an old epoch), they are stored first and it is checked again,
        against what one append at a time would have stored: the same answer either way."""
        check = self.producer_state.check
        if run is not None and header[PRODUCER_ID] in pending:
            try:
                if check(header, pending, True) is None:
                    return None
            except StorageError:
                pass
            run.store()
            pending = run.pending
        return check(header, pending, True)

    def _store_client_batches(self, prepared, now_ms: int) -> None:
        """Write prepared client batches (offsets from the log end on, in order) with one write,
        then move the log end and the producers' state past them."""
        base_offset = self.log_end_offset
        if len(prepared) == 1:
            _, iov, size, last_offset, max_timestamp, header, _ = prepared[0]
            total, written = size, [(size, last_offset, max_timestamp)]
        else:
            iov, written, total = [], [], 0
            for _, parts, size, last_offset, max_timestamp, _, _ in prepared:
                iov += parts
                written.append((size, last_offset, max_timestamp))
                total += size
        self._write(iov, total, written, now_ms)
        self.log_end_offset = last_offset + 1
        if not self.unflushed_messages:
            self.last_flush_ms = now_ms
        self.unflushed_messages += last_offset + 1 - base_offset
        if self.unflushed_messages >= self.config.flush_messages:
            self.flush(now_ms)
        update = self.producer_state.update
        for _, _, _, last_offset, max_timestamp, header, _ in prepared:
            if header[PRODUCER_ID] >= 0:
                update(header, last_offset - header[LAST_OFFSET_DELTA], max_timestamp)

    def _must_roll(self, active, total: int, last_offset: int, now_ms: int) -> bool:
        """Kafka's roll rule, before a write of ``total`` bytes whose last offset is ``last_offset``:
        the active segment holds something, and the write would pass segment.bytes, or the
        segment is older than segment.ms, or an offset would not fit its indexes' 32-bit deltas."""
        config = self.config
        return active.size > 0 and (
            active.size + total > config.segment_bytes
            or now_ms - active.rolling_base_ms > config.max_segment_ms
            or last_offset - active.base_offset > INT32_MAX
        )

    def _one_write_fits(self, total: int, last_offset: int, records_before_last: int, now_ms: int) -> bool:
        """Whether batches of ``total`` bytes ending at ``last_offset`` stored with one write end
        where one write each would leave them: the active segment holds something and the roll
        rule does not fire for the group (it then fires for none of its batches: their sizes
        and offsets only grow), and flush.messages is not reached before the last batch."""
        active = self.segments[-1]
        return (active.size > 0 and not self._must_roll(active, total, last_offset, now_ms)
                and self.unflushed_messages + records_before_last < self.config.flush_messages)

    def append_replicated(self, records: bytes | bytearray | memoryview, now_ms: int) -> int:
        """A follower's append: whole batches as the leader wrote them, offsets and leader
        epochs kept, starting at the log end offset (else InvalidRecordError). Checked for
        structure and CRC only (the leader checked the rest; a compacted batch has gaps).
        A trailing partial batch is left out. Each batch of an epoch newer than the cache's
        starts that epoch. Returns the new log end offset."""
        view = records if isinstance(records, memoryview) else memoryview(records)
        batches = validate_replicated(view, self.log_end_offset, f"{self.topic}-{self.partition}")
        if not batches:
            return self.log_end_offset
        iov, written = [], []
        for start, end, header in batches:
            iov.append(view[start:end])
            written.append((end - start, header[BASE_OFFSET] + header[LAST_OFFSET_DELTA], header[MAX_TIMESTAMP]))
        self._write(iov, batches[-1][1] - batches[0][0], written, now_ms)
        self.log_end_offset = written[-1][1] + 1
        epochs = self.epochs
        update = self.producer_state.update
        for start, end, header in batches:
            if header[PARTITION_LEADER_EPOCH] > epochs.latest_epoch:
                epochs.assign(header[PARTITION_LEADER_EPOCH], header[BASE_OFFSET])
            if header[PRODUCER_ID] >= 0:
                if header[ATTRIBUTES] & ATTR_CONTROL:   # a transaction marker the leader wrote
                    self._complete_txn(view[start:end], header, header[BASE_OFFSET], header[MAX_TIMESTAMP])
                else:
                    update(header, header[BASE_OFFSET], header[MAX_TIMESTAMP])
        return self.log_end_offset

    def truncate_to(self, offset: int) -> None:
        """Cut the log at ``offset`` (a replica whose tail diverged from its leader's): every
        batch that ends at or after it goes, with the epochs that start there and the producer
        state past it. Nothing happens at or beyond the log end. An offset below the log start
        empties the log, which then starts there."""
        if offset >= self.log_end_offset:
            return
        self._truncate(max(offset, 0))
        self.epochs.truncate_from_end(self.log_end_offset)
        if self._high_watermark is not None and self._high_watermark > self.log_end_offset:
            self._high_watermark = self.log_end_offset

    def _truncate(self, offset: int) -> None:
        """The engine's cut: log_end_offset ends at or below offset, at a batch boundary; the
        producer state and the aborted transactions indexed are those of what is left."""
        raise NotImplementedError

    def append_marker(self, producer_id: int, producer_epoch: int, coordinator_epoch: int, committed: bool,
                      now_ms: int) -> AppendResult:
        """End the producer's transaction in this partition with a marker (commit or abort).
        InvalidProducerEpochError for an epoch older than the producer's, and
        TransactionCoordinatorFencedError for an older coordinator epoch, as Kafka checks."""
        self.producer_state.check_marker(producer_id, producer_epoch, coordinator_epoch)
        return self.append(build_marker(producer_id, producer_epoch, coordinator_epoch, committed, now_ms), now_ms,
                           from_coordinator=True)

    def _complete_txn(self, batch: memoryview, header: tuple, offset: int, timestamp: int) -> None:
        """A marker was written at ``offset``: close its producer's transaction; index it if aborted."""
        marker = marker_of(batch)
        if marker is None:
            self.producer_state.update(header, offset, timestamp)
            return
        completed = self.producer_state.complete_txn(header[PRODUCER_ID], header[PRODUCER_EPOCH],
                                                     marker.coordinator_epoch, offset, timestamp, marker.committed)
        if completed is not None and completed.aborted:
            self._index_aborted(completed)

    def _index_aborted(self, completed: CompletedTxn) -> None:
        """Add an aborted transaction to the index of the segment its marker is in."""
        raise NotImplementedError

    def aborted_transactions(self, fetch_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        """The aborted transactions whose records overlap [fetch_offset, upper_bound_offset),
        for a read_committed fetch of that range."""
        raise NotImplementedError

    def _write(self, iov: list, total: int, batches: list[tuple[int, int, int]], now_ms: int) -> None:
        """Store the batches: iov holds their total bytes with offsets assigned;
        batches holds (size, last_offset, max_timestamp) of each."""
        raise NotImplementedError

    def _check_read_offset(self, offset: int) -> ReadResult | None:
        """An empty result at log_end_offset; OffsetOutOfRangeError outside the log."""
        if offset == self.log_end_offset:
            return self._result([], 0, offset)
        if offset < self.log_start_offset or offset > self.log_end_offset:
            raise OffsetOutOfRangeError(
                f"offset {offset} is outside [{self.log_start_offset}, {self.log_end_offset}] "
                f"of {self.topic}-{self.partition}"
            )
        return None

    def _result(self, chunks: list, size: int, next_offset: int) -> ReadResult:
        return ReadResult(chunks, size, self.high_watermark, self.log_start_offset, self.last_stable_offset,
                          next_offset)

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadResult:
        """Whole batches from the one holding ``offset``, up to ``max_bytes`` (at least one
        batch), and none at or after ``max_offset`` (a batch boundary: the high watermark a
        consumer may read to, or the LSO for read_committed). OffsetOutOfRangeError outside the log."""
        raise NotImplementedError

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after log_start_offset with a timestamp
        of timestamp_ms or later; None if there is none."""
        raise NotImplementedError

    def segment_times(self) -> list[tuple[int, int, int]]:
        """(base offset, bytes, last modified ms) of each segment, oldest first."""
        raise NotImplementedError

    def max_timestamp(self) -> tuple[int, int]:
        raise NotImplementedError

    def batches_from_start(self, chunk_bytes: int = 16 << 20):
        """(batch, its header, the first offset to take from it) of every batch from the log
        start to its end, read in chunks of chunk_bytes: what a coordinator replays of its
        internal topic. Records of a batch below that offset are before the log start."""
        offset = self.log_start_offset
        while offset < self.log_end_offset:
            data = self.read(offset, chunk_bytes).read_bytes()
            start = offset
            for batch in iter_batches(data):
                header = read_header(batch)
                if header.last_offset >= offset:
                    yield batch, header, offset
                    offset = header.last_offset + 1
            if offset == start:
                return

    def newest_by_key(self, chunk_bytes: int = 16 << 20) -> dict[bytes, tuple[int, bytes | None]]:
        """key -> (offset, value or None for a tombstone) of the newest record of each key from
        the log start: the end state a reader of a compacted topic replays (records without a
        key left out). Reads the log in chunks of chunk_bytes; decodes no Record objects."""
        newest: dict = {}
        offset = self.log_start_offset
        while offset < self.log_end_offset:
            data = self.read(offset, chunk_bytes).read_bytes()
            last = offset - 1
            for batch in iter_batches(data):
                newest_by_key(batch, newest, offset)
                last = read_header(batch).last_offset
            if last < offset:
                break
            offset = last + 1
        return newest

    @property
    def size(self) -> int:
        """Bytes of record batches the log holds (Kafka's partition size: its segments' log files)."""
        return sum(segment.size for segment in self.segments)

    # ------------------------------------------------------------ the log start offset

    def delete_records(self, offset: int) -> int:
        """DeleteRecords: records below offset (-1: the high watermark) are gone for every
        reader; returns the new log start offset (the low watermark). Their segments go at the
        next retention check. PolicyViolationError unless cleanup.policy has delete,
        OffsetOutOfRangeError for an offset below 0 or above the high watermark."""
        tp = f"{self.topic}-{self.partition}"
        if not self.config.delete:
            raise PolicyViolationError(f"Records of partition {tp} can not be deleted due to the configured policy")
        if offset == -1:
            offset = self.high_watermark
        if offset < 0:
            raise OffsetOutOfRangeError(f"The offset {offset} for partition {tp} is not valid")
        self.increment_log_start_offset(offset)
        return self.log_start_offset

    def increment_log_start_offset(self, offset: int) -> bool:
        """Kafka's maybeIncrementLogStartOffset: move the start up (never down, never past the
        high watermark: OffsetOutOfRangeError); True if it moved."""
        if offset > self.high_watermark:
            raise OffsetOutOfRangeError(
                f"Cannot increment the log start offset to {offset} of partition {self.topic}-{self.partition} "
                f"since it is larger than the high watermark {self.high_watermark}")
        if offset <= self.log_start_offset:
            return False
        self.log_start_offset = offset
        self.epochs.truncate_from_start(offset)
        return True

    # ------------------------------------------------------------ retention (Kafka's UnifiedLog)

    def delete_old_segments(self, now_ms: int) -> int:
        """Delete the closed segments below the log start offset and, if cleanup.policy has
        delete, those beyond retention.bytes or older than retention.ms; returns how many.

        An active segment that is due goes too (an idle topic ages out): a new empty one is
        rolled first, as Kafka does, so the log always has a segment.
        """
        deleted = self._delete_segments(self._deletable(self._below_log_start), now_ms)
        config = self.config
        if config.delete:
            deleted += self._delete_segments(self._deletable(self._size_breach(config.retention_bytes)), now_ms)
            if config.retention_ms >= 0:
                deadline = now_ms - config.retention_ms
                deleted += self._delete_segments(
                    self._deletable(lambda segment, _: segment.largest_timestamp() < deadline), now_ms)
        return deleted

    def _below_log_start(self, segment, following) -> bool:
        return following is not None and following.base_offset <= self.log_start_offset

    def _size_breach(self, retention_bytes: int):
        size = self.size
        if retention_bytes < 0 or size < retention_bytes:
            return lambda segment, following: False
        excess = size - retention_bytes

        def breached(segment, following) -> bool:
            nonlocal excess
            if excess - segment.size < 0:
                return False
            excess -= segment.size
            return True

        return breached

    def _deletable(self, predicate) -> list:
        """The oldest segments for which predicate(segment, next segment or None) holds, up to
        the first that fails; never an empty active segment, nothing at or past the high watermark."""
        deletable = []
        segments = self.segments
        for i, segment in enumerate(segments):
            following = segments[i + 1] if i + 1 < len(segments) else None
            upper = following.base_offset if following is not None else self.log_end_offset
            if upper > self.high_watermark or (following is None and segment.size == 0):
                break
            if not predicate(segment, following):
                break
            deletable.append(segment)
        return deletable

    def _delete_segments(self, deletable: list, now_ms: int) -> int:
        if not deletable:
            return 0
        if len(deletable) == len(self.segments):
            self._roll()
        self.increment_log_start_offset(self.segments[len(deletable)].base_offset)
        self._remove_oldest_segments(len(deletable), now_ms)
        return len(deletable)

    def _roll(self):
        """Close the active segment and start a new one at log_end_offset."""
        raise NotImplementedError

    def _remove_oldest_segments(self, count: int, now_ms: int) -> None:
        raise NotImplementedError

    def take_deleted_files(self, now_ms: int) -> list[str]:
        """Files of deleted segments whose file.delete.delay.ms has passed (to unlink)."""
        return []

    def next_file_deletion_ms(self) -> int | None:
        """When take_deleted_files will next have files; None if no file waits."""
        return None

    # ------------------------------------------------------------ flushing

    def flush_due(self, now_ms: int) -> bool:
        """Records not flushed for flush.ms (Kafka's flush scheduler)."""
        return self.unflushed_messages > 0 and now_ms - self.last_flush_ms >= self.config.flush_ms

    def flush(self, now_ms: int | None = None) -> None:
        """Make everything appended durable (fsync)."""
        self.unflushed_messages = 0
        if now_ms is not None:
            self.last_flush_ms = now_ms

    def flush_fds(self, now_ms: int) -> list[int]:
        """For a flush off the event loop: duplicated descriptors to fsync (and close) elsewhere."""
        self.flush(now_ms)
        return []

    # ------------------------------------------------------------ producers

    def remove_expired_producers(self, now_ms: int, expiration_ms: int) -> int:
        """Forget producers whose last batch is older than producer.id.expiration.ms (Kafka's
        removeExpiredProducers): the cleaner then need not keep their last batch. A producer
        with a transaction open in the partition never expires (Kafka's isProducerExpired):
        its marker is still to come, and the LSO waits for it."""
        producers = self.producer_state.producers
        expired = [pid for pid, entry in producers.items()
                   if entry.current_txn_first_offset < 0 and now_ms - entry.last_timestamp >= expiration_ms]
        for producer_id in expired:
            del producers[producer_id]
        return len(expired)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.topic}-{self.partition}, "
            f"log_start_offset={self.log_start_offset}, log_end_offset={self.log_end_offset})"
        )


class ClientBatches:
    """The client batches of several Produce v3+ requests to one partition, appended together:
    ``add`` checks each as ``append(..., one_batch=True)`` would, in order, and gives it its
    offsets; ``store`` writes those accepted with one write. The outcome of every batch added,
    in order, is in ``outcomes``: its AppendResult, or the exception that refused it (a
    StorageError, or what a failed write raised). Each batch gets what one append at a time
    would have given it:
    - a batch whose producer has batches not yet stored, and whose check against them fails,
      is checked again once they are stored (PartitionLog._check_producer);
    - when the active segment would roll, or flush.messages be reached, before the last batch,
      each batch is written on its own, as it would be alone;
    - when a write fails, nothing of it is written (the segment cuts it off): its batches and
      those after it are appended again one at a time, each checked again and written on its
      own, and get what that gives them.
    """

    __slots__ = ("log", "now_ms", "start_offset", "next_offset", "pending", "prepared", "outcomes")

    def __init__(self, log: PartitionLog, now_ms: int) -> None:
        self.log = log
        self.now_ms = now_ms
        self.start_offset = self.next_offset = log.log_end_offset   # next: the offset the next batch added gets
        self.pending: dict = {}                 # producer id -> (epoch, last sequence) of batches not stored
        self.prepared: list = []                # (outcome index, prepared batch) not yet stored
        self.outcomes: list = []

    def add(self, records) -> None:
        """Check one client batch (the records of one partition of one request); its outcome is
        appended to ``outcomes``, final once ``store`` has run."""
        outcomes = self.outcomes
        view = records if type(records) is memoryview else memoryview(records)
        try:
            prepared = self.log._prepare_client_batch(view, self.now_ms, self.next_offset, self.pending, self)
        except Exception as exc:    # a StorageError refuses the batch; anything else fails its request
            outcomes.append(exc)
            return
        if type(prepared) is AppendResult:
            outcomes.append(prepared)    # a duplicate
            return
        self.prepared.append((len(outcomes), prepared))
        outcomes.append(prepared[_RESULT])
        self.next_offset = prepared[_RESULT].last_offset + 1

    def store(self) -> bool:
        """Write the batches checked and not yet stored; whether any batch of this run was
        written (a duplicate writes nothing)."""
        prepared = self.prepared
        if not prepared:
            return self.log.log_end_offset > self.start_offset
        self.prepared, self.pending = [], {}
        log, now_ms = self.log, self.now_ms
        if len(prepared) == 1:
            groups = ((prepared[0][1],),)
        else:
            batches = [batch for _, batch in prepared]
            last = batches[-1]
            one_write = log._one_write_fits(sum(batch[2] for batch in batches), last[3],
                                            last[_RESULT].base_offset - log.log_end_offset, now_ms)
            groups = (batches,) if one_write else [(batch,) for batch in batches]
        done = 0
        try:
            for group in groups:
                log._store_client_batches(group, now_ms)
                done += len(group)
        except Exception:
            for index, batch in prepared[done:]:
                try:
                    self.outcomes[index] = log._append_client_batch(batch[0], now_ms)
                except Exception as exc:
                    self.outcomes[index] = exc
        self.next_offset = log.log_end_offset
        return log.log_end_offset > self.start_offset
