"""One share-partition (KIP-932): which records of a partition a share group has delivered,
to whom, until when, and how often. A pure state machine: every call takes ``now_ms``.

The partition's records from ``start_offset`` (Kafka's SPSO) to ``end_offset`` (SPEO, the
next offset never yet acquired) are in flight, kept as ranges of equal state: AVAILABLE
(to be delivered again), ACQUIRED (locked by one member until a deadline), ACKNOWLEDGED or
ARCHIVED (done). ``acquire`` hands out available ranges first, then new records, counting
each delivery; an acquisition lock that runs out, a RELEASE, or a member that goes makes
records AVAILABLE again, or ARCHIVED once they were delivered ``delivery_count_limit``
times. ACCEPT acknowledges, REJECT archives, RENEW extends the lock. The start offset
moves past every finished range at its head.

What changes durably (acknowledgements, releases, the start offset) is returned as state
batches, Kafka's ShareUpdate content, for the shell to persist.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import IntEnum

from kproto.errors import ErrorCode


class RecordState(IntEnum):
    """Kafka's RecordState; the persisted delivery states are 0, 2 and 4."""
    AVAILABLE = 0
    ACQUIRED = 1
    ACKNOWLEDGED = 2
    ARCHIVED = 4


class AckType(IntEnum):
    GAP = 0
    ACCEPT = 1
    RELEASE = 2
    REJECT = 3
    RENEW = 4


@dataclass(slots=True)
class InFlight:
    first: int
    last: int
    state: RecordState
    delivery_count: int
    member_id: str | None = None
    deadline_ms: int = 0

    def split_at(self, offset: int) -> "InFlight":
        """Cut this range before ``offset``; return the part from ``offset`` on."""
        tail = InFlight(offset, self.last, self.state, self.delivery_count, self.member_id, self.deadline_ms)
        self.last = offset - 1
        return tail


StateBatch = tuple[int, int, int, int]   # first offset, last offset, delivery state, delivery count


