"""A segment's sparse offset index (.index) and time index (.timeindex).

Entries live in memory (arrays, for binary search) and are appended to the files:
  .index      relative_offset int32 | position int32       (8 bytes, big-endian)
  .timeindex  timestamp int64       | relative_offset int32 (12 bytes, big-endian)
As in Kafka, an offset entry names the last offset of the batch that starts at position,
and a time entry names the largest timestamp so far and the last offset of the batch that
reached it. Entries go to the file in bulk (flush, seal, or every ~8 KB of entries); the
active segment's indexes are rebuilt from the log on open, so a lagging file is harmless.
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from bisect import bisect_right
from operator import le, lt

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_PENDING_FLUSH_BYTES = 8192
_LITTLE_ENDIAN = sys.byteorder == "little"


def _strictly_increasing(values: array) -> bool:
    return all(map(lt, values, values[1:]))


def _non_decreasing(values: array) -> bool:
    return all(map(le, values, values[1:]))


class _IndexFile:
    """Append-only file of fixed-size entries with a buffer of entries not yet written.

    No descriptor is held: the buffer is written (every _PENDING_FLUSH_BYTES of entries, and on
    a flush) through a descriptor opened for that write, so an index costs no open file while
    its partition idles, however many partitions there are."""

    entry_bytes = 0

    def __init__(self, path: str) -> None:
        self.path = path
        self._appending = False
        self._pending = bytearray()

    def open_for_append(self) -> None:
        self._appending = True

    def _add(self, entry: bytes) -> None:
        self._pending += entry
        if len(self._pending) >= _PENDING_FLUSH_BYTES and self._appending:
            self._write_pending()

    def _write_pending(self) -> None:
        if self._pending and self._appending:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(self._pending)
                written = 0
                while written < len(view):
                    written += os.write(fd, view[written:])
                view.release()
            finally:
                os.close(fd)
            self._pending.clear()

    def flush(self, fsync: bool) -> None:
        self._write_pending()
        if fsync and self._appending:
            fd = self.fd_for_fsync()
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def fd_for_fsync(self) -> int:
        """A new descriptor of the file, for an fsync (the caller closes it)."""
        return os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)

    @property
    def appending(self) -> bool:
        return self._appending

    def close(self) -> None:
        if self._appending:
            self._write_pending()
            self._appending = False

    def _read_file(self) -> bytes | None:
        """The file's bytes; None if missing or not a whole number of entries."""
        try:
            with open(self.path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return None
        if len(data) % self.entry_bytes:
            return None
        return data

    def _rewrite(self, data: bytes) -> None:
        """Replace the file with data (keeps it open for append if it was)."""
        reopen = self._appending
        self.close()
        self._pending.clear()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:])
        finally:
            os.close(fd)
        if reopen:
            self.open_for_append()

    def delete(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def rename(self, path: str) -> None:
        """Give the (closed) file another name; a missing file is no error (rebuilt on open)."""
        self.close()
        try:
            os.rename(self.path, path)
        except FileNotFoundError:
            pass
        self.path = path


class OffsetIndex(_IndexFile):
    entry_bytes = _OFFSET_ENTRY.size

    def __init__(self, path: str, base_offset: int) -> None:
        super().__init__(path)
        self.base_offset = base_offset
        self.relative_offsets = array("i")
        self.positions = array("i")

    def __len__(self) -> int:
        return len(self.positions)

    def append(self, offset: int, position: int) -> None:
        relative = offset - self.base_offset
        self.relative_offsets.append(relative)
        self.positions.append(position)
        self._add(_OFFSET_ENTRY.pack(relative, position))

    def lookup(self, offset: int) -> int:
        """Position of the last entry whose offset is <= offset (0 if none)."""
        k = bisect_right(self.relative_offsets, offset - self.base_offset) - 1
        return self.positions[k] if k >= 0 else 0

    def position_at_or_below(self, position: int) -> int:
        """The largest entry position <= position, or -1."""
        k = bisect_right(self.positions, position) - 1
        return self.positions[k] if k >= 0 else -1

    def load(self, log_bytes: int, next_offset: int) -> bool:
        """Read the file; False (entries cleared) if it is missing or inconsistent with the log."""
        data = self._read_file()
        self.relative_offsets = array("i")
        self.positions = array("i")
        if data is None:
            return False
        both = array("i", data)
        if _LITTLE_ENDIAN:
            both.byteswap()
        offsets, positions = both[0::2], both[1::2]
        if offsets and not (
            offsets[0] >= 0
            and positions[0] >= 0
            and positions[-1] < log_bytes
            and offsets[-1] < next_offset - self.base_offset
            and _strictly_increasing(offsets)
            and _strictly_increasing(positions)
        ):
            return False
        self.relative_offsets, self.positions = offsets, positions
        return True

    def reset(self, relative_offsets: array, positions: array) -> None:
        """Replace entries and file with a rebuilt index."""
        self.relative_offsets, self.positions = relative_offsets, positions
        self._rewrite(pack_offset_entries(relative_offsets, positions))


class TimeIndex(_IndexFile):
    entry_bytes = _TIME_ENTRY.size

    def __init__(self, path: str, base_offset: int) -> None:
        super().__init__(path)
        self.base_offset = base_offset
        self.timestamps = array("q")
        self.relative_offsets = array("i")

    def __len__(self) -> int:
        return len(self.timestamps)

    def last_entry(self) -> tuple[int, int]:
        """(timestamp, absolute offset) of the last entry, (-1, -1) if empty."""
        if not self.timestamps:
            return -1, -1
        return self.timestamps[-1], self.base_offset + self.relative_offsets[-1]

    def maybe_append(self, timestamp: int, offset: int) -> None:
        """Add an entry if timestamp is larger than the last one (Kafka's rule)."""
        if timestamp > (self.timestamps[-1] if self.timestamps else -1):
            relative = offset - self.base_offset
            self.timestamps.append(timestamp)
            self.relative_offsets.append(relative)
            self._add(_TIME_ENTRY.pack(timestamp, relative))

    def lookup(self, timestamp: int) -> int:
        """Offset of the last entry whose timestamp is <= timestamp (base offset if none)."""
        k = bisect_right(self.timestamps, timestamp) - 1
        return self.base_offset + (self.relative_offsets[k] if k >= 0 else 0)

    def load(self, next_offset: int) -> bool:
        data = self._read_file()
        self.timestamps = array("q")
        self.relative_offsets = array("i")
        if data is None:
            return False
        timestamps, offsets = _unpack_time_entries(data)
        if offsets and not (
            offsets[0] >= 0
            and offsets[-1] < next_offset - self.base_offset
            and _strictly_increasing(timestamps)
            and _non_decreasing(offsets)
        ):
            return False
        self.timestamps, self.relative_offsets = timestamps, offsets
        return True

    def reset(self, timestamps: array, relative_offsets: array) -> None:
        self.timestamps, self.relative_offsets = timestamps, relative_offsets
        self._rewrite(pack_time_entries(timestamps, relative_offsets))


def pack_offset_entries(relative_offsets: array, positions: array) -> bytes:
    """The bytes of an .index file with these entries."""
    both = array("i", bytes(8 * len(positions)))
    both[0::2] = relative_offsets
    both[1::2] = positions
    if _LITTLE_ENDIAN:
        both.byteswap()
    return both.tobytes()


# Time entries are 12 bytes: three big-endian 32-bit words (timestamp high, timestamp low,
# offset). Arrays of words convert them in C rather than one entry at a time in Python.


def _unpack_time_entries(data: bytes) -> tuple[array, array]:
    if not _LITTLE_ENDIAN:
        pairs = list(_TIME_ENTRY.iter_unpack(data))
        return array("q", (t for t, _ in pairs)), array("i", (o for _, o in pairs))
    words = array("I", data)
    words.byteswap()
    native = array("I", bytes(8 * (len(words) // 3)))
    native[0::2] = words[1::3]  # low word first in a little-endian int64
    native[1::2] = words[0::3]
    return array("q", native.tobytes()), array("i", words[2::3].tobytes())


def pack_time_entries(timestamps: array, relative_offsets: array) -> bytes:
    """The bytes of a .timeindex file with these entries."""
    if not _LITTLE_ENDIAN:
        return b"".join(_TIME_ENTRY.pack(t, o) for t, o in zip(timestamps, relative_offsets))
    native = array("I", timestamps.tobytes())
    words = array("I", bytes(12 * len(timestamps)))
    words[0::3] = native[1::2]
    words[1::3] = native[0::2]
    words[2::3] = array("I", relative_offsets.tobytes())
    words.byteswap()
    return words.tobytes()
