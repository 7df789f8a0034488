"""PartitionLog: what both engines share (append checks, offsets, producer state, transactions)."""

from __future__ import annotations

from .config import LogConfig
from .control import build_marker, marker_of
from .errors import InvalidRecordError, OffsetOutOfRangeError
from .producer_state import CompletedTxn, ProducerStateManager
from .records import (
    ATTR_CONTROL,
    ATTRIBUTES,
    BATCH_LENGTH,
    FRONT,
    LAST_OFFSET_DELTA,
    MAX_TIMESTAMP,
    PRODUCER_EPOCH,
    PRODUCER_ID,
    set_log_append_time,
)
from .results import AppendResult, ReadResult
from .txn_index import AbortedTxn
from .validation import validate_batches, validate_one_batch

ASSIGNED_PARTITION_LEADER_EPOCH = 0  # one broker, one leader epoch


class PartitionLog:
    """The log of one partition. Subclasses store batches (files or memory)."""

    def __init__(self, topic: str, partition: int, config: LogConfig) -> None:
        self.topic = topic
        self.partition = partition
        self.config = config
        self.log_start_offset = 0
        self.log_end_offset = 0
        self.producer_state = ProducerStateManager()

    @property
    def high_watermark(self) -> int:
        return self.log_end_offset

    @property
    def last_stable_offset(self) -> int:
        """The first offset of the oldest open transaction; the high watermark when none is open."""
        first_unstable = self.producer_state.first_unstable_offset
        return self.log_end_offset if first_unstable is None else first_unstable

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
        config = self.config
        if one_batch:
            batches = [(0, len(view), validate_one_batch(view, config.max_message_bytes))]
        else:
            batches = validate_batches(view, config.max_message_bytes)
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
        iov = []
        written = []  # (size, last_offset, max_timestamp) per batch
        total = 0
        for start, end, header in batches:
            last_offset = next_offset + header[LAST_OFFSET_DELTA]
            if log_append_time:
                batch = bytearray(view[start:end])
                set_log_append_time(batch, now_ms)
                FRONT.pack_into(batch, 0, next_offset, header[BATCH_LENGTH], ASSIGNED_PARTITION_LEADER_EPOCH)
                iov.append(batch)
                written.append((end - start, last_offset, now_ms))
            else:
                iov.append(FRONT.pack(next_offset, header[BATCH_LENGTH], ASSIGNED_PARTITION_LEADER_EPOCH))
                iov.append(view[start + FRONT.size : end])
                written.append((end - start, last_offset, header[MAX_TIMESTAMP]))
            total += end - start
            next_offset = last_offset + 1
        self._write(iov, total, written, now_ms)
        self.log_end_offset = next_offset

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
        end = self.log_end_offset
        return ReadResult(chunks, size, end, self.log_start_offset, self.last_stable_offset, next_offset)

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadResult:
        """Whole batches from the one holding ``offset``, up to ``max_bytes`` (at least one
        batch), and none at or after ``max_offset`` (a batch boundary, such as the LSO for
        read_committed). OffsetOutOfRangeError outside the log."""
        raise NotImplementedError

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        raise NotImplementedError

    def max_timestamp(self) -> tuple[int, int]:
        raise NotImplementedError

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.topic}-{self.partition}, "
            f"log_start_offset={self.log_start_offset}, log_end_offset={self.log_end_offset})"
        )
