"""All the code the codec runs: Python source generated from a construct tree, per version.

construct's ``compile()`` asks the root ``KStruct`` of a tree for its code
(``_emitparse``, ``_emitbuild``), and it answers with functions generated here for
the whole tree. So this module is the one place that knows how each of Kafka's wire
types is read: ``_parse_fixed`` (integers, bool), ``_SIZED`` (strings, bytes,
records), ``_parse_array`` and the tag sections. Writing goes through ``_BUILD``: a
``struct`` pack for fixed widths, else the one writer of each type in
``kproto._wire``, which the generated module imports.

A message version parses (and builds) in one straight-line function: nested structs
and arrays inlined as loops, every value in a local, each dict made once. Runs of
fixed-width fields are read and written with one ``struct`` call. Parsing reads the
frame's bytes by position (``unpack_from``, index, slice) with one bounds check at
the end, instead of a read call per field. The rare paths (tag sections that are
not empty) call small generated functions.

A node is known by its ``kafka_name``: ``"struct"`` (fields, absent, tagged),
``"array"`` (element, compact, nullable) or a primitive's type name (with ``fixed``,
its ``struct`` format letter when it has a fixed width); see ``kproto.constructs``.
Anything else is refused, so no message can fall back to construct's interpreted code.
"""

from __future__ import annotations

import itertools
from typing import Any

UNKNOWN_TAGS = "_unknown_tagged_fields"   # a struct's kept unknown tags, {tag: bytes}

PRELUDE = ("from kproto._wire import (BYTE, Writer, encode_uvarint, pack_i32, read_uvarint_at, unpack_i16_from,"
           " unpack_i32_from, write_bytes, write_compact_bytes, write_compact_nullable_bytes,"
           " write_compact_nullable_string, write_compact_records, write_compact_string, write_nullable_bytes,"
           " write_nullable_string, write_records, write_string, write_tagged_section, write_unknown_tags,"
           " write_uuid)\n"
           "from kproto.errors import DecodeError\n")


