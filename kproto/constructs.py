"""Kafka's wire types as construct classes that compile fully.

Stock construct falls back to interpreted code for varints, adapters and prefixed
data, so every Kafka type here is a small ``Construct`` subclass with both an
interpreted ``_parse``/``_build`` and an ``_emitparse``/``_emitbuild`` for
``compile()``. A primitive is one parse expression and one build expression over
``io`` (and ``obj``); the interpreted methods are made from the same expressions,
so the two paths cannot drift apart.

Structs parse to plain dicts. Fields a version lacks are filled with their
defaults, so handlers read every field of every version the same way.
"""

from __future__ import annotations

import copy
from typing import Any

from construct import Construct

from kproto import _wire, codegen
from kproto._wire import Reader
from kproto.errors import DecodeError

PRELUDE = "from kproto._wire import *\nfrom kproto.errors import DecodeError\n"

_NAMESPACE = {name: getattr(_wire, name) for name in dir(_wire) if not name.startswith("__")}
_NAMESPACE["DecodeError"] = DecodeError

UNKNOWN_TAGS = "_unknown_tagged_fields"


class Primitive(Construct):
    """A Kafka primitive: one parse expression over ``io``, one build statement over ``obj`` and ``io``.

    ``fixed``: the ``struct`` format letter of a fixed-width primitive, so a compiled
    struct can read or write a run of them with one call.
    """

    def __init__(self, kafka_name: str, parse_expr: str, build_expr: str, fixed: str | None = None):
        super().__init__()
        self.kafka_name = kafka_name
        self.fixed = fixed
        self.parse_expr = parse_expr
        self.build_expr = build_expr
        self._reader = eval(f"lambda io: {parse_expr}", _NAMESPACE)  # noqa: S307 - our own constant text
        self._writer = eval(f"lambda obj, io: {build_expr}", _NAMESPACE)  # noqa: S307

    def __repr__(self) -> str:
        return f"<{self.kafka_name}>"

    def _parse(self, stream, context, path):
        return self._reader(stream)

    def _build(self, obj, stream, context, path):
        self._writer(obj, stream)
        return obj

    def _emitparse(self, code):
        code.append(PRELUDE)
        return self.parse_expr

    def _emitbuild(self, code):
        code.append(PRELUDE)
        return self.build_expr


INT8 = Primitive("int8", "unpack_i8(io.read(1))[0]", "io.write(pack_i8(obj))", fixed="b")
INT16 = Primitive("int16", "unpack_i16(io.read(2))[0]", "io.write(pack_i16(obj))", fixed="h")
INT32 = Primitive("int32", "unpack_i32(io.read(4))[0]", "io.write(pack_i32(obj))", fixed="i")
INT64 = Primitive("int64", "unpack_i64(io.read(8))[0]", "io.write(pack_i64(obj))", fixed="q")
UINT16 = Primitive("uint16", "unpack_u16(io.read(2))[0]", "io.write(pack_u16(obj))", fixed="H")
UINT32 = Primitive("uint32", "unpack_u32(io.read(4))[0]", "io.write(pack_u32(obj))", fixed="I")
FLOAT64 = Primitive("float64", "unpack_f64(io.read(8))[0]", "io.write(pack_f64(obj))", fixed="d")
BOOL = Primitive("bool", "unpack_i8(io.read(1))[0] != 0", "io.write(b'\\x01' if obj else b'\\x00')", fixed="?")
UVARINT = Primitive("uvarint", "read_uvarint(io)", "write_uvarint(io, obj)")
VARINT = Primitive("varint", "read_varint(io)", "write_varint(io, obj)")
VARLONG = Primitive("varlong", "read_varlong(io)", "write_varlong(io, obj)")
UUID = Primitive("uuid", "read_uuid(io)", "write_uuid(io, obj)")  # not fused: a UUID object or 16 bytes, checked

STRING = Primitive("string", "read_string(io)", "write_string(io, obj)")
NULLABLE_STRING = Primitive("nullable_string", "read_nullable_string(io)", "write_nullable_string(io, obj)")
COMPACT_STRING = Primitive("compact_string", "read_compact_string(io)", "write_compact_string(io, obj)")
COMPACT_NULLABLE_STRING = Primitive(
    "compact_nullable_string", "read_compact_nullable_string(io)", "write_compact_nullable_string(io, obj)")

