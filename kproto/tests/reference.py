"""A second, plain reading of Kafka's wire types, to check the generated codec against.

Written from the protocol guide's table of types, one small branch per type over a
BytesIO, field by field: slow and obvious, sharing no code with ``kproto.codegen``.
The round-trip tests build and parse every message version with both and require
the same bytes and the same values, so a slip in the generated code is seen even
when it is symmetric (parse undoing a wrong build).
"""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any

from kproto import constructs as c

FIXED = {"int8": ">b", "int16": ">h", "int32": ">i", "int64": ">q", "float64": ">d"}


def build(node, value) -> bytes:
    out = BytesIO()
    _build(node, value, out)
    return out.getvalue()


def parse(node, data: bytes) -> Any:
    """The value of ``data``, which must hold exactly one ``node``; ValueError if it does not."""
    io = BytesIO(bytes(data))
    value = _parse(node, io)
    if io.read(1):
        raise ValueError("trailing bytes")
    return value


# -- building ----------------------------------------------------------------------

def _uvarint(n: int) -> bytes:
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        out += bytes([low | (0x80 if n else 0)])
        if not n:
            return out


def _length(out, name: str, n: int | None) -> None:
    """A length or count: -1 for null, or uvarint N+1 (0 for null) in a compact type."""
    if name.startswith("compact_"):
        out.write(_uvarint(0 if n is None else n + 1))
    else:
        out.write(struct.pack(">h" if "string" in name else ">i", -1 if n is None else n))


def _build(node, value, out) -> None:
    name = node.kafka_name
    if name == "struct":
        for field, sub, default in node.fields:
            _build(sub, value.get(field, default), out)
        if node.tagged is not None:
            items = {tag: build(sub, value[field]) for tag, field, sub, default in node.tagged
                     if field in value and value[field] != default}
            items.update(value.get(c.UNKNOWN_TAGS) or {})
            out.write(_uvarint(len(items)))
            for tag in sorted(items):
                out.write(_uvarint(tag) + _uvarint(len(items[tag])) + items[tag])
    elif name == "nullable_struct":   # an int8 marker, then the struct
        out.write(b"\xff" if value is None else b"\x01")
        if value is not None:
            _build(node.struct, value, out)
    elif name == "array":
        _length(out, "compact_array" if node.compact else "array", None if value is None else len(value))
        for item in value or ():
            _build(node.element, item, out)
    elif name in FIXED:
        out.write(struct.pack(FIXED[name], value))
    elif name == "bool":
        out.write(b"\x01" if value else b"\x00")
    elif name == "uuid":
        out.write(bytes(value))
    else:  # strings, bytes, records
        data = value.encode() if isinstance(value, str) else value
        _length(out, name, None if data is None else len(data))
        out.write(data or b"")


# -- parsing -------------------------------------------------------------------------

def _read(io, n: int) -> bytes:
    data = io.read(n)
    if len(data) != n:
        raise ValueError("cut short")
    return data


def _read_uvarint(io) -> int:
    n = shift = 0
    while True:
        byte = _read(io, 1)[0]
        n |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return n


def _read_length(io, name: str) -> int | None:
    if name.startswith("compact_"):
        n = _read_uvarint(io) - 1
    else:
        n = struct.unpack(">h" if "string" in name else ">i", _read(io, 2 if "string" in name else 4))[0]
    return None if n < 0 else n


def _parse(node, io) -> Any:
    name = node.kafka_name
    if name == "struct":
        value = {field: _parse(sub, io) for field, sub, _ in node.fields}
        value.update(node.absent)
        if node.tagged is not None:
            known = {tag: (field, sub) for tag, field, sub, _ in node.tagged}
            value.update((field, default) for _, field, _, default in node.tagged)
            for _ in range(_read_uvarint(io)):
                tag = _read_uvarint(io)
                data = _read(io, _read_uvarint(io))
                if tag in known:
                    value[known[tag][0]] = parse(known[tag][1], data)
                else:
                    value.setdefault(c.UNKNOWN_TAGS, {})[tag] = data
        return value
    if name == "nullable_struct":
        return None if struct.unpack(">b", _read(io, 1))[0] < 0 else _parse(node.struct, io)
    if name == "array":
        n = _read_length(io, "compact_array" if node.compact else "array")
        if n is None and not node.nullable:
            raise ValueError("null array")
        return None if n is None else [_parse(node.element, io) for _ in range(n)]
    if name in FIXED:
        size = struct.calcsize(FIXED[name])
        return struct.unpack(FIXED[name], _read(io, size))[0]
    if name == "bool":
        byte = _read(io, 1)[0]
        if byte > 1:
            raise ValueError(f"bool byte {byte}")
        return byte == 1
    if name == "uuid":
        return _read(io, 16)
    n = _read_length(io, name)
    if n is None:
        if "nullable" not in name and "records" not in name:
            raise ValueError(f"null {name}")
        return None
    data = _read(io, n)
    return data.decode() if "string" in name else data
