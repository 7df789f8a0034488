"""The in-memory engine: a partition's batches as bytes, in segments as on disk.

Segments roll by segment.bytes and segment.ms as files do, so retention and the cleaner
work on the memory engine the same way (whole segments), and a long-running broker with
`--memory` keeps its memory bounded as the disk engine keeps its files.
"""

from __future__ import annotations

import struct
import time
from array import array
from bisect import bisect_left, bisect_right

from .config import LogConfig
from .control import marker_of
from .log import PartitionLog
from .producer_state import CompletedTxn, ProducerStateManager
from .records import ATTR_CONTROL, ATTR_TIMESTAMP_TYPE, decode_records, read_header
from .results import ReadResult
from .txn_index import AbortedTxn, TransactionIndex

BASE_OFFSET_FIELD = struct.Struct(">q")   # a follower's batches keep their offsets, which may skip some


class MemorySegment:
    """The batches of one segment, with the facts retention and reads need."""

    __slots__ = ("base_offset", "batches", "base_offsets", "max_timestamps_so_far", "size", "next_offset",
                 "max_timestamp", "max_timestamp_batch", "rolling_base_ms", "created_ms", "last_write_ms")

    def __init__(self, base_offset: int, now_ms: int = -1) -> None:
        self.base_offset = base_offset
        self.batches: list[bytes] = []
        self.base_offsets = array("q")
        # running maximum of batch max_timestamp, for a binary search by time
        self.max_timestamps_so_far = array("q")
        self.size = 0
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.max_timestamp_batch = -1
        self.rolling_base_ms = -1
        self.created_ms = now_ms if now_ms >= 0 else int(time.time() * 1000)
        self.last_write_ms = self.created_ms   # as a segment file's modification time

    def add(self, batch: bytes, base_offset: int, last_offset: int, max_timestamp: int) -> None:
        self.batches.append(batch)
        self.base_offsets.append(base_offset)
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
            self.max_timestamp_batch = len(self.batches) - 1
        self.max_timestamps_so_far.append(self.max_timestamp)
        self.size += len(batch)
        self.next_offset = last_offset + 1

    def largest_timestamp(self) -> int:
        """Kafka's largestTimestamp: the largest record timestamp, else when the segment began."""
        return self.max_timestamp if self.max_timestamp >= 0 else self.created_ms

    def first_batch_timestamp(self) -> int:
        return read_header(self.batches[0]).max_timestamp if self.batches else -1

    @classmethod
    def of_batches(cls, base_offset: int, batches: list[bytes], next_offset: int) -> MemorySegment:
        """A closed segment holding batches (whole, offsets assigned), e.g. a cleaned one."""
        segment = cls(base_offset)
        for batch in batches:
            header = read_header(batch)
            segment.add(batch, header.base_offset, header.last_offset, header.max_timestamp)
        segment.next_offset = next_offset
        return segment