BYTES = Primitive("bytes", "read_bytes(io)", "write_bytes(io, obj)")
NULLABLE_BYTES = Primitive("nullable_bytes", "read_nullable_bytes(io)", "write_nullable_bytes(io, obj)")
COMPACT_BYTES = Primitive("compact_bytes", "read_compact_bytes(io)", "write_compact_bytes(io, obj)")
COMPACT_NULLABLE_BYTES = Primitive(
    "compact_nullable_bytes", "read_compact_nullable_bytes(io)", "write_compact_nullable_bytes(io, obj)")

# RECORDS parse to a memoryview into the frame (no copy) and build from bytes or
# from a list of chunks, where a chunk that is not bytes (a file range) is noted
# in ``Writer.slices`` for the transport to send itself.
RECORDS = Primitive("records", "read_records(io)", "write_records(io, obj)")
COMPACT_RECORDS = Primitive("compact_records", "read_compact_records(io)", "write_compact_records(io, obj)")


def _fresh(value):
    """A default usable as a new value (lists and dicts are copied)."""
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


class KArray(Construct):
    """An array: int32 count (-1 = null) or, compact, unsigned varint count + 1 (0 = null)."""

    def __init__(self, element: Construct, compact: bool, nullable: bool):
        super().__init__()
        self.element = element
        self.compact = compact
        self.nullable = nullable
        self._read_count = _wire.read_compact_array_count if compact else _wire.read_array_count
        self._write_count = _wire.write_compact_array_count if compact else _wire.write_array_count

    def __repr__(self) -> str:
        kind = ("compact_" if self.compact else "") + ("nullable_" if self.nullable else "")
        return f"<{kind}array of {self.element!r}>"

    def _count(self, io) -> int:
        n = self._read_count(io)
        if n < 0 and not self.nullable:
            raise DecodeError("null in a non-nullable array")
        if n > len(io.getvalue()) - io.tell():
            raise DecodeError(f"array of {n} elements is longer than the frame")
        return n

    def _parse(self, stream, context, path):
        n = self._count(stream)
        if n < 0:
            return None
        return [self.element._parse(stream, context, path) for _ in range(n)]

    def _build(self, obj, stream, context, path):
        if obj is None and not self.nullable:
            raise ValueError("None for a non-nullable array")
        self._write_count(stream, obj)
        if obj is not None:
            for item in obj:
                self.element._build(item, stream, context, path)
        return obj

    def _emitparse(self, code):
        code.append(PRELUDE)
        fname = f"parse_array_{code.allocateId()}"
        null = "return None" if self.nullable else "raise DecodeError('null in a non-nullable array')"
        count = ("(c[0] - 1 if (c := io.read(1)) and c[0] < 0x80 else read_uvarint_rest(io, c) - 1)"
                 if self.compact else "read_array_count(io)")
        code.append(f"""
            def {fname}(io):
                n = {count}
                if n == 1:
                    return [{self.element._compileparse(code)}]
                if n < 0:
                    {null}
                if n > len(io.getvalue()) - io.tell():
                    raise DecodeError('array longer than the frame')
                items = []
                append = items.append
                for _ in range(n):
                    append({self.element._compileparse(code)})
                return items
        """)
        return f"{fname}(io)"

    def _emitbuild(self, code):
        code.append(PRELUDE)
        fname = f"build_array_{code.allocateId()}"
        if self.nullable:
            null = ("io.write(b'\\x00')" if self.compact else "io.write(b'\\xff\\xff\\xff\\xff')") + "; return"
        else:
            null = "raise ValueError('None for a non-nullable array')"
        count = ("n = len(obj) + 1\n                io.write(BYTE[n] if n < 0x80 else encode_uvarint(n))"
                 if self.compact else "io.write(pack_i32(len(obj)))")
        code.append(f"""
            def {fname}(obj, io):
                if obj is None:
                    {null}
                {count}
                for obj in obj:
                    {self.element._compilebuild(code)}
        """)
        return f"{fname}(obj, io)"


