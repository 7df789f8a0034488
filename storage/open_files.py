"""The segments that hold open descriptors, most recently used last, and a cap on how many.

A segment opens its log for writing on its first append and for reading on its first read,
and keeps them while it is in use; no descriptor is held for a segment's indexes (see
index.py). When more segments than ``cap`` hold descriptors, the least recently used one
closes its writer and drops its reader, so a broker with tens of thousands of partitions
holds at most about 2 x ``cap`` log descriptors (a writer and a reader each) whatever
its partitions do, and the ones in use stay open. A reader still carried by a response
being sent (a FileSlice) closes when that response lets go of it.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_CAP = 4096   # segments holding descriptors: at most ~8,192 of them, far below the limit the broker asks for


class OpenFiles:
    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.cap = cap
        self._lru: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._lru)

    def opened(self, segment) -> None:
        """``segment`` opened a descriptor: it is the most recent; close the idlest beyond the cap."""
        lru = self._lru
        lru[segment] = None
        lru.move_to_end(segment)
        while len(lru) > self.cap:
            idle, _ = lru.popitem(last=False)
            idle.release_descriptors()

    def used(self, segment) -> None:
        """``segment`` was used: it is the most recent."""
        try:
            self._lru.move_to_end(segment)
        except KeyError:
            pass

    def closed(self, segment) -> None:
        self._lru.pop(segment, None)


OPEN_FILES = OpenFiles()
