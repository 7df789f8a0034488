"""One log segment: `<base offset>.log` with its .index, .timeindex and .txnindex.

The log file holds RecordBatches exactly as on the wire. It is written through an O_APPEND
descriptor and read through a separate read-only file object (the one FileSlices carry),
so a sendfile that moves the reader's position cannot move the writer's. Both are opened when
first needed and closed again when the segment is among the least recently used beyond a cap
(open_files.py), so idle partitions hold no descriptors.
"""

from __future__ import annotations

import logging
import mmap
import os
from array import array
from typing import Iterator

from .index import OffsetIndex, TimeIndex
from .open_files import OPEN_FILES
from .records import (
    ATTR_TIMESTAMP_TYPE,
    BASE_OFFSET,
    BATCH_LENGTH,
    CURRENT_MAGIC,
    HEADER,
    HEADER_BYTES,
    HEADER_PREFIX,
    LAST_OFFSET_DELTA,
    LOG_OVERHEAD,
    BatchHeader,
    decode_records,
)
from .txn_index import TXN_INDEX_SUFFIX, TransactionIndex

logger = logging.getLogger(__name__)

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
SEGMENT_SUFFIXES = (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)  # a segment's files (a swap moves them all)
DELETED_SUFFIX = ".deleted"  # a segment's files waiting for file.delete.delay.ms
CLEANED_SUFFIX = ".cleaned"  # a segment the cleaner is writing
SWAP_SUFFIX = ".swap"  # a cleaned segment committed to replace the segments it covers
WALK_READ_BYTES = 4096  # header walks read this much per pread
_IOV_MAX = 1024  # Linux: most parts one writev takes


def segment_file_name(base_offset: int, suffix: str) -> str:
    return f"{base_offset:020d}{suffix}"


