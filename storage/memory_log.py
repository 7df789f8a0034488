"""The in-memory engine: a partition's batches as bytes in a list."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right

from .config import LogConfig
from .log import PartitionLog
from .producer_state import CompletedTxn
from .records import ATTR_TIMESTAMP_TYPE, decode_records, read_header
from .results import ReadResult
from .txn_index import AbortedTxn, TransactionIndex


class MemoryPartitionLog(PartitionLog):
    def __init__(self, topic: str, partition: int, config: LogConfig) -> None:
        super().__init__(topic, partition, config)
        self.batches: list[bytes] = []
        self._base_offsets = array("q")
        # running maximum of batch max_timestamp, for a binary search by time
        self._max_timestamps_so_far = array("q")
        self._max_timestamp = -1
        self._max_timestamp_batch = -1
        self.txn_index = TransactionIndex(None)

    def _write(self, iov: list, total: int, batches: list[tuple[int, int, int]], now_ms: int) -> None:
        parts = iter(iov)
        offset = self.log_end_offset
        for size, last_offset, max_timestamp in batches:
            first = next(parts)
            batch = first if len(first) == size else b"".join((first, next(parts)))
            self.batches.append(bytes(batch))
            self._base_offsets.append(offset)
            if max_timestamp > self._max_timestamp:
                self._max_timestamp = max_timestamp
                self._max_timestamp_batch = len(self.batches) - 1
            self._max_timestamps_so_far.append(self._max_timestamp)
            offset = last_offset + 1

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> ReadResult:
        empty = self._check_read_offset(offset)
        if empty is not None:
            return empty
        first = bisect_right(self._base_offsets, offset) - 1
        last = len(self.batches) if max_offset is None else bisect_left(self._base_offsets, max_offset)
        if first >= last:
            return self._result([], 0, offset)
        batches = self.batches
        chunks = [batches[first]]
        size = len(chunks[0])
        end = first + 1
        while end < last and size + len(batches[end]) <= max_bytes:
            chunks.append(batches[end])
            size += len(batches[end])
            end += 1
        next_offset = self._base_offsets[end] if end < len(batches) else self.log_end_offset
        return self._result(chunks, size, next_offset)

    def _index_aborted(self, completed: CompletedTxn) -> None:
        self.txn_index.append(AbortedTxn(*completed[:4]))

    def aborted_transactions(self, fetch_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        return self.txn_index.collect(fetch_offset, upper_bound_offset)[0]

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
