"""A segment's transaction index (.txnindex): the aborted transactions whose abort marker is
in that segment, in Kafka's format.

Each entry is 34 bytes, big-endian (Kafka's AbortedTxn):
  version int16 (0) | producer_id int64 | first_offset int64 | last_offset int64 | last_stable_offset int64
first_offset is the transaction's first offset in the partition (it may lie in an earlier
segment), last_offset the offset of its abort marker, last_stable_offset the partition's LSO
once the marker was written. Entries are in order of last_offset, strictly increasing.

A read_committed fetch asks which aborted transactions overlap the range it returns
(``collect``); the consumer drops their records. The search may stop at the first entry
whose last_stable_offset reaches the end of the range: every later entry starts at or after
it. kbroker writes the file with each new segment, empty, so that a missing file means a
lost index, which the partition rebuilds from its log at start (``disk_log``). With no path
the index lives in memory (the memory engine).
"""

from __future__ import annotations

import os
import struct
from array import array
from bisect import bisect_left
from typing import NamedTuple

TXN_INDEX_SUFFIX = ".txnindex"
ENTRY = struct.Struct(">hqqqq")
ENTRY_BYTES = ENTRY.size  # 34
ENTRY_VERSION = 0


class AbortedTxn(NamedTuple):
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


class TransactionIndex:
    """One segment's aborted transactions: a file of entries, read once when first needed."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._entries: list[AbortedTxn] | None = None if path is not None else []
        self._last_offsets = array("q")
        self._fd = -1
        self._unsynced = False   # written since the last fsync

    # ------------------------------------------------------------ files

    def create(self) -> None:
        """Start an empty index (an empty file)."""
        self.close()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.close(fd)
        self._entries, self._last_offsets = [], array("q")

    def is_intact(self) -> bool:
        """The file is there and holds whole entries: the index can be trusted (memory: always)."""
        if self.path is None:
            return True
        try:
            return os.path.getsize(self.path) % ENTRY_BYTES == 0
        except OSError:
            return False

    def _loaded(self) -> list[AbortedTxn]:
        if self._entries is None:
            entries = []
            try:
                with open(self.path, "rb") as file:
                    data = file.read()
            except FileNotFoundError:
                data = b""
            whole = len(data) - len(data) % ENTRY_BYTES
            for version, *fields in ENTRY.iter_unpack(data[:whole]):
                if version != ENTRY_VERSION:
                    raise ValueError(f"{self.path}: aborted transaction entry version {version}")
                entries.append(AbortedTxn(*fields))
            self._entries = entries
            self._last_offsets = array("q", (e.last_offset for e in entries))
        return self._entries

    def _write(self, data: bytes) -> None:
        if self.path is None:
            return
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self._unsynced = True

    def flush(self, fsync: bool = True) -> None:
        """fsync what was written since the last flush (opening the file again if it was closed
        meanwhile: a segment idle among too many open ones lets go of its descriptors)."""
        if fsync and self._unsynced and self.path is not None:
            if self._fd < 0:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.fsync(self._fd)
            self._unsynced = False

    def close(self) -> None:
        """Close the file (the entries read stay known)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def rename(self, path: str) -> None:
        """Give the (closed) file another name (a deleted segment's `.deleted`); a missing file
        is no error."""
        self.close()
        try:
            os.rename(self.path, path)
        except FileNotFoundError:
            pass
        self.path = path

    def drop_before(self, offset: int) -> None:
        """Forget the entries whose marker is below ``offset`` (the memory engine's one index,
        when retention deletes the segments those markers were in)."""
        entries = self._loaded()
        drop = bisect_left(self._last_offsets, offset)
        if drop:
            del entries[:drop]
            del self._last_offsets[:drop]

    def drop_where(self, predicate) -> None:
        """Forget the entries for which predicate(entry) holds (the memory engine's one index,
        after a cleaning: as a cleaned segment's file keeps only some)."""
        entries = self._loaded()
        kept = [entry for entry in entries if not predicate(entry)]
        if len(kept) != len(entries):
            entries[:] = kept
            self._last_offsets = array("q", (e.last_offset for e in kept))

    def delete(self) -> None:
        self.close()
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------ entries

    def __len__(self) -> int:
        return len(self._loaded())

    def entries(self) -> list[AbortedTxn]:
        return list(self._loaded())

    @property
    def last_offset(self) -> int:
        """The last offset of the newest entry; -1 when empty."""
        self._loaded()
        return self._last_offsets[-1] if self._last_offsets else -1

    def append(self, entry: AbortedTxn) -> None:
        """Add an entry; its last_offset must be above every entry's (ValueError)."""
        entries = self._loaded()
        if self._last_offsets and entry.last_offset <= self._last_offsets[-1]:
            raise ValueError(f"aborted transaction ending at {entry.last_offset} is not after "
                             f"{self._last_offsets[-1]}, the last one indexed")
        self._write(ENTRY.pack(ENTRY_VERSION, *entry))
        entries.append(entry)
        self._last_offsets.append(entry.last_offset)

    def append_if_new(self, entry: AbortedTxn) -> bool:
        """Add an entry unless one ending at or after it is indexed (a replay re-finds it)."""
        if entry.last_offset <= self.last_offset:
            return False
        self.append(entry)
        return True

    def truncate_to(self, offset: int) -> None:
        """Drop the entries whose marker is at or after ``offset`` (the log was cut there)."""
        entries = self._loaded()
        keep = bisect_left(self._last_offsets, offset)
        if keep == len(entries):
            return
        del entries[keep:]
        del self._last_offsets[keep:]
        if self.path is not None:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            os.truncate(self.path, keep * ENTRY_BYTES)

    def reset(self) -> None:
        self.truncate_to(-1)

    def collect(self, fetch_offset: int, upper_bound_offset: int) -> tuple[list[AbortedTxn], bool]:
        """The aborted transactions overlapping [fetch_offset, upper_bound_offset), and whether
        the search is complete (later segments cannot add any)."""
        entries = self._loaded()
        found = []
        for i in range(bisect_left(self._last_offsets, fetch_offset), len(entries)):
            entry = entries[i]
            if entry.first_offset < upper_bound_offset:
                found.append(entry)
            if entry.last_stable_offset >= upper_bound_offset:
                return found, True
        return found, False
