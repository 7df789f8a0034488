"""Straight-line code for a whole struct: nested structs and arrays inlined as loops.

``KStruct.compile()`` goes through here, so a message version parses (and builds)
in one generated function: no call per nested struct or array, every value in a
local, the dict made once per struct. Runs of fixed-width fields are read and
written with one ``struct`` call. The rare paths (tag sections that are not empty)
call out to small functions.
"""

from __future__ import annotations

import itertools


class _Names:
    """Fresh local names for one generated function."""

    def __init__(self):
        self._counter = itertools.count()

    def __call__(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"


def parse_function(struct, code, fname: str) -> None:
    """Append ``def fname(io)`` parsing ``struct`` to the generated module.

    The function reads the Reader's bytes by position (``unpack_from``, index, slice)
    rather than through ``io.read`` calls, and leaves ``io`` positioned after the struct.
    """
    lines = _parse_struct(struct, code, "result", _Names(), "    ")
    code.append(f"def {fname}(io):\n    buf = io.getvalue()\n    pos = io.tell()\n" + "".join(lines)
                + "    if pos > len(buf):\n        raise DecodeError('frame cut short')\n"
                + "    io.seek(pos)\n    return result\n")


def build_function(struct, code, fname: str) -> None:
    """Append ``def fname(fields, io)`` writing ``struct`` to the generated module."""
    lines = _build_struct(struct, code, "fields", _Names(), "    ")
    code.append(f"def {fname}(fields, io):\n    write = io.write\n" + "".join(lines) + "    return None\n")


# -- parsing -----------------------------------------------------------------------
# Generated parse code works on ``buf`` (the frame's bytes) and ``pos`` (a local). A
# read past the end either raises at once (an index or unpack_from beyond the end) or,
# for a slice, leaves ``pos`` beyond the end, which the function checks before it
# returns: a cut frame never yields a value. The frame decoder turns every failure
# into DecodeError.

def _parse_struct(struct, code, out: str, names: _Names, pad: str) -> list[str]:
    lines: list[str] = []
    values: list[str] = []
    for run in struct._runs():
        if getattr(run[0][1], "fixed", None):
            fused = struct._fused(code, run)
            tmp = names("f")
            lines += [f"{pad}{tmp} = {fused}.unpack_from(buf, pos)\n", f"{pad}pos += {fused}.size\n"]
            values += [f"{name!r}: {tmp}[{i}]" for i, (name, _, _) in enumerate(run)]
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
        tags = struct._emit_parse_tags(code)
        lines += [f"{pad}if buf[pos] == 0:\n",
                  f"{pad}    pos += 1\n",
                  f"{pad}else:\n",
                  f"{pad}    io.seek(pos)\n",
                  f"{pad}    {out}.update({tags}(io))\n",
                  f"{pad}    pos = io.tell()\n"]
    return lines


def _parse_value(sub, code, var: str, names: _Names, pad: str) -> list[str]:
    from kproto.constructs import KArray, KNullableStruct, KStruct

    if isinstance(sub, KStruct):
        return _parse_struct(sub, code, var, names, pad)
    if isinstance(sub, KNullableStruct):   # an int8 marker: negative for null
        return [f"{pad}pos += 1\n",
                f"{pad}if buf[pos - 1] >= 0x80:\n",
                f"{pad}    {var} = None\n",
                f"{pad}else:\n",
                *_parse_struct(sub.struct, code, var, names, pad + "    ")]
    if isinstance(sub, KArray):
        return _parse_array(sub, code, var, names, pad)
    return _parse_primitive(sub, code, var, names, pad)


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


# kafka name -> (compact, length width, nullable, how the slice becomes a value)
_SIZED = {
    "string": (False, 2, False, "str"), "nullable_string": (False, 2, True, "str"),
    "compact_string": (True, 0, False, "str"), "compact_nullable_string": (True, 0, True, "str"),
    "bytes": (False, 4, False, "bytes"), "nullable_bytes": (False, 4, True, "bytes"),
    "compact_bytes": (True, 0, False, "bytes"), "compact_nullable_bytes": (True, 0, True, "bytes"),
    "records": (False, 4, True, "view"), "compact_records": (True, 0, True, "view"),
}


def _parse_primitive(sub, code, var: str, names: _Names, pad: str) -> list[str]:
    from kproto.constructs import KStruct

    kind = getattr(sub, "kafka_name", None)
    if kind not in _SIZED and kind not in ("uuid", "uvarint", "varint", "varlong") and not getattr(sub, "fixed", None):
        # Not one of Kafka's types (a construct of another kind): read it through io.
        return [f"{pad}io.seek(pos)\n", f"{pad}{var} = {sub._compileparse(code)}\n", f"{pad}pos = io.tell()\n"]
    if sub.fixed:
        fused = KStruct._fused(code, [(var, sub, None)])
        return [f"{pad}{var} = {fused}.unpack_from(buf, pos)[0]\n", f"{pad}pos += {fused}.size\n"]
    if kind == "uuid":
        return [f"{pad}{var} = buf[pos:pos + 16]\n",
                f"{pad}if len({var}) != 16:\n",
                f"{pad}    raise DecodeError('uuid cut short')\n",
                f"{pad}pos += 16\n"]
    if kind in ("uvarint", "varint", "varlong"):
        return [f"{pad}{var}, pos = read_{kind}_at(buf, pos)\n"]
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

def _build_struct(struct, code, src: str, names: _Names, pad: str) -> list[str]:
    from kproto.constructs import _constant

    lines: list[str] = []
    for run in struct._runs():
        if len(run) > 1:
            values = ", ".join(f"{src}.get({name!r}, {_constant(code, d)})" for name, _, d in run)
            lines.append(f"{pad}write({struct._fused(code, run)}.pack({values}))\n")
            continue
        name, sub, d = run[0]
        var = names("v")
        lines.append(f"{pad}{var} = {src}.get({name!r}, {_constant(code, d)})\n")
        lines += _build_value(sub, code, var, names, pad)
    if struct.tagged is not None:
        lines += [pad + line + "\n" for line in struct._emit_build_tags(code, src)]
    return lines


def _build_value(sub, code, var: str, names: _Names, pad: str) -> list[str]:
    from kproto.constructs import KArray, KNullableStruct, KStruct

    if isinstance(sub, KStruct):
        return _build_struct(sub, code, var, names, pad)
    if isinstance(sub, KNullableStruct):
        return [f"{pad}if {var} is None:\n", f"{pad}    write(b'\\xff')\n", f"{pad}else:\n",
                f"{pad}    write(b'\\x01')\n", *_build_struct(sub.struct, code, var, names, pad + "    ")]
    if isinstance(sub, KArray):
        return _build_array(sub, code, var, names, pad)
    return [f"{pad}obj = {var}\n", f"{pad}{sub._compilebuild(code)}\n"]


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