class LogSegment:
    """A segment's files and the in-memory facts about them.

    next_offset is the offset after the segment's last batch; max_timestamp and
    offset_of_max_timestamp name the largest batch max_timestamp and that batch's last offset.
    """

    def __init__(self, directory: str, base_offset: int) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.log_path = os.path.join(directory, segment_file_name(base_offset, LOG_SUFFIX))
        self._new_indexes()
        self.txn_index = TransactionIndex(self._path(TXN_INDEX_SUFFIX))   # read when first needed
        self.size = 0
        self.next_offset = base_offset
        self.rolling_base_ms = -1  # wall time of the first append; time-based roll counts from it
        self.bytes_since_last_index_entry = 0
        self._write_fd = -1
        self._appending = False   # open for append: the writer is opened on the next append
        self._read_file = None
        self._dirty = False
        self._read_next_offset = -1  # the end of the last read, for sequential consumers
        self._read_next_position = 0
        self._first_batch_timestamp: int | None = None

    def _new_indexes(self) -> None:
        self.offset_index = OffsetIndex(self._path(INDEX_SUFFIX), self.base_offset)
        self.time_index = TimeIndex(self._path(TIME_INDEX_SUFFIX), self.base_offset)
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1

    def _path(self, suffix: str) -> str:
        return os.path.join(self.directory, segment_file_name(self.base_offset, suffix))

    # ------------------------------------------------------------ files

    @classmethod
    def create(cls, directory: str, base_offset: int) -> LogSegment:
        segment = cls(directory, base_offset)
        fd = os.open(segment.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.close(fd)
        segment.offset_index.reset(array("i"), array("i"))
        segment.time_index.reset(array("q"), array("i"))
        segment.txn_index.create()
        segment.open_for_append()
        return segment

    def open_for_append(self) -> None:
        self._appending = True
        self.offset_index.open_for_append()
        self.time_index.open_for_append()

    def _open_writer(self) -> int:
        self._write_fd = fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        OPEN_FILES.opened(self)
        return fd

    def release_descriptors(self) -> None:
        """Idle among too many open segments: close the writer (what it wrote is in the page cache;
        an fsync still due opens the file again) and let go of the reader."""
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1
        self._read_file = None
        self.txn_index.close()   # its entries stay known; a flush due opens it again
        OPEN_FILES.closed(self)

    def read_fileno(self) -> int:
        return self.read_file().fileno()

    def read_file(self):
        """The read-only file object of the log (opened on first use)."""
        if self._read_file is None:
            self._read_file = open(self.log_path, "rb", buffering=0)
            OPEN_FILES.opened(self)
        else:
            OPEN_FILES.used(self)
        return self._read_file

    def flush(self) -> None:
        """Write pending index entries and fsync what changed since the last flush."""
        fsync = self._dirty
        if fsync and self._write_fd >= 0:
            os.fsync(self._write_fd)
        elif fsync and self._appending:   # the writer was closed while idle, its writes not yet synced
            fd = os.open(self.log_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self.offset_index.flush(fsync)
        self.time_index.flush(fsync)
        self.txn_index.flush(fsync)
        self._dirty = False

    def dup_for_fsync(self) -> list[int]:
        """Write pending index entries; duplicates of the descriptors with unsynced writes,
        for an fsync elsewhere (the caller closes them). Marks the segment flushed."""
        fds = []
        if self._dirty and self._write_fd >= 0:
            fds.append(os.dup(self._write_fd))
        elif self._dirty and self._appending:
            fds.append(os.open(self.log_path, os.O_RDONLY))
        for index in (self.offset_index, self.time_index):
            index.flush(False)
            if self._dirty and index.appending:
                fds.append(index.fd_for_fsync())
        self._dirty = False
        return fds

    def seal(self) -> None:
        """Make this segment read-only: final time-index entry, fsync, close writers."""
        self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
        self._dirty = True
        self.flush()
        self.close_writers()

    def close_writers(self) -> None:
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1
        self._appending = False
        if self._read_file is None:
            OPEN_FILES.closed(self)
        self.offset_index.close()
        self.time_index.close()
        self.txn_index.close()

    def close(self, flush: bool = True) -> None:
        if flush:
            self.flush()
        self.close_writers()
        if self._read_file is not None:
            self._read_file.close()
            self._read_file = None
        OPEN_FILES.closed(self)

    def rename_to_deleted(self) -> list[str]:
        """Rename the files `<name>.deleted`, to be removed after file.delete.delay.ms; returns
        the new paths. The read file is left open, not closed: a fetch that holds a FileSlice
        of it (a sendfile under way) still reads it, and it closes when the last one is dropped."""
        self.close_writers()
        self._read_file = None
        OPEN_FILES.closed(self)
        paths = []
        for index in (self.offset_index, self.time_index, self.txn_index):
            index.rename(index.path + DELETED_SUFFIX)
            paths.append(index.path)
        deleted = self.log_path + DELETED_SUFFIX
        try:
            os.rename(self.log_path, deleted)
        except FileNotFoundError:
            pass
        self.log_path = deleted
        paths.append(deleted)
        return paths

    def delete(self) -> None:
        self.close(flush=False)
        self.offset_index.delete()
        self.time_index.delete()
        self.txn_index.delete()
        try:
            os.unlink(self.log_path)
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------ append

    def append(
        self, iov: list, total: int, batches: list[tuple[int, int, int]], index_interval_bytes: int, now_ms: int
    ) -> None:
        """Write iov (total bytes of whole batches) and index the batches: (size, last_offset, max_timestamp)."""
        position = self.size
        if position == 0:
            self.rolling_base_ms = now_ms
        fd = self._write_fd
        if fd < 0:
            fd = self._open_writer()
        else:
            OPEN_FILES.used(self)
        try:
            if len(iov) > _IOV_MAX or os.writev(fd, iov) != total:
                _write_rest(fd, iov, total, position)
        except BaseException:
            os.ftruncate(fd, position)
            raise
        self._dirty = True
        since_entry = self.bytes_since_last_index_entry
        for size, last_offset, max_timestamp in batches:
            if max_timestamp > self.max_timestamp:
                self.max_timestamp = max_timestamp
                self.offset_of_max_timestamp = last_offset
            if since_entry >= index_interval_bytes:
                self.offset_index.append(last_offset, position)
                self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
                since_entry = 0
            position += size
            since_entry += size
        self.bytes_since_last_index_entry = since_entry
        self.size = position
        self.next_offset = last_offset + 1

    # ------------------------------------------------------------ facts for retention and cleaning

    def largest_timestamp(self) -> int:
        """Kafka's LogSegment.largestTimestamp: the largest record timestamp, or the file's
        modification time if no record has one."""
        if self.max_timestamp >= 0:
            return self.max_timestamp
        try:
            return int(os.stat(self.log_path).st_mtime * 1000)
        except FileNotFoundError:
            return -1

    def first_batch_timestamp(self) -> int:
        """The max timestamp of the first batch (-1 if none): when the segment's data began,
        as max.compaction.lag.ms counts it."""
        if self._first_batch_timestamp is None:
            if not self.size:
                return -1
            self._first_batch_timestamp = self.header_at(0).max_timestamp
        return self._first_batch_timestamp

    # ------------------------------------------------------------ reads

    def _header_reader(self) -> _HeaderReader:
        return _HeaderReader(self.read_file(), self.log_path)

    def header_at(self, position: int) -> BatchHeader:
        data = os.pread(self.read_fileno(), HEADER_BYTES, position)
        if len(data) < HEADER_BYTES:
            raise OSError(f"{self.log_path}: short header read at {position}")
        return BatchHeader._make(HEADER.unpack(data))

    def find_position(self, offset: int) -> int:
        """Position of the batch that holds offset (base_offset <= offset < next_offset)."""
        if offset == self.base_offset:
            return 0
        if offset == self._read_next_offset:
            return self._read_next_position
        if offset >= self.next_offset:
            return self.size
        position = self.offset_index.lookup(offset)
        reader = self._header_reader()
        while True:
            prefix = reader.prefix_at(position)
            if prefix[BASE_OFFSET] + prefix[LAST_OFFSET_DELTA] >= offset:
                return position
            position += LOG_OVERHEAD + prefix[BATCH_LENGTH]

    def read_end(self, position: int, max_bytes: int, at_least_one: bool) -> tuple[int, int]:
        """End of the whole batches from position that fit in max_bytes (at least one if asked).

        Returns (end position, offset of the batch at that end). The index bounds the walk.
        """
        limit = position + max_bytes
        if limit >= self.size:
            return self.size, self.next_offset
        walk = max(position, self.offset_index.position_at_or_below(limit))
        reader = self._header_reader()
        while True:
            prefix = reader.prefix_at(walk)
            end = walk + LOG_OVERHEAD + prefix[BATCH_LENGTH]
            if end > limit:
                if walk == position and at_least_one:
                    return end, prefix[BASE_OFFSET] + prefix[LAST_OFFSET_DELTA] + 1
                return walk, prefix[BASE_OFFSET]
            walk = end

    def remember_read(self, next_offset: int, position: int) -> None:
        self._read_next_offset = next_offset
        self._read_next_position = position

    def read_batch(self, position: int, size: int) -> bytes:
        data = os.pread(self.read_fileno(), size, position)
        if len(data) != size:
            raise OSError(f"{self.log_path}: short read at {position}")
        return data

    def offset_for_timestamp(self, timestamp_ms: int, start_offset: int = 0) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after start_offset with timestamp >= timestamp_ms."""
        position = self.offset_index.lookup(max(self.time_index.lookup(timestamp_ms), start_offset))
        reader = self._header_reader()
        while position < self.size:
            header = reader.header_at(position)
            if header.max_timestamp >= timestamp_ms and header.last_offset >= start_offset:
                for record in decode_records(self.read_batch(position, header.size)):
                    if record.timestamp >= timestamp_ms and record.offset >= start_offset:
                        return record.offset, record.timestamp
            position += header.size
        return None

    def offset_of_record_with_max_timestamp(self) -> int:
        """Exact offset of the record carrying max_timestamp (decodes one batch)."""
        position = self.find_position(self.offset_of_max_timestamp)
        header = self.header_at(position)
        if header.attributes & ATTR_TIMESTAMP_TYPE:
            return header.last_offset
        for record in decode_records(self.read_batch(position, header.size)):
            if record.timestamp == self.max_timestamp:
                return record.offset
        return header.last_offset

    # ------------------------------------------------------------ loading and recovery

    def load_indexes(self) -> bool:
        """Load both index files for a sealed segment; False if either must be rebuilt."""
        if not self.offset_index.load(self.size, self.next_offset):
            return False
        if not self.time_index.load(self.next_offset):
            return False
        if len(self.offset_index):
            position = self.offset_index.positions[-1]
            offset = self.base_offset + self.offset_index.relative_offsets[-1]
            header = self.header_at(position)
            if header.magic != CURRENT_MAGIC or not header.base_offset <= offset <= header.last_offset:
                return False
        if len(self.time_index) == 0 and self.size > 0:
            return False  # no max timestamp known: rebuild to learn it
        self.max_timestamp, self.offset_of_max_timestamp = self.time_index.last_entry()
        return True

    def iter_header_tuples(self, position: int = 0) -> Iterator[tuple]:
        """HEADER tuples of the batches from position to the end (the log must be valid)."""
        if position >= self.size:
            return
        size = self.size
        with open(self.log_path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            unpack_from = HEADER.unpack_from
            while position < size:
                header = unpack_from(mapped, position)
                yield header
                position += LOG_OVERHEAD + header[BATCH_LENGTH]

    def __repr__(self) -> str:
        return f"LogSegment({self.log_path!r}, size={self.size}, next_offset={self.next_offset})"


class DeferredLogSegment(LogSegment):
    """A closed segment trusted at open, opened without its indexes: they are read (checked,
    rebuilt if wrong), and max_timestamp learnt from them, the first time one of those is used,
    as Kafka's indexes are loaded lazily, so opening many segments costs little more than a
    file name each. It then becomes a plain LogSegment (a class of its own, so that the
    __getattr__ it needs does not slow attribute access on every other segment)."""

    def __init__(self, directory: str, base_offset: int, index_interval_bytes: int) -> None:
        self._index_interval_bytes = index_interval_bytes
        super().__init__(directory, base_offset)

    def _new_indexes(self) -> None:
        pass  # on first use

    def __getattr__(self, name: str):
        if name in ("offset_index", "time_index", "max_timestamp", "offset_of_max_timestamp"):
            self._load_indexes_now()
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _load_indexes_now(self) -> None:
        from .recovery import recover_segment  # recovery imports this module

        self.__class__ = LogSegment
        self._new_indexes()
        if not self.load_indexes():
            next_offset = self.next_offset
            if recover_segment(self, self._index_interval_bytes):
                logger.warning("%s: a closed segment had invalid data, cut after its last valid batch", self.log_path)
            self.next_offset = max(self.next_offset, next_offset)

    # what needs no index: files are closed, and renamed or removed by name

    def flush(self) -> None:
        pass

    def close_writers(self) -> None:
        pass

    def rename_to_deleted(self) -> list[str]:
        self._read_file = None  # left open for the reads under way, as LogSegment's
        OPEN_FILES.closed(self)
        paths = []
        for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, LOG_SUFFIX):
            path = self._path(suffix)
            _rename_if_there(path, path + DELETED_SUFFIX)
            paths.append(path + DELETED_SUFFIX)
        self.log_path = self._path(LOG_SUFFIX) + DELETED_SUFFIX
        return paths

    def delete(self) -> None:
        self.close(flush=False)
        for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, LOG_SUFFIX):
            _rename_if_there(self._path(suffix), None)


class _HeaderReader:
    """Batch headers from a log file, one pread per WALK_READ_BYTES: a walk over small
    batches costs one system call per few KB rather than one per batch."""

    __slots__ = ("file", "fd", "path", "start", "buffer")

    def __init__(self, file, path: str) -> None:
        self.file = file          # held: the segment may let go of its reader meanwhile (open_files.py)
        self.fd = file.fileno()
        self.path = path
        self.start = 0
        self.buffer = b""

    def _unpack(self, layout, position: int) -> tuple:
        at = position - self.start
        if at < 0 or at + layout.size > len(self.buffer):
            self.buffer = os.pread(self.fd, WALK_READ_BYTES, position)
            self.start = position
            at = 0
            if len(self.buffer) < layout.size:
                raise OSError(f"{self.path}: short header read at {position}")
        return layout.unpack_from(self.buffer, at)

    def prefix_at(self, position: int) -> tuple:
        """HEADER_PREFIX tuple (base_offset .. last_offset_delta) of the batch at position."""
        return self._unpack(HEADER_PREFIX, position)

    def header_at(self, position: int) -> BatchHeader:
        return BatchHeader._make(self._unpack(HEADER, position))


def _rename_if_there(path: str, target: str | None) -> None:
    """Rename path to target (None: unlink it); nothing if it is not there."""
    try:
        if target is None:
            os.unlink(path)
        else:
            os.rename(path, target)
    except FileNotFoundError:
        pass


def _write_rest(fd: int, iov: list, total: int, start_size: int) -> None:
    """Finish a write that os.writev left short (or that has more parts than IOV_MAX)."""
    written = os.fstat(fd).st_size - start_size
    rest = _skip(iov, written)
    while rest:
        rest = _skip(rest, os.writev(fd, rest[:_IOV_MAX]))


def _skip(iov: list, count: int) -> list:
    """iov without its first count bytes."""
    for i, part in enumerate(iov):
        if count < len(part):
            return [memoryview(part)[count:]] + iov[i + 1 :]
        count -= len(part)
    return []
