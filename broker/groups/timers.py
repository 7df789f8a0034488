"""Keyed one-shot timers driven by an explicit clock (no wall clock, no I/O).

Kafka's group coordinator keeps its deadlines in a timer keyed by strings such as
``heartbeat-<group>-<member>``, ``join-<group>`` and ``sync-<group>``; scheduling a
key that is already scheduled replaces it, and cancelling an absent key is a no-op.
This is the same idea with tuple keys and an opaque payload that tells the
coordinator what to do when the deadline passes.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Hashable


@dataclass(frozen=True, slots=True)
class Timer:
    key: Hashable
    deadline_ms: int
    payload: Any


class TimerQueue:
    """A heap of deadlines with lazy deletion; one live timer per key."""

    def __init__(self) -> None:
        self._live: dict[Hashable, tuple[int, int, Timer]] = {}
        self._heap: list[tuple[int, int, Hashable]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._live

    def schedule(self, key: Hashable, deadline_ms: int, payload: Any = None) -> None:
        """Schedule (or reschedule) ``key`` to fire at ``deadline_ms``."""
        self._seq += 1
        self._live[key] = (deadline_ms, self._seq, Timer(key, deadline_ms, payload))
        heapq.heappush(self._heap, (deadline_ms, self._seq, key))

    def cancel(self, key: Hashable) -> None:
        self._live.pop(key, None)

    def cancel_where(self, predicate) -> None:
        """Cancel every live timer whose key satisfies ``predicate``."""
        for key in [k for k in self._live if predicate(k)]:
            del self._live[key]

    def get(self, key: Hashable) -> Timer | None:
        entry = self._live.get(key)
        return entry[2] if entry else None

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap:
            deadline_ms, seq, key = heap[0]
            entry = self._live.get(key)
            if entry is not None and entry[1] == seq:
                return
            heapq.heappop(heap)

    def next_deadline_ms(self) -> int | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ms: int) -> Timer | None:
        """Remove and return the earliest timer due at or before ``now_ms``, if any.

        Timers with equal deadlines fire in the order they were scheduled.
        """
        self._drop_stale()
        if not self._heap or self._heap[0][0] > now_ms:
            return None
        _, _, key = heapq.heappop(self._heap)
        return self._live.pop(key)[2]