class SharePartition:
    def __init__(self, start_offset: int, *, batches: list[StateBatch] = ()) -> None:
        self.start_offset = start_offset
        self.end_offset = start_offset
        self._ranges: list[InFlight] = []      # sorted, contiguous, from start_offset to end_offset
        self._firsts: list[int] = []
        for first, last, state, count in sorted(batches):
            if last < start_offset:
                continue
            first = max(first, start_offset)
            if first > self.end_offset:   # offsets never recorded: delivered before, treat as available
                self._append(InFlight(self.end_offset, first - 1, RecordState.AVAILABLE, 0))
            self._append(InFlight(first, last, RecordState(state), count))
            self.end_offset = last + 1
        self._advance_start()

    # -- reading --------------------------------------------------------------------

    def ranges(self) -> list[InFlight]:
        return list(self._ranges)

    def acquired_count(self) -> int:
        return sum(r.last - r.first + 1 for r in self._ranges if r.state is RecordState.ACQUIRED)

    def in_flight_count(self) -> int:
        return self.end_offset - self.start_offset

    def delivery_complete_count(self) -> int:
        return sum(r.last - r.first + 1 for r in self._ranges
                   if r.state in (RecordState.ACKNOWLEDGED, RecordState.ARCHIVED))

    def next_deadline_ms(self) -> int | None:
        deadlines = [r.deadline_ms for r in self._ranges if r.state is RecordState.ACQUIRED]
        return min(deadlines, default=None)

    def has_available(self) -> bool:
        return any(r.state is RecordState.AVAILABLE for r in self._ranges)

    def state_batches(self) -> list[StateBatch]:
        """Everything in flight as persisted state (acquired records count as available)."""
        return [(r.first, r.last, int(RecordState.AVAILABLE if r.state is RecordState.ACQUIRED else r.state),
                 r.delivery_count) for r in self._ranges]

    # -- acquiring ------------------------------------------------------------------

    def acquire(self, now_ms: int, member_id: str, lock_ms: int, limit: int, max_records: int,
                max_locks: int, log_batches: list[tuple[int, int]]) -> tuple[list[tuple[int, int, int]],
                                                                            list[StateBatch]]:
        """Acquire up to ``max_records`` for ``member_id``: available ranges first, then the new
        records of ``log_batches`` ((base offset, last offset) of whole batches read from the log
        at ``end_offset``). Returns the acquired (first, last, delivery count) and the durable
        changes (records archived on reaching the delivery limit)."""
        changes = self.expire(now_ms, limit)
        acquired: list[tuple[int, int, int]] = []
        budget = max_records
        for r in list(self._ranges):
            if budget <= 0:
                break
            if r.state is not RecordState.AVAILABLE:
                continue
            if r.delivery_count >= limit:
                r.state = RecordState.ARCHIVED
                changes.append((r.first, r.last, int(r.state), r.delivery_count))
                continue
            if r.last - r.first + 1 > budget:
                self._insert(r.split_at(r.first + budget))
            r.state, r.member_id, r.deadline_ms = RecordState.ACQUIRED, member_id, now_ms + lock_ms
            r.delivery_count += 1
            acquired.append((r.first, r.last, r.delivery_count))
            budget -= r.last - r.first + 1
        room = max_locks - self.in_flight_count()
        for base, last in log_batches:
            if budget <= 0 or room <= 0:
                break
            if last < self.end_offset:
                continue
            first = max(base, self.end_offset)
            r = InFlight(first, last, RecordState.ACQUIRED, 1, member_id, now_ms + lock_ms)
            self._append(r)
            self.end_offset = last + 1
            acquired.append((first, last, 1))
            budget -= last - first + 1
            room -= last - first + 1
        self._advance_start()
        return acquired, changes

    # -- acknowledging --------------------------------------------------------------

    def acknowledge(self, now_ms: int, member_id: str, batches: list[tuple[int, int, list[int]]],
                    lock_ms: int, limit: int) -> tuple[ErrorCode, list[StateBatch]]:
        """Apply a member's acknowledgements, all or nothing: INVALID_RECORD_STATE when any
        offset is not held by ``member_id`` (or an ack type is unknown), INVALID_REQUEST for
        a malformed batch. Returns the durable changes."""
        changes = self.expire(now_ms, limit)
        plan = []
        for first, last, types in batches:
            if last < first or not types or (len(types) != 1 and len(types) != last - first + 1):
                return ErrorCode.INVALID_REQUEST, changes
            if any(t not in AckType._value2member_map_ for t in types):
                return ErrorCode.INVALID_RECORD_STATE, changes
            if first < self.start_offset or last >= self.end_offset:
                return ErrorCode.INVALID_RECORD_STATE, changes
            for r in self._overlapping(first, last):
                if r.state is not RecordState.ACQUIRED or r.member_id != member_id:
                    return ErrorCode.INVALID_RECORD_STATE, changes
            plan.append((first, last, types))
        for first, last, types in plan:
            if len(types) == 1:
                changes += self._set(first, last, AckType(types[0]), now_ms, lock_ms, limit)
            else:
                for offset, t in zip(range(first, last + 1), types):
                    changes += self._set(offset, offset, AckType(t), now_ms, lock_ms, limit)
        self._advance_start()
        self._merge()
        return ErrorCode.NONE, changes

    def _set(self, first: int, last: int, ack: AckType, now_ms: int, lock_ms: int, limit: int) -> list[StateBatch]:
        if ack is AckType.RENEW:
            for r in self._cut(first, last):
                r.deadline_ms = now_ms + lock_ms
            return []
        out = []
        for r in self._cut(first, last):
            if ack in (AckType.ACCEPT, AckType.GAP):
                r.state = RecordState.ACKNOWLEDGED if ack is AckType.ACCEPT else RecordState.ARCHIVED
            elif ack is AckType.REJECT:
                r.state = RecordState.ARCHIVED
            else:   # RELEASE
                r.state = RecordState.ARCHIVED if r.delivery_count >= limit else RecordState.AVAILABLE
            r.member_id = None
            out.append((r.first, r.last, int(r.state), r.delivery_count))
        return out

    def archive(self, first: int, last: int) -> list[StateBatch]:
        """Records never to be delivered (a read_committed group's aborted transactions, as
        Kafka's share partition archives them once acquired): ARCHIVED, whoever held them."""
        out = []
        for r in self._cut(first, last):
            if r.state is not RecordState.ARCHIVED:
                r.state, r.member_id = RecordState.ARCHIVED, None
                out.append((r.first, r.last, int(r.state), r.delivery_count))
        self._advance_start()
        self._merge()
        return out

    def release_member(self, member_id: str, limit: int) -> list[StateBatch]:
        """A member left (or closed its share session): its acquired records go back."""
        out = []
        for r in self._ranges:
            if r.state is RecordState.ACQUIRED and r.member_id == member_id:
                r.state = RecordState.ARCHIVED if r.delivery_count >= limit else RecordState.AVAILABLE
                r.member_id = None
                out.append((r.first, r.last, int(r.state), r.delivery_count))
        self._advance_start()
        return out

    def expire(self, now_ms: int, limit: int) -> list[StateBatch]:
        """Acquisition locks that ran out: AVAILABLE again, or ARCHIVED at the delivery limit."""
        out = []
        for r in self._ranges:
            if r.state is RecordState.ACQUIRED and r.deadline_ms <= now_ms:
                r.state = RecordState.ARCHIVED if r.delivery_count >= limit else RecordState.AVAILABLE
                r.member_id = None
                out.append((r.first, r.last, int(r.state), r.delivery_count))
        if out:
            self._advance_start()
        return out

    def reset(self, start_offset: int) -> None:
        """AlterShareGroupOffsets: start over at ``start_offset`` with nothing in flight."""
        self.start_offset = self.end_offset = start_offset
        self._ranges, self._firsts = [], []

    # -- the ranges -----------------------------------------------------------------------

    def _append(self, r: InFlight) -> None:
        self._ranges.append(r)
        self._firsts.append(r.first)

    def _insert(self, r: InFlight) -> None:
        i = bisect.bisect_left(self._firsts, r.first)
        self._ranges.insert(i, r)
        self._firsts.insert(i, r.first)

    def _overlapping(self, first: int, last: int) -> list[InFlight]:
        i = max(bisect.bisect_right(self._firsts, first) - 1, 0)
        out = []
        while i < len(self._ranges) and self._ranges[i].first <= last:
            if self._ranges[i].last >= first:
                out.append(self._ranges[i])
            i += 1
        return out

    def _cut(self, first: int, last: int) -> list[InFlight]:
        """The ranges exactly covering [first, last], splitting at the edges."""
        for r in self._overlapping(first, first):
            if r.first < first:
                self._insert(r.split_at(first))
        for r in self._overlapping(last, last):
            if r.last > last:
                self._insert(r.split_at(last + 1))
        return self._overlapping(first, last)

    def _merge(self) -> None:
        """Join neighbouring finished ranges (they never change again)."""
        merged: list[InFlight] = []
        for r in self._ranges:
            prev = merged[-1] if merged else None
            if (prev is not None and prev.state is r.state and r.state in (RecordState.ACKNOWLEDGED,
                                                                            RecordState.ARCHIVED)
                    and prev.delivery_count == r.delivery_count and prev.last + 1 == r.first):
                prev.last = r.last
            else:
                merged.append(r)
        self._ranges = merged
        self._firsts = [r.first for r in merged]

    def _advance_start(self) -> None:
        drop = 0
        for r in self._ranges:
            if r.state not in (RecordState.ACKNOWLEDGED, RecordState.ARCHIVED):
                break
            drop += 1
            self.start_offset = r.last + 1
        if drop:
            del self._ranges[:drop]
            del self._firsts[:drop]
        if not self._ranges:
            self.start_offset = max(self.start_offset, self.end_offset)