class KStruct(Construct):
    """A struct of named fields, parsed to a dict.

    ``fields``: ``(name, construct, default)`` in wire order. ``absent``: ``(name, default)``
    for fields this version lacks, added to parsed dicts. ``tagged``: ``(tag, name,
    construct, default)`` for a flexible version's tagged fields, or None when the
    version is not flexible (no tagged-field section on the wire). Unknown tags are
    kept under ``_unknown_tagged_fields`` as ``{tag: bytes}`` and written back.
    """

    def __init__(self, fields: list[tuple[str, Construct, Any]], absent: list[tuple[str, Any]] = (),
                 tagged: list[tuple[int, str, Construct, Any]] | None = None):
        super().__init__()
        self.fields = list(fields)
        self.absent = list(absent)
        self.tagged = None if tagged is None else sorted(tagged, key=lambda t: t[0])

    def __repr__(self) -> str:
        return f"<struct {[f[0] for f in self.fields]}>"

    def default(self) -> dict:
        """The struct with every field at its default."""
        value = {name: _fresh(d) for name, _, d in self.fields}
        value.update((name, _fresh(d)) for name, d in self.absent)
        for _, name, _, d in self.tagged or ():
            value[name] = _fresh(d)
        return value

    # -- interpreted ---------------------------------------------------------

    def _parse(self, stream, context, path):
        result = {name: sub._parse(stream, context, path) for name, sub, _ in self.fields}
        for name, d in self.absent:
            result[name] = _fresh(d)
        if self.tagged is not None:
            result.update(self._parse_tags(stream))
        return result

    def _parse_tags(self, io) -> dict:
        known = {tag: (name, sub) for tag, name, sub, _ in self.tagged}
        result = {name: _fresh(d) for _, name, _, d in self.tagged}
        for _ in range(_wire.read_uvarint(io)):
            tag = _wire.read_uvarint(io)
            data = _wire.read_exact(io, _wire.read_uvarint(io))
            if tag in known:
                name, sub = known[tag]
                result[name] = sub._parse(Reader(data), None, "")
            else:
                result.setdefault(UNKNOWN_TAGS, {})[tag] = data
        return result

    def _build(self, obj, stream, context, path):
        for name, sub, d in self.fields:
            sub._build(obj.get(name, d), stream, context, path)
        if self.tagged is not None:
            self._build_tags(obj, stream)
        return obj

    def _build_tags(self, obj, io) -> None:
        items = []
        for tag, name, sub, d in self.tagged:
            value = obj.get(name, d)
            if value != d:
                out = _wire.Writer()
                sub._build(value, out, None, "")
                items.append((tag, out.getvalue()))
        unknown = obj.get(UNKNOWN_TAGS)
        if unknown:
            items.extend(unknown.items())
            items.sort()
        _wire.write_tagged_section(io, items)

    # -- compiled ------------------------------------------------------------

    def _runs(self) -> list[list[tuple[str, Construct, Any]]]:
        """The fields split into runs: consecutive fixed-width primitives together."""
        runs: list[list] = []
        for item in self.fields:
            fixed = getattr(item[1], "fixed", None)
            if fixed and runs and getattr(runs[-1][0][1], "fixed", None):
                runs[-1].append(item)
            else:
                runs.append([item])
        return runs

    @staticmethod
    def _fused(code, run) -> str:
        """Module-level struct for a run of fixed-width fields; its name."""
        fmt = ">" + "".join(sub.fixed for _, sub, _ in run)
        name = "fused_" + fmt[1:].replace("?", "o")
        code.append(f"{name} = struct.Struct({fmt!r})")
        return name

    parser_name = builder_name = ""   # the generated functions' names, once compiled

    def _emitparse(self, code):
        code.append(PRELUDE)
        fname = self.parser_name = f"parse_struct_{code.allocateId()}"
        codegen.parse_function(self, code, fname)
        return f"{fname}(io)"

    def _emit_parse_tags(self, code) -> str:
        fname = f"parse_tags_{code.allocateId()}"
        branches = ""
        for tag, name, sub, _ in self.tagged:
            tag_parser = f"parse_tag_{code.allocateId()}"
            code.append(f"""
                def {tag_parser}(io):
                    return {sub._compileparse(code)}
            """)
            branches += f"""
                    if tag == {tag}:
                        result[{name!r}] = {tag_parser}(Reader(data))
                        continue"""
        code.append(f"""
            def {fname}(io):
                result = {{}}
                for _ in range(read_uvarint(io)):
                    tag = read_uvarint(io)
                    data = read_exact(io, read_uvarint(io)){branches}
                    result.setdefault({UNKNOWN_TAGS!r}, {{}})[tag] = data
                return result
        """)
        return fname

    def _emitbuild(self, code):
        code.append(PRELUDE)
        fname = self.builder_name = f"build_struct_{code.allocateId()}"
        codegen.build_function(self, code, fname)
        return f"{fname}(obj, io)"

    def _emit_build_tags(self, code, src: str = "fields") -> list[str]:
        """Statements writing the tag section: known tags that differ from their default
        (a default not passed in is the very constant, so the usual check is ``is``),
        then kept unknown tags; mostly just the zero byte of an empty section."""
        if not self.tagged:
            return [f"unknown = {src}.get({UNKNOWN_TAGS!r})",
                    "write_unknown_tags(io, unknown) if unknown else io.write(b'\\x00')"]
        lines = ["items = None"]
        for tag, name, sub, d in self.tagged:
            tag_builder = f"build_tag_{code.allocateId()}"
            code.append(f"""
                def {tag_builder}(obj, io):
                    {sub._compilebuild(code)}
            """)
            default = _constant(code, d)
            differs = f"obj is not {default} and obj != {default}" if isinstance(d, (list, dict)) \
                else f"obj != {default}"
            lines += [f"obj = {src}.get({name!r}, {default})",
                      f"if {differs}:",
                      f"    out = Writer(); {tag_builder}(obj, out)",
                      f"    items = (items or []) + [({tag}, out.getvalue())]"]
        lines += [f"unknown = {src}.get({UNKNOWN_TAGS!r})",
                  "if items is None and not unknown:",
                  "    io.write(b'\\x00')",
                  "else:",
                  "    write_tagged_section(io, sorted((items or []) + list((unknown or {}).items())))"]
        return lines


