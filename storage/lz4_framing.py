"""LZ4 frames as Kafka writes them, and the header-checksum quirk of message format v0.

Kafka compresses lz4 message sets as one LZ4 frame (format 1.5): magic 0x184D2204, a frame
descriptor (FLG 0x60: independent blocks, no block or content checksum, no content size;
BD 0x40: blocks of at most 64 KiB), then blocks, each an int32 little-endian length (bit 31
set: stored uncompressed) and its bytes, and a zero end mark. The descriptor ends with HC,
the second byte of the xxHash32 of the descriptor.

Kafka before 0.10 computed HC over the magic number too. Message format v0 keeps that:
Kafka writes v0 lz4 with the "broken" HC and ignores HC when it reads v0, while v1 and v2
use (and check) the correct one. Old clients expect the broken one in v0 (kafka-python's
codec for 0.8/0.9 brokers writes it and recomputes it on read).
"""

from __future__ import annotations

import struct

import cramjam

from .errors import CorruptRecordError

LZ4_MAGIC = b"\x04\x22\x4d\x18"
FLG_KAFKA = 0x60            # version 01, independent blocks
BD_64KB = 0x40              # block maximum size 64 KiB
BLOCK_BYTES = 64 * 1024
_STORED = 0x80000000        # a block stored as it is
_UINT32_LE = struct.Struct("<I")

_FLG_CONTENT_SIZE = 0x08
_FLG_DICT_ID = 0x01

_PRIME32_1 = 0x9E3779B1
_PRIME32_2 = 0x85EBCA77
_PRIME32_3 = 0xC2B2AE3D
_PRIME32_4 = 0x27D4EB2F
_PRIME32_5 = 0x165667B1
_MASK32 = 0xFFFFFFFF


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK32


def xxh32(data: bytes, seed: int = 0) -> int:
    """xxHash32 of data (the hash LZ4 frames use for their checksums); for a few header bytes."""
    length = len(data)
    position = 0
    if length >= 16:
        lanes = [(seed + _PRIME32_1 + _PRIME32_2) & _MASK32, (seed + _PRIME32_2) & _MASK32,
                 seed & _MASK32, (seed - _PRIME32_1) & _MASK32]
        while position + 16 <= length:
            for i in range(4):
                (word,) = _UINT32_LE.unpack_from(data, position)
                lanes[i] = (_rotl((lanes[i] + word * _PRIME32_2) & _MASK32, 13) * _PRIME32_1) & _MASK32
                position += 4
        h = (_rotl(lanes[0], 1) + _rotl(lanes[1], 7) + _rotl(lanes[2], 12) + _rotl(lanes[3], 18)) & _MASK32
    else:
        h = (seed + _PRIME32_5) & _MASK32
    h = (h + length) & _MASK32
    while position + 4 <= length:
        (word,) = _UINT32_LE.unpack_from(data, position)
        h = (_rotl((h + word * _PRIME32_3) & _MASK32, 17) * _PRIME32_4) & _MASK32
        position += 4
    while position < length:
        h = (_rotl((h + data[position] * _PRIME32_5) & _MASK32, 11) * _PRIME32_1) & _MASK32
        position += 1
    h ^= h >> 15
    h = (h * _PRIME32_2) & _MASK32
    h ^= h >> 13
    h = (h * _PRIME32_3) & _MASK32
    return h ^ (h >> 16)


def _header_checksum(descriptor: bytes) -> int:
    return (xxh32(descriptor) >> 8) & 0xFF


def compress_kafka_frame(data: bytes, *, broken_checksum: bool = False) -> bytes:
    """data as the LZ4 frame Kafka writes; broken_checksum: the HC of message format v0."""
    descriptor = bytes((FLG_KAFKA, BD_64KB))
    checksummed = LZ4_MAGIC + descriptor if broken_checksum else descriptor
    parts = [LZ4_MAGIC, descriptor, bytes((_header_checksum(checksummed),))]
    view = memoryview(data)
    for start in range(0, len(view), BLOCK_BYTES):
        block = view[start:start + BLOCK_BYTES]
        compressed = bytes(cramjam.lz4.compress_block(block, store_size=False))
        if len(compressed) >= len(block):
            parts += (_UINT32_LE.pack(len(block) | _STORED), bytes(block))
        else:
            parts += (_UINT32_LE.pack(len(compressed)), compressed)
    parts.append(_UINT32_LE.pack(0))
    return b"".join(parts)


def decompress_frame(data: bytes | memoryview, *, ignore_header_checksum: bool = False) -> bytes:
    """An LZ4 frame's content; ignore_header_checksum: accept any HC (message format v0), as Kafka does.

    CorruptRecordError if the bytes are not a valid frame.
    """
    frame = bytes(data)
    if ignore_header_checksum and len(frame) >= 7 and frame[:4] == LZ4_MAGIC:
        flg = frame[4]
        end = 6 + (8 if flg & _FLG_CONTENT_SIZE else 0) + (4 if flg & _FLG_DICT_ID else 0)
        if len(frame) > end:
            frame = b"".join((frame[:end], bytes((_header_checksum(frame[4:end]),)), frame[end + 1:]))
    try:
        return bytes(cramjam.lz4.decompress(frame))
    except cramjam.DecompressionError as exc:
        raise CorruptRecordError(f"cannot decompress LZ4 records: {exc}") from exc
