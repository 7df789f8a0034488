"""Plain values returned by PartitionLog.append and PartitionLog.read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO


@dataclass(frozen=True)
class FileSlice:
    """size bytes of a segment file from position: whole batches, for sendfile or pread."""

    file: BinaryIO  # read-only, owned by the segment; use fileno() with explicit offsets
    position: int
    size: int

    def read_bytes(self) -> bytes:
        """The bytes of the slice (a copy: for tests and internal topics, not the fetch path)."""
        data = os.pread(self.file.fileno(), self.size, self.position)
        if len(data) != self.size:
            raise OSError(f"short read: {len(data)} of {self.size} bytes")
        return data


@dataclass(slots=True)
class AppendResult:
    base_offset: int
    last_offset: int
    log_append_time_ms: int  # -1 unless the topic uses LogAppendTime
    log_start_offset: int
    duplicate: bool = False  # an idempotent retry: the original offsets, nothing written


@dataclass(slots=True)
class ReadResult:
    chunks: list = field(default_factory=list)  # FileSlice or bytes/memoryview, whole batches, in order
    size: int = 0
    high_watermark: int = 0
    log_start_offset: int = 0
    last_stable_offset: int = 0
    next_offset: int = 0  # the offset after the last batch returned (the read offset when none)

    def read_bytes(self) -> bytes:
        """All chunks joined (a copy: for tests and internal topics)."""
        return b"".join(c.read_bytes() if isinstance(c, FileSlice) else bytes(c) for c in self.chunks)
