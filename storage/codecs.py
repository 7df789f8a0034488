"""Compression codecs of RecordBatch attributes bits 0-2, through cramjam."""

from __future__ import annotations

import struct
from enum import IntEnum

import cramjam

from .errors import CorruptRecordError, InvalidRecordError

# Java's snappy-java stream: 8-byte magic, int32 version, int32 compatible version, then
# blocks of int32 length + raw snappy bytes.
XERIAL_MAGIC = b"\x82SNAPPY\x00"
XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
XERIAL_BLOCK_BYTES = 32 * 1024


class Compression(IntEnum):
    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


def compress(codec: int, data: bytes, *, snappy_xerial: bool = True) -> bytes:
    """Compress data as producers do (snappy in Java's xerial framing unless told raw)."""
    if codec == Compression.NONE:
        return bytes(data)
    if codec == Compression.GZIP:
        return bytes(cramjam.gzip.compress(data))
    if codec == Compression.SNAPPY:
        if not snappy_xerial:
            return bytes(cramjam.snappy.compress_raw(data))
        parts = [XERIAL_HEADER]
        view = memoryview(data)
        for start in range(0, len(view), XERIAL_BLOCK_BYTES):
            block = bytes(cramjam.snappy.compress_raw(view[start : start + XERIAL_BLOCK_BYTES]))
            parts.append(struct.pack(">i", len(block)))
            parts.append(block)
        return b"".join(parts)
    if codec == Compression.LZ4:
        return bytes(cramjam.lz4.compress(data))
    if codec == Compression.ZSTD:
        return bytes(cramjam.zstd.compress(data))
    raise InvalidRecordError(f"unknown compression codec {codec}")


def decompress(codec: int, data: bytes | memoryview) -> bytes:
    """Decompress a batch's records section; CorruptRecordError if the bytes do not decode."""
    try:
        if codec == Compression.NONE:
            return bytes(data)
        if codec == Compression.GZIP:
            return bytes(cramjam.gzip.decompress(data))
        if codec == Compression.SNAPPY:
            return _snappy_decompress(data)
        if codec == Compression.LZ4:
            return bytes(cramjam.lz4.decompress(data))
        if codec == Compression.ZSTD:
            return bytes(cramjam.zstd.decompress(data))
    except cramjam.DecompressionError as exc:
        raise CorruptRecordError(f"cannot decompress {Compression(codec).name} records: {exc}") from exc
    raise InvalidRecordError(f"unknown compression codec {codec}")


def _snappy_decompress(data: bytes | memoryview) -> bytes:
    view = memoryview(data)
    if bytes(view[:8]) != XERIAL_MAGIC or len(view) < 16:
        return bytes(cramjam.snappy.decompress_raw(view))
    parts = []
    position = 16
    while position < len(view):
        if position + 4 > len(view):
            raise CorruptRecordError("truncated xerial snappy block length")
        (length,) = struct.unpack_from(">i", view, position)
        position += 4
        if length < 0 or position + length > len(view):
            raise CorruptRecordError("truncated xerial snappy block")
        parts.append(bytes(cramjam.snappy.decompress_raw(view[position : position + length])))
        position += length
    return b"".join(parts)
