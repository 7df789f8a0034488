"""Segment recovery on open: check batches, cut an invalid tail, rebuild the indexes.

A batch is valid if it is whole, has magic 2, a matching CRC-32C, and a base offset after
the previous batch's last offset (the next one, or later: a compacted segment has gaps). The walk reads the file through mmap (no copy per batch).
"""

from __future__ import annotations

import mmap
import os
from array import array
from dataclasses import dataclass, field

from .crc import crc32c

from .records import (
    ATTRIBUTES_POS,
    BASE_OFFSET,
    BATCH_LENGTH,
    BATCH_LENGTH_MIN,
    CRC,
    CURRENT_MAGIC,
    HEADER,
    HEADER_BYTES,
    LAST_OFFSET_DELTA,
    LOG_OVERHEAD,
    MAGIC,
    MAX_TIMESTAMP,
)
from .segment import LogSegment

_NO_LIMIT = 2**62


@dataclass
class _Walk:
    """Where a walk starts, and what it has found so far."""

    position: int
    next_offset: int
    offsets: array = field(default_factory=lambda: array("i"))
    positions: array = field(default_factory=lambda: array("i"))
    timestamps: array = field(default_factory=lambda: array("q"))
    time_offsets: array = field(default_factory=lambda: array("i"))
    max_timestamp: int = -1
    offset_of_max: int = -1
    since_entry: int = 0
    indexed_at_start: bool = False  # the batch at position already has its index entry
    first_max_timestamp: int = -1


def recover_segment(segment: LogSegment, index_interval_bytes: int, *, from_last_index_entry: bool = False) -> int:
    """Check segment's batches, truncate after the last valid one; return bytes cut.

    from_last_index_entry: trust the index files and check only the batches from the last
    offset-index entry on (after a clean shutdown). Any doubt falls back to a full walk.
    """
    size = os.path.getsize(segment.log_path)
    walk = _trusted_start(segment, size) if from_last_index_entry and size else None
    trusted = walk is not None
    if walk is None:
        walk = _Walk(position=0, next_offset=segment.base_offset)
    start = walk.position
    offset_entries_before = len(walk.offsets)  # in a trusted walk, the loaded arrays grow in place
    _walk_batches(segment, size, walk, index_interval_bytes)
    if trusted and walk.position == start:
        return recover_segment(segment, index_interval_bytes)  # the indexed batch itself is bad
    if walk.max_timestamp > (walk.timestamps[-1] if walk.timestamps else -1):
        walk.timestamps.append(walk.max_timestamp)  # the segment's maximum, as sealing adds it
        walk.time_offsets.append(walk.offset_of_max - segment.base_offset)

    truncated = size - walk.position
    if truncated:
        os.truncate(segment.log_path, walk.position)
    segment.size = walk.position
    segment.next_offset = walk.next_offset
    segment.max_timestamp, segment.offset_of_max_timestamp = walk.max_timestamp, walk.offset_of_max
    segment.bytes_since_last_index_entry = walk.since_entry
    if start > 0:
        walk.first_max_timestamp = segment.header_at(0).max_timestamp
    if walk.first_max_timestamp >= 0:
        segment.rolling_base_ms = walk.first_max_timestamp
    else:
        segment.rolling_base_ms = int(os.stat(segment.log_path).st_mtime * 1000)
    if not trusted or len(walk.offsets) != offset_entries_before:
        segment.offset_index.reset(walk.offsets, walk.positions)
    time_index = segment.time_index
    if not trusted or (walk.timestamps, walk.time_offsets) != (time_index.timestamps, time_index.relative_offsets):
        time_index.reset(walk.timestamps, walk.time_offsets)
    return truncated


def _trusted_start(segment: LogSegment, size: int) -> _Walk | None:
    """A walk from the last offset-index entry, with the index files' entries before it (from
    the start, to be compared with the files, if the segment is too small for an entry)."""
    offset_index, time_index = segment.offset_index, segment.time_index
    if not offset_index.load(size, _NO_LIMIT) or not time_index.load(_NO_LIMIT):
        return None
    if not len(offset_index):
        return _Walk(position=0, next_offset=segment.base_offset, offsets=offset_index.relative_offsets,
                     positions=offset_index.positions)
    position = offset_index.positions[-1]
    try:
        header = segment.header_at(position)
    except OSError:
        return None
    indexed_offset = segment.base_offset + offset_index.relative_offsets[-1]
    if header.magic != CURRENT_MAGIC or not header.base_offset <= indexed_offset <= header.last_offset:
        return None
    # time entries up to the indexed batch; later ones (the final one written on close) are
    # found again by the walk
    keep = len(time_index)
    while keep and segment.base_offset + time_index.relative_offsets[keep - 1] > header.last_offset:
        keep -= 1
    timestamps, time_offsets = time_index.timestamps[:keep], time_index.relative_offsets[:keep]
    max_timestamp, offset_of_max = -1, -1
    if keep:
        max_timestamp, offset_of_max = timestamps[-1], segment.base_offset + time_offsets[-1]
    return _Walk(
        position=position,
        next_offset=header.base_offset,
        offsets=offset_index.relative_offsets,
        positions=offset_index.positions,
        timestamps=timestamps,
        time_offsets=time_offsets,
        max_timestamp=max_timestamp,
        offset_of_max=offset_of_max,
        indexed_at_start=True,
    )


def _walk_batches(segment: LogSegment, size: int, walk: _Walk, index_interval_bytes: int) -> None:
    """Advance walk over valid batches, adding index entries as appends would have."""
    if size - walk.position < HEADER_BYTES:
        return
    segment_base = segment.base_offset
    with open(segment.log_path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            position, next_offset = walk.position, walk.next_offset
            max_timestamp, offset_of_max = walk.max_timestamp, walk.offset_of_max
            since_entry = walk.since_entry
            skip_index = walk.indexed_at_start
            unpack_from = HEADER.unpack_from
            while size - position >= HEADER_BYTES:
                header = unpack_from(view, position)
                end = position + LOG_OVERHEAD + header[BATCH_LENGTH]
                if (
                    header[BATCH_LENGTH] < BATCH_LENGTH_MIN
                    or end > size
                    or header[MAGIC] != CURRENT_MAGIC
                    or header[BASE_OFFSET] < next_offset
                    or header[LAST_OFFSET_DELTA] < 0
                    or crc32c(view[position + ATTRIBUTES_POS : end]) != header[CRC]
                ):
                    break
                last_offset = header[BASE_OFFSET] + header[LAST_OFFSET_DELTA]
                if position == 0:
                    walk.first_max_timestamp = header[MAX_TIMESTAMP]
                if header[MAX_TIMESTAMP] > max_timestamp:
                    max_timestamp, offset_of_max = header[MAX_TIMESTAMP], last_offset
                if skip_index:
                    skip_index = False
                    since_entry = 0
                elif since_entry >= index_interval_bytes:
                    walk.offsets.append(last_offset - segment_base)
                    walk.positions.append(position)
                    if max_timestamp > (walk.timestamps[-1] if walk.timestamps else -1):
                        walk.timestamps.append(max_timestamp)
                        walk.time_offsets.append(offset_of_max - segment_base)
                    since_entry = 0
                since_entry += end - position
                position = end
                next_offset = last_offset + 1
        finally:
            view.release()
    walk.position, walk.next_offset = position, next_offset
    walk.max_timestamp, walk.offset_of_max = max_timestamp, offset_of_max
    walk.since_entry = since_entry