class KNullableStruct(Construct):
    """A nullable struct: an int8 marker (-1 null, 1 present) then the struct; None when null.

    Kafka's generated code writes nullable struct fields so (ConsumerGroupHeartbeatResponse's
    Assignment); the marker is the same in flexible and fixed versions."""

    def __init__(self, struct: KStruct):
        super().__init__()
        self.struct = struct

    def __repr__(self) -> str:
        return f"<nullable {self.struct!r}>"

    def default(self) -> None:
        return None

    def _parse(self, stream, context, path):
        marker = _wire.unpack_i8(_wire.read_exact(stream, 1))[0]
        if marker < 0:
            return None
        return self.struct._parse(stream, context, path)

    def _build(self, obj, stream, context, path):
        if obj is None:
            stream.write(b"\xff")
        else:
            stream.write(b"\x01")
            self.struct._build(obj, stream, context, path)
        return obj

    def _emitparse(self, code):
        code.append(PRELUDE)
        inner = self.struct._compileparse(code)
        fname = f"parse_nullable_{code.allocateId()}"
        code.append(f"""
            def {fname}(io):
                if unpack_i8(read_exact(io, 1))[0] < 0:
                    return None
                return {inner}
        """)
        return f"{fname}(io)"

    def _emitbuild(self, code):
        code.append(PRELUDE)
        inner = self.struct._compilebuild(code)
        fname = f"build_nullable_{code.allocateId()}"
        code.append(f"""
            def {fname}(obj, io):
                if obj is None:
                    io.write(b'\\xff')
                    return
                io.write(b'\\x01')
                {inner}
        """)
        return f"{fname}(obj, io)"


def _constant(code, value) -> str:
    """Source for a default in generated build code: immutable literals inline, lists and
    dicts as module constants (shared: builders only read them, never change them)."""
    if not isinstance(value, (list, dict)):
        return repr(value)
    text = repr(value)
    name = f"DEFAULT_{abs(hash(text)):x}"
    code.append(f"{name} = {text}")
    return name
