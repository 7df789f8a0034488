"""The in-memory engine: a partition's batches as bytes in a list."""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left, bisect_right

from .config import LogConfig
from .log import PartitionLog
from .producer_state import ProducerStateManager
from .records import ATTR_TIMESTAMP_TYPE, decode_records, read_header

BASE_OFFSET_FIELD = struct.Struct(">q")
from .results import ReadResult


class MemoryPartitionLog(PartitionLog):
    def __init__(self, topic: str, partition: int, config: LogConfig) -> None:
        super().__init__(topic, partition, config)
        self.batches: list[bytes] = []
        self._base_offsets = array("q")
        # running maximum of batch max_timestamp, for a binary search by time
        self._max_timestamps_so_far = array("q")
        self._max_timestamp = -1
        self._max_timestamp_batch = -1
        self._last_write_ms = -1

    def _write(self, iov: list, total: int, batches: list[tuple[int, int, int]], now_ms: int) -> None:
        self._last_write_ms = now_ms
        parts = iter(iov)
        for size, _, max_timestamp in batches:
            first = next(parts)
            batch = first if len(first) == size else b"".join((first, next(parts)))
            self.batches.append(bytes(batch))
            self._base_offsets.append(BASE_OFFSET_FIELD.unpack_from(batch)[0])   # a follower's may skip offsets
            if max_timestamp > self._max_timestamp:
                self._max_timestamp = max_timestamp
                self._max_timestamp_batch = len(self.batches) - 1
            self._max_timestamps_so_far.append(self._max_timestamp)

    def _truncate(self, offset: int) -> None:
        batches = self.batches
        while batches and read_header(batches[-1]).last_offset >= offset:
            self.log_end_offset = self._base_offsets.pop()
            batches.pop()
            self._max_timestamps_so_far.pop()
        if not batches:
            self.log_end_offset = max(self.log_start_offset, min(self.log_end_offset, offset))
        self._max_timestamp = self._max_timestamps_so_far[-1] if batches else -1
        if self._max_timestamp_batch >= len(batches):
            self._max_timestamp_batch = next(i for i, t in enumerate(self._max_timestamps_so_far)
                                             if t == self._max_timestamp) if batches else -1
        self.producer_state = ProducerStateManager()
        for batch in batches:
            header = read_header(batch)
            if header.producer_id >= 0:
                self.producer_state.update(header, header.base_offset, header.max_timestamp)

    def truncate_fully(self, start_offset: int) -> None:
        """Empty the log and start it at start_offset."""
        self.batches.clear()
        self._base_offsets = array("q")
        self._max_timestamps_so_far = array("q")
        self._max_timestamp = self._max_timestamp_batch = -1
        self.log_start_offset = self.log_end_offset = start_offset
        self.producer_state = ProducerStateManager()
        self.epochs.clear()
        if self._high_watermark is not None:
            self._high_watermark = start_offset

    @property
    def size(self) -> int:
        return sum(map(len, self.batches))

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadResult:
        empty = self._check_read_offset(offset)
        if empty is not None:
            return empty
        first = bisect_right(self._base_offsets, offset) - 1
        batches = self.batches
        end = len(batches) if max_offset is None else bisect_left(self._base_offsets, max_offset)
        if first >= end:
            return self._result([], 0)
        chunks = [batches[first]]
        size = len(chunks[0])
        for batch in batches[first + 1:end]:
            if size + len(batch) > max_bytes:
                break
            chunks.append(batch)
            size += len(batch)
        return self._result(chunks, size)

    def segment_times(self) -> list[tuple[int, int, int]]:
        """The log as one segment: (log start offset, bytes, time of the last append in ms)."""
        return [(self.log_start_offset, self.size, self._last_write_ms)]

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        index = bisect_left(self._max_timestamps_so_far, timestamp_ms)
        if index == len(self.batches):
            return None
        for record in decode_records(self.batches[index]):
            if record.timestamp >= timestamp_ms:
                return record.offset, record.timestamp
        return None

    def max_timestamp(self) -> tuple[int, int]:
        if self._max_timestamp_batch < 0:
            return -1, -1
        batch = self.batches[self._max_timestamp_batch]
        header = read_header(batch)
        if header.attributes & ATTR_TIMESTAMP_TYPE:
            return header.last_offset, header.max_timestamp
        for record in decode_records(batch):
            if record.timestamp == header.max_timestamp:
                return record.offset, record.timestamp
        return header.last_offset, header.max_timestamp