class MemoryPartitionLog(PartitionLog):
    def __init__(self, topic: str, partition: int, config: LogConfig) -> None:
        super().__init__(topic, partition, config)
        self.segments: list[MemorySegment] = [MemorySegment(0)]
        self._base_offsets = array("q", [0])
        self.txn_index = TransactionIndex(None)   # the whole log's aborted transactions

    def _write(self, iov: list, total: int, batches: list[tuple[int, int, int]], now_ms: int) -> None:
        active = self.segments[-1]
        if self._must_roll(active, total, batches[-1][1], now_ms):
            active = self._roll(now_ms)
        if active.size == 0:
            active.rolling_base_ms = now_ms
        active.last_write_ms = now_ms
        if len(batches) == 1:   # a produce: one batch, as front and rest (or as one rewritten batch)
            size, last_offset, max_timestamp = batches[0]
            batch = b"".join(iov) if len(iov) > 1 else bytes(iov[0])
            active.add(batch, BASE_OFFSET_FIELD.unpack_from(batch)[0], last_offset, max_timestamp)
            return
        parts = iter(iov)
        for size, last_offset, max_timestamp in batches:
            first = next(parts)
            batch = bytes(first if len(first) == size else b"".join((first, next(parts))))
            active.add(batch, BASE_OFFSET_FIELD.unpack_from(batch)[0], last_offset, max_timestamp)

    def _roll(self, now_ms: int = -1) -> MemorySegment:
        segment = MemorySegment(self.log_end_offset, now_ms)
        self.segments.append(segment)
        self._base_offsets.append(segment.base_offset)
        return segment

    def _remove_oldest_segments(self, count: int, now_ms: int) -> None:
        del self.segments[:count]
        del self._base_offsets[:count]
        self.txn_index.drop_before(self.segments[0].base_offset)   # as the files' .txnindex go with them

    def replace_segments(self, cleaned: MemorySegment, replaced: list[int]) -> None:
        """Put a cleaned segment in place of the closed segments whose base offsets are replaced."""
        i = bisect_right(self._base_offsets, cleaned.base_offset) - 1
        if [s.base_offset for s in self.segments[i : i + len(replaced)]] != replaced:
            raise ValueError(f"segments {replaced} are not segments of {self.topic}-{self.partition}")
        self.segments[i : i + len(replaced)] = [cleaned]
        self._base_offsets = array("q", (s.base_offset for s in self.segments))

    def _truncate(self, offset: int) -> None:
        """Drop the batches that end at or after offset (and segments left empty), then replay
        the producer state from what is left."""
        segments = self.segments
        end = self.log_end_offset
        while True:
            segment = segments[-1]
            kept = list(segment.batches)
            while kept and read_header(kept[-1]).last_offset >= offset:
                end = read_header(kept.pop()).base_offset
            if kept or len(segments) == 1:
                end = min(end, max(offset, self.log_start_offset)) if not kept else end
                segments[-1] = MemorySegment.of_batches(segment.base_offset, kept, end)
                break
            segments.pop()
            self._base_offsets.pop()
        self.log_end_offset = end
        self.txn_index.truncate_to(end)   # aborts whose marker was cut
        state = self.producer_state = ProducerStateManager()
        for segment in segments:
            for batch in segment.batches:
                header = read_header(batch)
                if header.producer_id < 0:
                    continue
                marker = marker_of(memoryview(batch)) if header.attributes & ATTR_CONTROL else None
                if marker is None:
                    state.update(header, header.base_offset, header.max_timestamp)
                else:   # its abort, if it was one, is still in the index
                    state.complete_txn(header.producer_id, header.producer_epoch, marker.coordinator_epoch,
                                       header.base_offset, header.max_timestamp, marker.committed)

    def truncate_fully(self, start_offset: int) -> None:
        """Empty the log and start it at start_offset."""
        self.segments = [MemorySegment(start_offset)]
        self._base_offsets = array("q", [start_offset])
        self.log_start_offset = self.log_end_offset = start_offset
        self.producer_state = ProducerStateManager()
        self.txn_index.reset()
        self.epochs.clear()
        if self._high_watermark is not None:
            self._high_watermark = start_offset

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadResult:
        empty = self._check_read_offset(offset)
        if empty is not None:
            return empty
        if max_offset is not None and offset >= max_offset:
            return self._result([], 0, offset)
        i = bisect_right(self._base_offsets, offset) - 1
        chunks, size = [], 0
        for segment in self.segments[i:]:
            first = max(0, bisect_right(segment.base_offsets, offset) - 1)
            for batch, base in zip(segment.batches[first:], segment.base_offsets[first:]):
                if (max_offset is not None and base >= max_offset) or (size and size + len(batch) > max_bytes):
                    return self._result(chunks, size, base if chunks else offset)
                if not size and read_header(batch).last_offset < offset:
                    continue  # a compacted segment: this batch ends before the offset asked for
                chunks.append(batch)
                size += len(batch)
        return self._result(chunks, size, self.log_end_offset)

    def _index_aborted(self, completed: CompletedTxn) -> None:
        self.txn_index.append(AbortedTxn(*completed[:4]))

    def aborted_transactions(self, fetch_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        return self.txn_index.collect(fetch_offset, upper_bound_offset)[0]

    def segment_times(self) -> list[tuple[int, int, int]]:
        """(base offset, bytes, time of the last append in ms) of each segment, oldest first."""
        return [(s.base_offset, s.size, s.last_write_ms) for s in self.segments]

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        start = self.log_start_offset
        for segment in self.segments:
            if segment.next_offset <= start or segment.max_timestamp < timestamp_ms:
                continue
            index = bisect_left(segment.max_timestamps_so_far, timestamp_ms)
            for batch in segment.batches[index:]:
                for record in decode_records(batch):
                    if record.timestamp >= timestamp_ms and record.offset >= start:
                        return record.offset, record.timestamp
        return None

    def max_timestamp(self) -> tuple[int, int]:
        best = max(self.segments, key=lambda s: s.max_timestamp)
        if best.max_timestamp_batch < 0:
            return -1, -1
        batch = best.batches[best.max_timestamp_batch]
        header = read_header(batch)
        if header.attributes & ATTR_TIMESTAMP_TYPE:
            return header.last_offset, header.max_timestamp
        for record in decode_records(batch):
            if record.timestamp == header.max_timestamp:
                return record.offset, record.timestamp
        return header.last_offset, header.max_timestamp
