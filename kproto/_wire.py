"""Byte-level readers and writers shared by the interpreted and the compiled codec.

Every variable-length read checks that the bytes were really there: a short read
raises DecodeError, so a truncated frame never decodes to a wrong value. Fixed-size
reads rely on ``struct.error``, which the frame decoder turns into DecodeError.
"""

from __future__ import annotations

import struct
from io import BytesIO
from uuid import UUID

from kproto.errors import DecodeError

_i8 = struct.Struct(">b")
_i16 = struct.Struct(">h")
_i32 = struct.Struct(">i")
_i64 = struct.Struct(">q")
_u16 = struct.Struct(">H")
_u32 = struct.Struct(">I")
_f64 = struct.Struct(">d")

unpack_i16_from, unpack_i32_from = _i16.unpack_from, _i32.unpack_from   # by position, no copy
unpack_i8, pack_i8 = _i8.unpack, _i8.pack
unpack_i16, pack_i16 = _i16.unpack, _i16.pack
unpack_i32, pack_i32 = _i32.unpack, _i32.pack
unpack_i64, pack_i64 = _i64.unpack, _i64.pack
unpack_u16, pack_u16 = _u16.unpack, _u16.pack
unpack_u32, pack_u32 = _u32.unpack, _u32.pack
unpack_f64, pack_f64 = _f64.unpack, _f64.pack

ZERO_UUID = bytes(16)


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



def read_exact(io, n: int) -> bytes:
    data = io.read(n)
    if len(data) != n:
        raise DecodeError(f"needed {n} bytes, frame had {len(data)}")
    return data


def read_bool(io) -> bool:
    value = unpack_i8(io.read(1))[0]
    if value not in (0, 1):
        raise DecodeError(f"boolean byte {value}")
    return value == 1


def write_bool(io, value: bool) -> None:
    io.write(b"\x01" if value else b"\x00")


# -- varints -----------------------------------------------------------------

def read_uvarint(io, max_bytes: int = 5) -> int:
    """Unsigned LEB128, at most ``max_bytes`` long (5 for 32 bits, 10 for 64)."""
    byte = io.read(1)
    if byte and byte[0] < 0x80:
        return byte[0]
    return read_uvarint_rest(io, byte, max_bytes)


def read_uvarint_rest(io, byte: bytes, max_bytes: int = 5) -> int:
    """The rest of a varint whose first byte (already read) is ``byte``."""
    result = 0
    shift = 0
    for _ in range(max_bytes):
        if not byte:
            raise DecodeError("varint cut short")
        b = byte[0]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result
        shift += 7
        byte = io.read(1)
    raise DecodeError(f"varint longer than {max_bytes} bytes")


def read_uvarint_at(buf: bytes, position: int, max_bytes: int = 5) -> tuple[int, int]:
    """An unsigned varint at ``position`` of ``buf``: (value, position after it)."""
    result = 0
    for i in range(max_bytes):
        if position + i >= len(buf):
            raise DecodeError("varint cut short")
        b = buf[position + i]
        result |= (b & 0x7F) << (7 * i)
        if b < 0x80:
            return result, position + i + 1
    raise DecodeError(f"varint longer than {max_bytes} bytes")


def read_varint_at(buf: bytes, position: int) -> tuple[int, int]:
    n, position = read_uvarint_at(buf, position, 5)
    if n > 0xFFFFFFFF:
        raise DecodeError("varint out of 32-bit range")
    return (n >> 1) ^ -(n & 1), position


def read_varlong_at(buf: bytes, position: int) -> tuple[int, int]:
    n, position = read_uvarint_at(buf, position, 10)
    if n > 0xFFFFFFFFFFFFFFFF:
        raise DecodeError("varlong out of 64-bit range")
    return (n >> 1) ^ -(n & 1), position


def read_compact_length(io) -> int:
    """A compact length: unsigned varint N+1, so -1 is null."""
    byte = io.read(1)
    if byte and byte[0] < 0x80:
        return byte[0] - 1
    return read_uvarint_rest(io, byte) - 1


BYTE = [bytes((i,)) for i in range(256)]   # one-byte bytes objects, made once


