"""What the generated code calls at run time: the frame buffers, packers and writers.

The code ``kproto.codegen`` generates parses inline (by position in the frame's
bytes) and builds through the writers below, which are each the one builder of
their wire type. Apart from that code, only ``kproto.codec`` (the buffers, the size
prefix) and the coordinator records (a record's int16 version) use this module.
It imports nothing of kproto's but the errors.
"""

from __future__ import annotations

import struct
from io import BytesIO
from uuid import UUID

from kproto.errors import DecodeError

_i16 = struct.Struct(">h")
_i32 = struct.Struct(">i")

unpack_i16_from, unpack_i32_from = _i16.unpack_from, _i32.unpack_from   # by position, no copy
pack_i16 = _i16.pack
pack_i32 = _i32.pack


class Reader(BytesIO):
    """A BytesIO over one frame (bytes), which also gives zero-copy views of it for records.

    A BytesIO made from bytes shares them until written to, and ``getvalue()`` hands
    back that very object, so ``view`` copies nothing.
    """

    __slots__ = ()

    @property
    def view(self) -> memoryview:
        return memoryview(self.getvalue())


class Writer(BytesIO):
    """A BytesIO that also notes where sized chunks (file ranges) go, unwritten.

    ``slices`` holds ``(position, chunk)`` pairs: the chunk's bytes belong at that
    position of the frame and are sent separately (e.g. with sendfile).
    """

    slices: tuple | list = ()   # a list once the first chunk is noted


# -- unsigned varints: compact lengths and counts, tags ------------------------------

def read_uvarint_at(buf: bytes, position: int, max_bytes: int = 5) -> tuple[int, int]:
    """An unsigned varint (LEB128, at most ``max_bytes`` long: 5 for 32 bits) at
    ``position`` of ``buf``: (value, position after it)."""
    result = 0
    for i in range(max_bytes):
        if position + i >= len(buf):
            raise DecodeError("varint cut short")
        b = buf[position + i]
        result |= (b & 0x7F) << (7 * i)
        if b < 0x80:
            return result, position + i + 1
    raise DecodeError(f"varint longer than {max_bytes} bytes")


BYTE = [bytes((i,)) for i in range(256)]   # one-byte bytes objects, made once


def encode_uvarint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"unsigned varint {value} is negative")
    if value < 0x80:
        return BYTE[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# -- strings and bytes: int16 (string) or int32 (bytes) length, -1 null; compact: uvarint N+1, 0 null --

def write_string(io, value: str) -> None:
    data = value.encode("utf-8")
    io.write(pack_i16(len(data)))
    io.write(data)


def write_nullable_string(io, value: str | None) -> None:
    if value is None:
        io.write(b"\xff\xff")
    else:
        write_string(io, value)


def write_compact_string(io, value: str) -> None:
    data = value.encode("utf-8")
    n = len(data) + 1
    io.write((BYTE[n] if n < 0x80 else encode_uvarint(n)) + data)


def write_compact_nullable_string(io, value: str | None) -> None:
    if value is None:
        io.write(b"\x00")
    else:
        write_compact_string(io, value)


def write_bytes(io, value) -> None:
    io.write(pack_i32(len(value)))
    io.write(value)


def write_nullable_bytes(io, value) -> None:
    if value is None:
        io.write(b"\xff\xff\xff\xff")
    else:
        write_bytes(io, value)


def write_compact_bytes(io, value) -> None:
    io.write(encode_uvarint(len(value) + 1))
    io.write(value)


def write_compact_nullable_bytes(io, value) -> None:
    if value is None:
        io.write(b"\x00")
    else:
        write_compact_bytes(io, value)


# -- records: built from bytes or from chunks, a chunk that is not bytes (a file range) noted in slices --

def records_size(value) -> int:
    """Size of a records value: bytes-like, or a list of chunks (bytes-like or sized objects)."""
    if isinstance(value, (list, tuple)):
        return sum(len(c) if isinstance(c, (bytes, bytearray, memoryview)) else c.size for c in value)
    return len(value)


def _write_record_chunks(io, value) -> None:
    if isinstance(value, (list, tuple)):
        for chunk in value:
            if isinstance(chunk, (bytes, bytearray, memoryview)):
                io.write(chunk)
            else:
                if not io.slices:
                    io.slices = []
                io.slices.append((io.tell(), chunk))
    else:
        io.write(value)


def write_records(io, value) -> None:
    if value is None:
        io.write(b"\xff\xff\xff\xff")
        return
    io.write(pack_i32(records_size(value)))
    _write_record_chunks(io, value)


def write_compact_records(io, value) -> None:
    if value is None:
        io.write(b"\x00")
        return
    io.write(encode_uvarint(records_size(value) + 1))
    _write_record_chunks(io, value)


# -- uuid ----------------------------------------------------------------------------

def write_uuid(io, value) -> None:
    if isinstance(value, UUID):
        value = value.bytes
    if len(value) != 16:
        raise ValueError("a UUID is 16 bytes")
    io.write(value)


# -- tagged fields ---------------------------------------------------------------------

def write_tagged_section(io, items) -> None:
    """Write ``(tag, data)`` pairs, already sorted by tag, as a tagged-field section."""
    if not items:
        io.write(b"\x00")
        return
    io.write(encode_uvarint(len(items)))
    for tag, data in items:
        io.write(encode_uvarint(tag))
        io.write(encode_uvarint(len(data)))
        io.write(data)


def write_unknown_tags(io, fields: dict) -> None:
    """A tagged-field section holding only kept unknown tags ``{tag: bytes}``."""
    write_tagged_section(io, sorted(fields.items()))
