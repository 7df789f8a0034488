"""Idempotent-producer state of one partition, as Kafka's ProducerStateManager keeps it.

Per producer id: the current epoch and the metadata of its last 5 batches
(first sequence, last sequence, base offset, last offset, max timestamp).

Snapshot file `<offset, 20 digits>.snapshot`: the state after every batch below offset.
All integers big-endian:
  magic b"KBPS" | version int16 = 1 | crc uint32 (CRC-32C of every byte after it) |
  producer_count int32 | producer_count times:
    producer_id int64 | producer_epoch int16 | last_timestamp int64 | batch_count int8 |
    batch_count times: first_sequence int32 | last_sequence int32 | base_offset int64 |
                       last_offset int64 | timestamp int64
"""

from __future__ import annotations

import struct
from collections import deque

from .crc import crc32c

from .errors import InvalidProducerEpochError, OutOfOrderSequenceError
from .records import (
    ATTR_CONTROL,
    ATTRIBUTES,
    BASE_SEQUENCE,
    INT32_MAX,
    LAST_OFFSET_DELTA,
    NO_SEQUENCE,
    PRODUCER_EPOCH,
    PRODUCER_ID,
    last_sequence_of,
)

BATCHES_TO_RETAIN = 5

SNAPSHOT_MAGIC = b"KBPS"
SNAPSHOT_VERSION = 1
_SNAPSHOT_HEAD = struct.Struct(">4shI")
_COUNT = struct.Struct(">i")
_PRODUCER = struct.Struct(">qhqb")
_BATCH = struct.Struct(">iiqqq")


class ProducerEntry:
    __slots__ = ("producer_epoch", "batches", "last_timestamp")

    def __init__(self, producer_epoch: int) -> None:
        self.producer_epoch = producer_epoch
        # (first_sequence, last_sequence, base_offset, last_offset, timestamp), oldest first
        self.batches: deque[tuple[int, int, int, int, int]] = deque(maxlen=BATCHES_TO_RETAIN)
        self.last_timestamp = -1

    def last_sequence(self) -> int:
        return self.batches[-1][1] if self.batches else NO_SEQUENCE


def in_sequence(last_sequence: int, next_sequence: int) -> bool:
    return next_sequence == last_sequence + 1 or (next_sequence == 0 and last_sequence == INT32_MAX)


class ProducerStateManager:
    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}

    def check(self, header: tuple, pending: dict[int, tuple[int, int]]) -> tuple[int, int, int, int, int] | None:
        """Validate one batch of a producer (its HEADER tuple or BatchHeader; producer_id >= 0);
        return the retained batch it duplicates, or None.

        pending holds (epoch, last sequence) of batches checked earlier in the same append;
        it is updated when the batch is accepted. Raises InvalidProducerEpochError or
        OutOfOrderSequenceError.
        """
        producer_id = header[PRODUCER_ID]
        producer_epoch = header[PRODUCER_EPOCH]
        first_sequence = header[BASE_SEQUENCE]
        last_sequence = last_sequence_of(header)
        is_control = header[ATTRIBUTES] & ATTR_CONTROL
        entry = self.producers.get(producer_id)
        if entry is not None and entry.producer_epoch == producer_epoch and not is_control:
            for batch in entry.batches:
                if batch[0] == first_sequence and batch[1] == last_sequence:
                    return batch
        current = pending.get(producer_id)
        if current is None and entry is not None:
            current = (entry.producer_epoch, entry.last_sequence())
        if current is not None:
            current_epoch, current_last_sequence = current
            if producer_epoch < current_epoch:
                raise InvalidProducerEpochError(
                    f"producer {producer_id} epoch {producer_epoch} is older than {current_epoch}"
                )
            if is_control:
                pass
            elif producer_epoch != current_epoch:
                if first_sequence != 0:
                    raise OutOfOrderSequenceError(
                        f"producer {producer_id} new epoch {producer_epoch} starts at sequence {first_sequence}, not 0"
                    )
            elif current_last_sequence == NO_SEQUENCE:
                if first_sequence != 0:
                    raise OutOfOrderSequenceError(
                        f"producer {producer_id} has no batch yet; sequence {first_sequence} is not 0"
                    )
            elif not in_sequence(current_last_sequence, first_sequence):
                raise OutOfOrderSequenceError(
                    f"producer {producer_id} sequence {first_sequence} after {current_last_sequence}"
                )
        if is_control:
            keep = current[1] if current is not None and current[0] == producer_epoch else NO_SEQUENCE
            pending[producer_id] = (producer_epoch, keep)
        else:
            pending[producer_id] = (producer_epoch, last_sequence)
        return None

    def update(self, header: tuple, base_offset: int, timestamp: int) -> None:
        """Record a batch of a producer written to the log (or replayed from it): its HEADER
        tuple or BatchHeader, the offset it was stored at, and its max timestamp as stored."""
        producer_id = header[PRODUCER_ID]
        producer_epoch = header[PRODUCER_EPOCH]
        entry = self.producers.get(producer_id)
        if entry is None:
            entry = self.producers[producer_id] = ProducerEntry(producer_epoch)
        elif entry.producer_epoch != producer_epoch:
            entry.producer_epoch = producer_epoch
            entry.batches.clear()
        if not header[ATTRIBUTES] & ATTR_CONTROL:
            last_offset = base_offset + header[LAST_OFFSET_DELTA]
            entry.batches.append((header[BASE_SEQUENCE], last_sequence_of(header), base_offset, last_offset, timestamp))
        entry.last_timestamp = timestamp

    def truncate(self) -> None:
        self.producers.clear()

    # ------------------------------------------------------------ snapshots

    def to_snapshot(self) -> bytes:
        parts = [_COUNT.pack(len(self.producers))]
        for producer_id, entry in self.producers.items():
            parts.append(_PRODUCER.pack(producer_id, entry.producer_epoch, entry.last_timestamp, len(entry.batches)))
            parts.extend(_BATCH.pack(*batch) for batch in entry.batches)
        body = b"".join(parts)
        return _SNAPSHOT_HEAD.pack(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, crc32c(body)) + body

    @classmethod
    def from_snapshot(cls, data: bytes) -> ProducerStateManager:
        """Parse a snapshot; ValueError if it is damaged or of another version."""
        if len(data) < _SNAPSHOT_HEAD.size + _COUNT.size:
            raise ValueError("snapshot too short")
        magic, version, crc = _SNAPSHOT_HEAD.unpack_from(data, 0)
        if magic != SNAPSHOT_MAGIC or version != SNAPSHOT_VERSION:
            raise ValueError("not a version 1 producer snapshot")
        body = memoryview(data)[_SNAPSHOT_HEAD.size :]
        if crc32c(body) != crc:
            raise ValueError("snapshot CRC mismatch")
        try:
            state = cls()
            (count,) = _COUNT.unpack_from(body, 0)
            position = _COUNT.size
            for _ in range(count):
                producer_id, epoch, last_timestamp, batch_count = _PRODUCER.unpack_from(body, position)
                position += _PRODUCER.size
                entry = ProducerEntry(epoch)
                entry.last_timestamp = last_timestamp
                for _ in range(batch_count):
                    entry.batches.append(_BATCH.unpack_from(body, position))
                    position += _BATCH.size
                state.producers[producer_id] = entry
        except struct.error as exc:
            raise ValueError(f"truncated snapshot: {exc}") from exc
        if position != len(body):
            raise ValueError("bytes left after the snapshot")
        return state
