"""PartitionLog: what both engines share (append checks, offsets, producer state, and for
a replicated partition its high watermark, leader epochs, follower appends and truncation)."""

from __future__ import annotations

from .config import LogConfig
from .epochs import LeaderEpochCache
from .errors import OffsetOutOfRangeError
from .producer_state import ProducerStateManager
from .records import (
    BASE_OFFSET, BATCH_LENGTH, FRONT, LAST_OFFSET_DELTA, MAX_TIMESTAMP, PARTITION_LEADER_EPOCH, PRODUCER_ID,
    set_log_append_time)
from .results import AppendResult, ReadResult
from .validation import validate_batches, validate_one_batch, validate_replicated

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
        return self.high_watermark

    @property
    def size(self) -> int:
        """Bytes of record batches the log holds (Kafka's partition size: its segments' log files)."""
        raise NotImplementedError

    def append(self, records: bytes | bytearray | memoryview, now_ms: int, *, one_batch: bool = False) -> AppendResult:
        """Check every batch, then assign offsets and write them all, or write nothing.

        one_batch: records must be exactly one whole magic-2 batch (Kafka's rule for Produce
        v3+), else NoRecordBatchError, UnsupportedMessageFormatError or NotOneBatchError.
        """
        view = records if isinstance(records, memoryview) else memoryview(records)
        config = self.config
        if one_batch:
            batches = [(0, len(view), validate_one_batch(view, config.max_message_bytes))]
        else:
            batches = validate_batches(view, config.max_message_bytes)
        log_append_time = config.message_timestamp_type == "LogAppendTime"

        idempotent = False
        pending: dict[int, tuple[int, int]] = {}
        for _, _, header in batches:
            if header[PRODUCER_ID] >= 0:
                idempotent = True
                duplicate = self.producer_state.check(header, pending)
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

        if idempotent:
            update = self.producer_state.update
            for (_, _, header), (_, last_offset, max_timestamp) in zip(batches, written):
                if header[PRODUCER_ID] >= 0:
                    update(header, last_offset - header[LAST_OFFSET_DELTA], max_timestamp)
        return AppendResult(base_offset, next_offset - 1, now_ms if log_append_time else -1, self.log_start_offset)

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
        for _, _, header in batches:
            if header[PARTITION_LEADER_EPOCH] > epochs.latest_epoch:
                epochs.assign(header[PARTITION_LEADER_EPOCH], header[BASE_OFFSET])
            if header[PRODUCER_ID] >= 0:
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
        """The engine's cut: log_end_offset ends at or below offset, at a batch boundary."""
        raise NotImplementedError

    def _write(self, iov: list, total: int, batches: list[tuple[int, int, int]], now_ms: int) -> None:
        """Store the batches: iov holds their total bytes with offsets assigned;
        batches holds (size, last_offset, max_timestamp) of each."""
        raise NotImplementedError

    def _check_read_offset(self, offset: int) -> ReadResult | None:
        """An empty result at log_end_offset; OffsetOutOfRangeError outside the log."""
        if offset == self.log_end_offset:
            return self._result([], 0)
        if offset < self.log_start_offset or offset > self.log_end_offset:
            raise OffsetOutOfRangeError(
                f"offset {offset} is outside [{self.log_start_offset}, {self.log_end_offset}] "
                f"of {self.topic}-{self.partition}"
            )
        return None

    def _result(self, chunks: list, size: int) -> ReadResult:
        high_watermark = self.high_watermark
        return ReadResult(chunks, size, high_watermark, self.log_start_offset, high_watermark)

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadResult:
        """Whole batches from the one holding ``offset``, up to ``max_bytes`` (at least one
        batch), and none at or after ``max_offset`` (a batch boundary: the high watermark a
        consumer may read to). OffsetOutOfRangeError outside the log."""
        raise NotImplementedError

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        raise NotImplementedError

    def segment_times(self) -> list[tuple[int, int, int]]:
        """(base offset, bytes, last modified ms) of each segment, oldest first."""
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
