"""Hypothesis strategies derived from kproto's construct trees.

``values(schema.struct(version))`` draws dicts to build, walking KStruct, KArray
and Primitive: null only where the construct is nullable, integers within their
width, strings that are valid UTF-8, 16-byte uuids, records as bytes, tagged
fields present or left out, and in flexible structs some unknown tagged fields
(which parsing keeps and building writes back). Lists get shorter with depth so
big messages stay quick to draw.

``expected(construct, value)`` is what parsing the built bytes must give back:
the value with the fields the version lacks (and tagged fields left out) at their
defaults. ``with_junk(construct, value)`` puts an unbuildable object under every
field the version lacks: building must never look at them.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from hypothesis import strategies as st

import kproto
from kproto import constructs as c
from kproto.messages import ALL
from kproto.schema import Message, Schema

UNKNOWN_TAGS = c.UNKNOWN_TAGS

_TEXT = st.text(max_size=12)  # Hypothesis leaves out surrogates: always valid UTF-8
_BYTES = st.binary(max_size=24)
INTEGER_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
PRIMITIVES: dict[str, st.SearchStrategy] = {
    **{name: st.integers(low, high) for name, (low, high) in INTEGER_RANGES.items()},
    "float64": st.floats(allow_nan=False),   # NaN is never equal to itself after a round trip
    "bool": st.booleans(),
    "uuid": st.binary(min_size=16, max_size=16),
    "string": _TEXT,
    "nullable_string": st.none() | _TEXT,
    "compact_string": _TEXT,
    "compact_nullable_string": st.none() | _TEXT,
    "bytes": _BYTES,
    "nullable_bytes": st.none() | _BYTES,
    "compact_bytes": _BYTES,
    "compact_nullable_bytes": st.none() | _BYTES,
    "records": st.none() | _BYTES,
    "compact_records": st.none() | _BYTES,
}


def unknown_tags(known: set[int]) -> st.SearchStrategy:
    """A non-empty ``{tag: bytes}`` of tags the struct does not know, small (among the known
    ones) and large (a tag is an unsigned varint of up to 32 bits)."""
    assert max(known, default=0) < 16
    tags = st.sampled_from([t for t in range(16) if t not in known]) | st.integers(16, (1 << 32) - 1)
    return st.dictionaries(tags, st.binary(max_size=8), min_size=1, max_size=3)


# by (id, depth); the construct is kept alive beside its strategy so its id is never reused
_CACHE: dict[tuple[int, int], tuple[Any, st.SearchStrategy]] = {}


def values(construct, depth: int = 0) -> st.SearchStrategy:
    """Values to build with one construct."""
    if isinstance(construct, c.Primitive):
        return PRIMITIVES[construct.kafka_name]
    key = (id(construct), depth)
    if key in _CACHE:
        return _CACHE[key][1]
    if isinstance(construct, c.KArray):
        items = st.lists(values(construct.element, depth + 1), max_size=3 if depth < 2 else 1)
        strategy = st.none() | items if construct.nullable else items
    elif isinstance(construct, c.KStruct):
        required = {name: values(sub, depth + 1) for name, sub, _ in construct.fields}
        optional = {}
        if construct.tagged is not None:
            optional = {name: values(sub, depth + 1) for _, name, sub, _ in construct.tagged}
            optional[UNKNOWN_TAGS] = unknown_tags({tag for tag, *_ in construct.tagged})
        strategy = st.fixed_dictionaries(required, optional=optional)
    elif isinstance(construct, c.KNullableStruct):
        strategy = st.none() | values(construct.struct, depth)
    else:
        raise TypeError(f"no strategy for {construct!r}")
    _CACHE[key] = (construct, strategy)
    return strategy


def expected(construct, value) -> Any:
    """What parsing the bytes built from ``value`` gives back."""
    if value is None or isinstance(construct, c.Primitive):
        return value
    if isinstance(construct, c.KArray):
        return [expected(construct.element, item) for item in value]
    if isinstance(construct, c.KNullableStruct):
        return expected(construct.struct, value)
    result = {name: expected(sub, value[name]) for name, sub, _ in construct.fields}
    result.update(construct.absent)
    for _, name, sub, default in construct.tagged or ():
        result[name] = expected(sub, value[name]) if name in value else default
    if UNKNOWN_TAGS in value and construct.tagged is not None:
        result[UNKNOWN_TAGS] = value[UNKNOWN_TAGS]
    return result


class NotBuildable:
    def __repr__(self) -> str:
        return "<not buildable>"


NOT_BUILDABLE = NotBuildable()


def with_junk(construct, value) -> Any:
    """``value`` with NOT_BUILDABLE under every field the version lacks (tagged fields left alone:
    a tagged value with extra keys would differ from its default and be written)."""
    if value is None or isinstance(construct, c.Primitive):
        return value
    if isinstance(construct, c.KArray):
        return [with_junk(construct.element, item) for item in value]
    if isinstance(construct, c.KNullableStruct):
        return with_junk(construct.struct, value)
    result = dict(value)
    for name, sub, _ in construct.fields:
        result[name] = with_junk(sub, value[name])
    for name, _ in construct.absent:
        result[name] = NOT_BUILDABLE
    return result


def cases() -> list[tuple[Message, int, str]]:
    """Every (API, version, "request" | "response") kproto declares."""
    return [(m, v, side) for m in ALL for v in range(m.versions.low, m.versions.high + 1)
            for side in ("request", "response")]


def case_id(case: tuple[Message, int, str]) -> str:
    message, version, side = case
    return f"{message.name}-v{version}-{side}"


def declared_schemas() -> list[Schema]:
    """Every Schema kproto declares: both sides of each Message, and module-level Schemas
    (headers, coordinator records ...) found in kproto's modules, tests left out."""
    found: dict[int, Schema] = {}
    for info in pkgutil.walk_packages(kproto.__path__, "kproto."):
        if ".tests" in info.name:
            continue
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, Message):
                found.setdefault(id(value.request), value.request)
                found.setdefault(id(value.response), value.response)
            elif isinstance(value, Schema):
                found.setdefault(id(value), value)
    return sorted(found.values(), key=lambda s: s.name)


def standalone_schemas() -> list[Schema]:
    """The declared Schemas that are not a side of one of the APIs in ``ALL``."""
    sides = {id(s) for m in ALL for s in (m.request, m.response)}
    return [s for s in declared_schemas() if id(s) not in sides]


correlation_ids = st.integers(-(1 << 31), (1 << 31) - 1)
client_ids = st.none() | _TEXT
