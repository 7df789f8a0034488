"""Producer state of one partition, as Kafka's ProducerStateManager keeps it.

Per producer id: the current epoch, the metadata of its last 5 batches (first sequence,
last sequence, base offset, last offset, max timestamp), the coordinator epoch of the last
transaction marker, and the first offset of its open transaction (-1 when none).

The open transactions of the partition, by first offset, give its last stable offset (LSO):
the first offset of the oldest open transaction. A transactional batch opens one when its
producer has none; a marker (``complete_txn``) closes it and tells what an aborted one
spanned, for the transaction index.

Snapshot file `<offset, 20 digits>.snapshot`: the state after every batch below offset.
All integers big-endian:
  magic b"KBPS" | version int16 = 2 | crc uint32 (CRC-32C of every byte after it) |
  producer_count int32 | producer_count times:
    producer_id int64 | producer_epoch int16 | last_timestamp int64 |
    coordinator_epoch int32 | current_txn_first_offset int64 | batch_count int8 |
    batch_count times: first_sequence int32 | last_sequence int32 | base_offset int64 |
                       last_offset int64 | timestamp int64
Version 1 (without coordinator_epoch and current_txn_first_offset) is still read. Kafka's
own .snapshot carries the same per-producer facts (CoordinatorEpoch, CurrentTxnFirstOffset).
"""

from __future__ import annotations

import struct
from collections import deque
from typing import NamedTuple

from .crc import crc32c

