"""PartitionLog: what both engines share (append checks, offsets, producer state)."""

from __future__ import annotations

from .config import LogConfig
from .errors import OffsetOutOfRangeError
from .producer_state import ProducerStateManager
from .records import BATCH_LENGTH, FRONT, LAST_OFFSET_DELTA, MAX_TIMESTAMP, PRODUCER_ID, set_log_append_time
from .results import AppendResult, ReadResult
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
        return self.log_end_offset

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
            for (_, _, header), (_, last_offset, max_timestamp) in zip(batches, written):
                if header[PRODUCER_ID] >= 0:
                    update(header, last_offset - header[LAST_OFFSET_DELTA], max_timestamp)
        return AppendResult(base_offset, next_offset - 1, now_ms if log_append_time else -1, self.log_start_offset)

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
        end = self.log_end_offset
        return ReadResult(chunks, size, end, self.log_start_offset, end)

    def read(self, offset: int, max_bytes: int) -> ReadResult:
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