def encode_uvarint(value: int) -> bytes:
    if value < 0x80:
        return BYTE[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def write_uvarint(io, value: int) -> None:
    if value < 0:
        raise ValueError(f"unsigned varint {value} is negative")
    io.write(encode_uvarint(value))


def read_varint(io) -> int:
    """Zig-zag signed 32-bit varint."""
    n = read_uvarint(io, 5)
    if n > 0xFFFFFFFF:
        raise DecodeError("varint out of 32-bit range")
    return (n >> 1) ^ -(n & 1)


def read_varlong(io) -> int:
    """Zig-zag signed 64-bit varint."""
    n = read_uvarint(io, 10)
    if n > 0xFFFFFFFFFFFFFFFF:
        raise DecodeError("varlong out of 64-bit range")
    return (n >> 1) ^ -(n & 1)


def write_varint(io, value: int) -> None:
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise ValueError(f"varint {value} is outside 32 bits")  # the mask below would wrap it silently
    io.write(encode_uvarint(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF))


def write_varlong(io, value: int) -> None:
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise ValueError(f"varlong {value} is outside 64 bits")
    io.write(encode_uvarint(((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF))


# -- strings and bytes --------------------------------------------------------

def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"string is not UTF-8: {exc}") from None


def read_string(io) -> str:
    n = unpack_i16(io.read(2))[0]
    if n < 0:
        raise DecodeError("null in a non-nullable string")
    return _decode_utf8(read_exact(io, n))


def read_nullable_string(io) -> str | None:
    n = unpack_i16(io.read(2))[0]
    if n < 0:
        return None
    return _decode_utf8(read_exact(io, n))


def read_compact_string(io) -> str:
    b = io.read(1)
    n = b[0] - 1 if b and b[0] < 0x80 else read_uvarint_rest(io, b) - 1
    if n < 0:
        raise DecodeError("null in a non-nullable compact string")
    data = io.read(n)
    if len(data) != n:
        raise DecodeError(f"needed {n} bytes, frame had {len(data)}")
    return _decode_utf8(data)


def read_compact_nullable_string(io) -> str | None:
    b = io.read(1)
    n = b[0] - 1 if b and b[0] < 0x80 else read_uvarint_rest(io, b) - 1
    if n < 0:
        return None
    data = io.read(n)
    if len(data) != n:
        raise DecodeError(f"needed {n} bytes, frame had {len(data)}")
    return _decode_utf8(data)


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


def read_bytes(io) -> bytes:
    n = unpack_i32(io.read(4))[0]
    if n < 0:
        raise DecodeError("null in non-nullable bytes")
    return read_exact(io, n)


def read_nullable_bytes(io) -> bytes | None:
    n = unpack_i32(io.read(4))[0]
    if n < 0:
        return None
    return read_exact(io, n)


def read_compact_bytes(io) -> bytes:
    b = io.read(1)
    n = b[0] - 1 if b and b[0] < 0x80 else read_uvarint_rest(io, b) - 1
    if n < 0:
        raise DecodeError("null in non-nullable compact bytes")
    return read_exact(io, n)


def read_compact_nullable_bytes(io) -> bytes | None:
    b = io.read(1)
    n = b[0] - 1 if b and b[0] < 0x80 else read_uvarint_rest(io, b) - 1
    if n < 0:
        return None
    return read_exact(io, n)


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


# -- records: a zero-copy view on parse, chunks (possibly file ranges) on build --

def _records_view(io, n: int):
    if n < 0:
        return None
    start = io.tell()
    end = start + n
    view = memoryview(io.getvalue())[start:end]
    if len(view) != n:
        raise DecodeError(f"records need {n} bytes, frame had {len(view)}")
    io.seek(end)
    return view


def read_records(io):
    return _records_view(io, unpack_i32(io.read(4))[0])


def read_compact_records(io):
    b = io.read(1)
    return _records_view(io, b[0] - 1 if b and b[0] < 0x80 else read_uvarint_rest(io, b) - 1)


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


# -- uuid -------------------------------------------------------------------

def read_uuid(io) -> bytes:
    return read_exact(io, 16)


def write_uuid(io, value) -> None:
    if isinstance(value, UUID):
        value = value.bytes
    if len(value) != 16:
        raise ValueError("a UUID is 16 bytes")
    io.write(value)


# -- array counts -------------------------------------------------------------

def read_array_count(io) -> int:
    return unpack_i32(io.read(4))[0]


def read_compact_array_count(io) -> int:
    return read_compact_length(io)


def write_array_count(io, value) -> None:
    io.write(pack_i32(-1 if value is None else len(value)))


def write_compact_array_count(io, value) -> None:
    if value is None:
        io.write(b"\x00")
    else:
        n = len(value) + 1
        io.write(BYTE[n] if n < 0x80 else encode_uvarint(n))


# -- tagged fields ------------------------------------------------------------

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


def skip_tagged_section(io) -> dict:
    """Read a tagged-field section whose tags are all unknown: ``{tag: bytes}``."""
    fields = {}
    for _ in range(read_uvarint(io)):
        tag = read_uvarint(io)
        fields[tag] = read_exact(io, read_uvarint(io))
    return fields