class _Names:
    """Fresh local names for one generated function."""

    def __init__(self):
        self._counter = itertools.count()

    def __call__(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"


def parse_function(node, code) -> str:
    """Append ``def parse_N(io)`` parsing ``node`` (a struct) to the generated module; its name.

    The function reads the frame's bytes by position and leaves ``io`` after the
    node. What it raises on a bad frame (an index or ``unpack_from`` past the end,
    bytes that are not UTF-8) the callers turn into DecodeError: a ``try`` here
    would cost every parse more than the conversion saves.
    """
    code.append(PRELUDE)
    fname = f"parse_{code.allocateId()}"
    lines = _parse_value(node, code, "result", _Names(), "    ")
    code.append(f"def {fname}(io):\n    buf = io.getvalue()\n    pos = io.tell()\n" + "".join(lines)
                + "    if pos > len(buf):\n        raise DecodeError('frame cut short')\n"
                + "    io.seek(pos)\n    return result\n")
    return fname


def build_function(node, code) -> str:
    """Append ``def build_N(value, io)`` writing ``node`` (a struct, or a tagged field's value) to the
    generated module; its name."""
    code.append(PRELUDE)
    fname = f"build_{code.allocateId()}"
    lines = _build_value(node, code, "value", _Names(), "    ")  # not "obj": tag sections use that name
    code.append(f"def {fname}(value, io):\n    write = io.write\n" + "".join(lines) + "    return value\n")
    return fname


def _runs(struct) -> list[list[tuple[str, Any, Any]]]:
    """A struct's fields split into runs: consecutive fixed-width primitives together."""
    result: list[list] = []
    for item in struct.fields:
        fixed = getattr(item[1], "fixed", None)
        if fixed and result and getattr(result[-1][0][1], "fixed", None):
            result[-1].append(item)
        else:
            result.append([item])
    return result


def _fused(code, letters: str) -> str:
    """Module-level ``struct.Struct`` for a run of fixed-width fields; its name."""
    name = "fused_" + letters.replace("?", "o")
    code.append(f"{name} = struct.Struct('>{letters}')")
    return name


def _constant(code, value) -> str:
    """Source for a default in generated build code: immutable literals inline, lists and
    dicts as module constants (shared: builders only read them, never change them)."""
    if not isinstance(value, (list, dict)):
        return repr(value)
    text = repr(value)
    name = f"DEFAULT_{abs(hash(text)):x}"
    code.append(f"{name} = {text}")
    return name


# -- parsing -----------------------------------------------------------------------
# Generated parse code works on ``buf`` (the frame's bytes) and ``pos`` (a local). A
# read past the end either raises at once (an index or unpack_from beyond the end) or,
# for a slice, leaves ``pos`` beyond the end, which is checked before the value is
# used: a cut frame never yields a value.

def _parse_value(node, code, var: str, names: _Names, pad: str) -> list[str]:
    kind = getattr(node, "kafka_name", None)
    if kind == "struct":
        return _parse_struct(node, code, var, names, pad)
    if kind == "array":
        return _parse_array(node, code, var, names, pad)
    if kind == "nullable_struct":   # an int8 marker: negative for null
        return [f"{pad}pos += 1\n",
                f"{pad}if buf[pos - 1] >= 0x80:\n",
                f"{pad}    {var} = None\n",
                f"{pad}else:\n",
                *_parse_struct(node.struct, code, var, names, pad + "    ")]
    return _parse_primitive(node, code, var, names, pad)


def _parse_struct(struct, code, out: str, names: _Names, pad: str) -> list[str]:
    lines: list[str] = []
    values: list[str] = []
    for run in _runs(struct):
        if len(run) > 1:
            read, exprs = _parse_fixed(code, [sub for _, sub, _ in run], names("f"), pad)
            lines += read
            values += [f"{name!r}: {expr}" for (name, _, _), expr in zip(run, exprs)]
            continue
        name, sub, _ = run[0]
        var = names("v")
        lines += _parse_value(sub, code, var, names, pad)
        values.append(f"{name!r}: {var}")
    values += [f"{name!r}: {d!r}" for name, d in struct.absent]
    if struct.tagged is not None:
        values += [f"{name!r}: {d!r}" for _, name, _, d in struct.tagged]
    lines.append(f"{pad}{out} = {{{', '.join(values)}}}\n")
    if struct.tagged is not None:
        lines += [f"{pad}if buf[pos] == 0:\n",
                  f"{pad}    pos += 1\n",
                  f"{pad}else:\n",
                  f"{pad}    pos = {_parse_tags(struct, code)}(buf, pos, {out})\n"]
    return lines


def _parse_tags(struct, code) -> str:
    """``def parse_tags_N(buf, pos, result)``: a tag section that is not empty, into
    ``result``; the position after it. Each field is read within its stated size."""
    fname = f"parse_tags_{code.allocateId()}"
    names = _Names()
    branches: list[str] = []
    for tag, name, sub, _ in struct.tagged:
        var = names("v")
        branches += [f"        {'if' if not branches else 'elif'} tag == {tag}:\n",
                     *_parse_value(sub, code, var, names, "            "),
                     "            if pos > end:\n",
                     "                raise DecodeError('tagged field longer than its size')\n",
                     f"            result[{name!r}] = {var}\n"]
    unknown = f"result.setdefault({UNKNOWN_TAGS!r}, {{}})[tag] = buf[pos:end]\n"
    branches += ["        else:\n", f"            {unknown}"] if branches else [f"        {unknown}"]
    code.append(f"def {fname}(buf, pos, result):\n"
                "    count, pos = read_uvarint_at(buf, pos)\n"
                "    for _ in range(count):\n"
                "        tag, pos = read_uvarint_at(buf, pos)\n"
                "        size, pos = read_uvarint_at(buf, pos)\n"
                "        end = pos + size\n"
                "        if end > len(buf):\n"
                "            raise DecodeError('tagged field cut short')\n"
                + "".join(branches)
                + "        pos = end\n"
                "    return pos\n")
    return fname


def _length(compact: bool, width: int, n: str, pad: str) -> list[str]:
    """Lines that read a length (or count) into ``n``; a compact one is left as N+1 (0: null)."""
    if compact:
        return [f"{pad}{n} = buf[pos]\n",
                f"{pad}if {n} < 0x80:\n",
                f"{pad}    pos += 1\n",
                f"{pad}else:\n",
                f"{pad}    {n}, pos = read_uvarint_at(buf, pos)\n"]
    unpack = "unpack_i16_from" if width == 2 else "unpack_i32_from"
    return [f"{pad}{n} = {unpack}(buf, pos)[0]\n", f"{pad}pos += {width}\n"]


def _parse_fixed(code, nodes: list, var: str, pad: str) -> tuple[list[str], list[str]]:
    """Lines reading fixed-width values with one ``unpack_from`` into ``var``, and an
    expression for each value (one value alone is ``var`` itself).

    A bool is read as an unsigned byte that must be 0 or 1: any other byte is a
    DecodeError (we write only 0 and 1, and so does every client).
    """
    fused = _fused(code, "".join("B" if node.kafka_name == "bool" else node.fixed for node in nodes))
    alone = len(nodes) == 1
    lines = [f"{pad}{var} = {fused}.unpack_from(buf, pos){'[0]' if alone else ''}\n", f"{pad}pos += {fused}.size\n"]
    exprs = []
    for i, node in enumerate(nodes):
        value = var if alone else f"{var}[{i}]"
        if node.kafka_name == "bool":
            lines += [f"{pad}if {value} > 1:\n",
                      f"{pad}    raise DecodeError(f'bool byte {{{value}}}: not 0 or 1')\n"]
            value = f"{value} == 1"
        exprs.append(value)
    return lines, exprs


# kafka name -> (compact, length width, nullable, how the slice becomes a value)
_SIZED = {
    "string": (False, 2, False, "str"), "nullable_string": (False, 2, True, "str"),
    "compact_string": (True, 0, False, "str"), "compact_nullable_string": (True, 0, True, "str"),
    "bytes": (False, 4, False, "bytes"), "nullable_bytes": (False, 4, True, "bytes"),
    "compact_bytes": (True, 0, False, "bytes"), "compact_nullable_bytes": (True, 0, True, "bytes"),
    "records": (False, 4, True, "view"), "compact_records": (True, 0, True, "view"),
}


def _parse_primitive(sub, code, var: str, names: _Names, pad: str) -> list[str]:
    kind = getattr(sub, "kafka_name", None)
    if getattr(sub, "fixed", None):
        lines, (expr,) = _parse_fixed(code, [sub], var, pad)
        return lines if expr == var else lines + [f"{pad}{var} = {expr}\n"]
    if kind == "uuid":
        return [f"{pad}{var} = buf[pos:pos + 16]\n",
                f"{pad}if len({var}) != 16:\n",
                f"{pad}    raise DecodeError('uuid cut short')\n",
                f"{pad}pos += 16\n"]
    if kind not in _SIZED:
        raise TypeError(f"no code for {sub!r}: not one of Kafka's types")
    compact, width, nullable, value = _SIZED[kind]
    n, end = names("n"), names("end")
    take = {"str": f"str(buf[pos:{end}], 'utf-8')", "bytes": f"buf[pos:{end}]",
            "view": f"memoryview(buf)[pos:{end}]"}[value]
    null = f"{var} = None" if nullable else f"raise DecodeError('null in a non-nullable {kind}')"
    return _length(compact, width, n, pad) + [
        f"{pad}if {n} {'== 0' if compact else '< 0'}:\n",
        f"{pad}    {null}\n",
        f"{pad}else:\n",
        f"{pad}    {end} = pos + {n}{' - 1' if compact else ''}\n",
        f"{pad}    {var} = {take}\n",
        f"{pad}    pos = {end}\n",
    ]


def _parse_array(array, code, var: str, names: _Names, pad: str) -> list[str]:
    n, item = names("n"), names("e")
    null = f"{var} = None" if array.nullable else "raise DecodeError('null in a non-nullable array')"
    count = f"{n} - 1" if array.compact else n
    return _length(array.compact, 4, n, pad) + [
        f"{pad}if {n} {'== 0' if array.compact else '< 0'}:\n",
        f"{pad}    {null}\n",
        f"{pad}else:\n",
        f"{pad}    if {n} > 64 and {n} > len(buf) - pos:\n",
        f"{pad}        raise DecodeError('array longer than the frame')\n",
        f"{pad}    {var} = []\n",
        f"{pad}    for _ in range({count}):\n",
        *_parse_value(array.element, code, item, names, pad + "        "),
        f"{pad}        {var}.append({item})\n",
    ]


# -- building ----------------------------------------------------------------------

# kafka name -> the statement writing ``value`` (fixed-width types are packed with struct)
_BUILD = {name: f"write_{name}(io, {{value}})" for name in (*_SIZED, "uuid")}


def _build_value(node, code, var: str, names: _Names, pad: str) -> list[str]:
    kind = getattr(node, "kafka_name", None)
    if kind == "struct":
        return _build_struct(node, code, var, names, pad)
    if kind == "array":
        return _build_array(node, code, var, names, pad)
    if kind == "nullable_struct":
        return [f"{pad}if {var} is None:\n", f"{pad}    write(b'\\xff')\n", f"{pad}else:\n",
                f"{pad}    write(b'\\x01')\n", *_build_struct(node.struct, code, var, names, pad + "    ")]
    if getattr(node, "fixed", None):
        return [f"{pad}write({_fused(code, node.fixed)}.pack({var}))\n"]
    if kind not in _BUILD:
        raise TypeError(f"no code for {node!r}: not one of Kafka's types")
    return [f"{pad}{_BUILD[kind].format(value=var)}\n"]


def _build_struct(struct, code, src: str, names: _Names, pad: str) -> list[str]:
    lines: list[str] = []
    for run in _runs(struct):
        if len(run) > 1:
            values = ", ".join(f"{src}.get({name!r}, {_constant(code, d)})" for name, _, d in run)
            fused = _fused(code, "".join(sub.fixed for _, sub, _ in run))
            lines.append(f"{pad}write({fused}.pack({values}))\n")
            continue
        name, sub, d = run[0]
        var = names("v")
        lines.append(f"{pad}{var} = {src}.get({name!r}, {_constant(code, d)})\n")
        lines += _build_value(sub, code, var, names, pad)
    if struct.tagged is not None:
        lines += [pad + line + "\n" for line in _build_tags(struct, code, src)]
    return lines


def _build_tags(struct, code, src: str) -> list[str]:
    """Statements writing the tag section: known tags that differ from their default
    (a default not passed in is the very constant, so the usual check is ``is``),
    then kept unknown tags; mostly just the zero byte of an empty section."""
    if not struct.tagged:
        return [f"unknown = {src}.get({UNKNOWN_TAGS!r})",
                "write_unknown_tags(io, unknown) if unknown else io.write(b'\\x00')"]
    lines = ["items = None"]
    for tag, name, sub, d in struct.tagged:
        tag_builder = build_function(sub, code)
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


def _build_array(array, code, var: str, names: _Names, pad: str) -> list[str]:
    item = names("e")
    if array.nullable:
        null = "write(b'\\x00')" if array.compact else "write(b'\\xff\\xff\\xff\\xff')"
    else:
        null = "raise ValueError('None for a non-nullable array')"
    if array.compact:
        k = names("k")
        count = [f"{pad}    {k} = len({var}) + 1\n",
                 f"{pad}    write(BYTE[{k}] if {k} < 0x80 else encode_uvarint({k}))\n"]
    else:
        count = [f"{pad}    write(pack_i32(len({var})))\n"]
    return [f"{pad}if {var} is None:\n", f"{pad}    {null}\n", f"{pad}else:\n", *count,
            f"{pad}    for {item} in {var}:\n",
            *_build_value(array.element, code, item, names, pad + "        ")]