from .errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceError,
    TransactionCoordinatorFencedError,
)
from .records import (
    ATTR_CONTROL,
    ATTR_TRANSACTIONAL,
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
SNAPSHOT_VERSION = 2
_SNAPSHOT_HEAD = struct.Struct(">4shI")
_COUNT = struct.Struct(">i")
_PRODUCER = {1: struct.Struct(">qhqb"), 2: struct.Struct(">qhqiqb")}
_BATCH = struct.Struct(">iiqqq")


class ProducerEntry:
    __slots__ = ("producer_epoch", "batches", "last_timestamp", "coordinator_epoch", "current_txn_first_offset")

    def __init__(self, producer_epoch: int) -> None:
        self.producer_epoch = producer_epoch
        # (first_sequence, last_sequence, base_offset, last_offset, timestamp), oldest first
        self.batches: deque[tuple[int, int, int, int, int]] = deque(maxlen=BATCHES_TO_RETAIN)
        self.last_timestamp = -1
        self.coordinator_epoch = -1
        self.current_txn_first_offset = -1

    def last_sequence(self) -> int:
        return self.batches[-1][1] if self.batches else NO_SEQUENCE


def in_sequence(last_sequence: int, next_sequence: int) -> bool:
    return next_sequence == last_sequence + 1 or (next_sequence == 0 and last_sequence == INT32_MAX)


class CompletedTxn(NamedTuple):
    """A transaction a marker ended: what an aborted one adds to the transaction index."""
    producer_id: int
    first_offset: int
    last_offset: int          # the marker's offset
    last_stable_offset: int   # the partition's LSO once the marker is written
    aborted: bool


class ProducerStateManager:
    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}
        # first offset -> producer id of each open transaction. Transactions open at the end
        # of the log, so insertion order is offset order and the first key is the oldest.
        self.ongoing: dict[int, int] = {}

    @property
    def first_unstable_offset(self) -> int | None:
        """The first offset of the oldest open transaction (the LSO), None when none is open."""
        for first_offset in self.ongoing:
            return first_offset
        return None

    def check(self, header: tuple, pending: dict[int, tuple[int, int]],
              check_sequence: bool = True) -> tuple[int, int, int, int, int] | None:
        """Validate one batch of a producer (its HEADER tuple or BatchHeader; producer_id >= 0);
        return the retained batch it duplicates, or None.

        pending holds (epoch, last sequence) of batches checked earlier in the same append;
        it is updated when the batch is accepted. Raises InvalidProducerEpochError,
        OutOfOrderSequenceError, or InvalidTxnStateError (a non-transactional batch from a
        producer with an open transaction). ``check_sequence`` False (the broker's own
        appends: transactional offset commits, markers) checks epochs only, as Kafka does
        for its coordinators.
        """
        producer_id = header[PRODUCER_ID]
        producer_epoch = header[PRODUCER_EPOCH]
        first_sequence = header[BASE_SEQUENCE]
        last_sequence = last_sequence_of(header)
        attributes = header[ATTRIBUTES]
        is_control = attributes & ATTR_CONTROL
        entry = self.producers.get(producer_id)
        if entry is not None and entry.producer_epoch == producer_epoch and not is_control and check_sequence:
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
            if is_control or not check_sequence:
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
        if (entry is not None and entry.current_txn_first_offset >= 0
                and not attributes & (ATTR_CONTROL | ATTR_TRANSACTIONAL)):
            raise InvalidTxnStateError(
                f"producer {producer_id} wrote a non-transactional batch while its transaction from offset "
                f"{entry.current_txn_first_offset} is open"
            )
        if is_control:
            keep = current[1] if current is not None and current[0] == producer_epoch else NO_SEQUENCE
            pending[producer_id] = (producer_epoch, keep)
        else:
            pending[producer_id] = (producer_epoch, last_sequence)
        return None

    def check_marker(self, producer_id: int, producer_epoch: int, coordinator_epoch: int) -> None:
        """May a marker of this producer epoch and coordinator epoch be written? Raises
        InvalidProducerEpochError or TransactionCoordinatorFencedError, as Kafka does."""
        entry = self.producers.get(producer_id)
        if entry is None:
            return
        if producer_epoch < entry.producer_epoch:
            raise InvalidProducerEpochError(
                f"marker of producer {producer_id} epoch {producer_epoch} is older than {entry.producer_epoch}")
        if coordinator_epoch < entry.coordinator_epoch:
            raise TransactionCoordinatorFencedError(
                f"marker of producer {producer_id} from coordinator epoch {coordinator_epoch}, "
                f"older than {entry.coordinator_epoch}")

    def update(self, header: tuple, base_offset: int, timestamp: int) -> None:
        """Record a batch of a producer written to the log (or replayed from it): its HEADER
        tuple or BatchHeader, the offset it was stored at, and its max timestamp as stored.
        A transactional batch opens a transaction when its producer has none open; a marker
        is recorded by ``complete_txn`` instead (its outcome is in its record)."""
        producer_id = header[PRODUCER_ID]
        producer_epoch = header[PRODUCER_EPOCH]
        entry = self._entry_at_epoch(producer_id, producer_epoch)
        attributes = header[ATTRIBUTES]
        if not attributes & ATTR_CONTROL:
            last_offset = base_offset + header[LAST_OFFSET_DELTA]
            entry.batches.append((header[BASE_SEQUENCE], last_sequence_of(header), base_offset, last_offset, timestamp))
            if attributes & ATTR_TRANSACTIONAL and entry.current_txn_first_offset < 0:
                entry.current_txn_first_offset = base_offset
                self.ongoing[base_offset] = producer_id
        entry.last_timestamp = timestamp

    def _entry_at_epoch(self, producer_id: int, producer_epoch: int) -> ProducerEntry:
        """The producer's entry (made if new); a new epoch forgets the sequences of the old one."""
        entry = self.producers.get(producer_id)
        if entry is None:
            entry = self.producers[producer_id] = ProducerEntry(producer_epoch)
        elif entry.producer_epoch != producer_epoch:
            entry.producer_epoch = producer_epoch
            entry.batches.clear()
        return entry

    def complete_txn(self, producer_id: int, producer_epoch: int, coordinator_epoch: int, marker_offset: int,
                     timestamp: int, committed: bool) -> CompletedTxn | None:
        """Record a marker written at ``marker_offset``: the producer's open transaction (if
        any, else None) ends. The LSO it leaves is the first offset of the oldest transaction
        still open, else the offset after the marker (Kafka's lastStableOffset(completedTxn))."""
        entry = self._entry_at_epoch(producer_id, producer_epoch)
        entry.coordinator_epoch = coordinator_epoch
        entry.last_timestamp = timestamp
        first_offset = entry.current_txn_first_offset
        if first_offset < 0:
            return None
        entry.current_txn_first_offset = -1
        del self.ongoing[first_offset]
        return CompletedTxn(producer_id, first_offset, marker_offset, self._stable_after(marker_offset), not committed)

    def _stable_after(self, marker_offset: int) -> int:
        for first_offset in self.ongoing:
            return first_offset
        return marker_offset + 1

    def truncate(self) -> None:
        self.producers.clear()
        self.ongoing.clear()

    # ------------------------------------------------------------ snapshots

    def to_snapshot(self) -> bytes:
        layout = _PRODUCER[SNAPSHOT_VERSION]
        parts = [_COUNT.pack(len(self.producers))]
        for producer_id, entry in self.producers.items():
            parts.append(layout.pack(producer_id, entry.producer_epoch, entry.last_timestamp, entry.coordinator_epoch,
                                     entry.current_txn_first_offset, len(entry.batches)))
            parts.extend(_BATCH.pack(*batch) for batch in entry.batches)
        body = b"".join(parts)
        return _SNAPSHOT_HEAD.pack(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, crc32c(body)) + body

    @classmethod
    def from_snapshot(cls, data: bytes) -> ProducerStateManager:
        """Parse a snapshot (version 1 or 2); ValueError if it is damaged or of another version."""
        if len(data) < _SNAPSHOT_HEAD.size + _COUNT.size:
            raise ValueError("snapshot too short")
        magic, version, crc = _SNAPSHOT_HEAD.unpack_from(data, 0)
        if magic != SNAPSHOT_MAGIC or version not in _PRODUCER:
            raise ValueError(f"not a producer snapshot of version {' or '.join(map(str, _PRODUCER))}")
        layout = _PRODUCER[version]
        body = memoryview(data)[_SNAPSHOT_HEAD.size :]
        if crc32c(body) != crc:
            raise ValueError("snapshot CRC mismatch")
        try:
            state = cls()
            (count,) = _COUNT.unpack_from(body, 0)
            position = _COUNT.size
            open_transactions = []
            for _ in range(count):
                fields = layout.unpack_from(body, position)
                position += layout.size
                producer_id, epoch, last_timestamp, batch_count = fields[0], fields[1], fields[2], fields[-1]
                entry = ProducerEntry(epoch)
                entry.last_timestamp = last_timestamp
                if version >= 2:
                    entry.coordinator_epoch, entry.current_txn_first_offset = fields[3], fields[4]
                for _ in range(batch_count):
                    entry.batches.append(_BATCH.unpack_from(body, position))
                    position += _BATCH.size
                state.producers[producer_id] = entry
                if entry.current_txn_first_offset >= 0:
                    open_transactions.append((entry.current_txn_first_offset, producer_id))
        except struct.error as exc:
            raise ValueError(f"truncated snapshot: {exc}") from exc
        if position != len(body):
            raise ValueError("bytes left after the snapshot")
        state.ongoing = dict(sorted(open_transactions))
        return state
