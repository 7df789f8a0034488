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
    """Append ``def fname(io)`` parsing ``struct`` to the generated module."""
    lines = _parse_struct(struct, code, "result", _Names(), "    ")
    code.append(f"def {fname}(io):\n    read = io.read\n" + "".join(lines) + "    return result\n")


def build_function(struct, code, fname: str) -> None:
    """Append ``def fname(fields, io)`` writing ``struct`` to the generated module."""
    lines = _build_struct(struct, code, "fields", _Names(), "    ")
    code.append(f"def {fname}(fields, io):\n    write = io.write\n" + "".join(lines) + "    return None\n")


# -- parsing -----------------------------------------------------------------------

def _parse_struct(struct, code, out: str, names: _Names, pad: str) -> list[str]:
    lines: list[str] = []
    values: list[str] = []
    for run in struct._runs():
        if len(run) > 1:
            fused = struct._fused(code, run)
            tmp = names("f")
            lines.append(f"{pad}{tmp} = {fused}.unpack(read({fused}.size))\n")
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
        t = names("t")
        lines += [f"{pad}{t} = read(1)\n",
                  f"{pad}if {t} != b'\\x00':\n",
                  f"{pad}    if not {t}:\n",
                  f"{pad}        raise DecodeError('tagged fields cut short')\n",
                  f"{pad}    io.seek(-1, 1)\n",
                  f"{pad}    {out}.update({tags}(io))\n"]
    return lines


def _parse_value(sub, code, var: str, names: _Names, pad: str) -> list[str]:
    from kproto.constructs import KArray, KStruct

    if isinstance(sub, KStruct):
        return _parse_struct(sub, code, var, names, pad)
    if isinstance(sub, KArray):
        return _parse_array(sub, code, var, names, pad)
    return [f"{pad}{var} = {sub._compileparse(code)}\n"]


def _parse_array(array, code, var: str, names: _Names, pad: str) -> list[str]:
    n, item = names("n"), names("e")
    if array.compact:
        c = names("c")
        count = [f"{pad}{c} = read(1)\n",
                 f"{pad}{n} = {c}[0] - 1 if {c} and {c}[0] < 0x80 else read_uvarint_rest(io, {c}) - 1\n"]
    else:
        count = [f"{pad}{n} = read_array_count(io)\n"]
    null = f"{var} = None" if array.nullable else "raise DecodeError('null in a non-nullable array')"
    return count + [
        f"{pad}if {n} < 0:\n",
        f"{pad}    {null}\n",
        f"{pad}else:\n",
        f"{pad}    if {n} > 64 and {n} > len(io.getvalue()) - io.tell():\n",
        f"{pad}        raise DecodeError('array longer than the frame')\n",
        f"{pad}    {var} = []\n",
        f"{pad}    for _ in range({n}):\n",
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
    from kproto.constructs import KArray, KStruct

    if isinstance(sub, KStruct):
        return _build_struct(sub, code, var, names, pad)
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
