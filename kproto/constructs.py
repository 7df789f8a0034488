"""Kafka's wire types as a tree: what one version of a message is made of, as data.

A ``KStruct`` of fields, ``KArray`` of an element, ``Primitive`` leaves. The nodes
hold no parsing or building code: ``KStruct`` is a construct, and construct's
``compile()`` asks it for its code, which ``kproto.codegen`` writes for the whole
tree. That generated code is the only codec there is.

Structs parse to plain dicts. Fields a version lacks are filled with their
defaults, so handlers read every field of every version the same way.
"""

from __future__ import annotations

import copy
from typing import Any

from construct import Construct

from kproto import codegen

UNKNOWN_TAGS = codegen.UNKNOWN_TAGS


class Primitive:
    """One of Kafka's primitive types, by its name in the spec (``compact_`` and ``nullable_``
    forms are types of their own). ``fixed``: the ``struct`` format letter of a fixed-width
    type, so generated code reads or writes a run of them with one call."""

    __slots__ = ("kafka_name", "fixed")

    def __init__(self, kafka_name: str, fixed: str | None = None):
        self.kafka_name = kafka_name
        self.fixed = fixed

    def __repr__(self) -> str:
        return f"<{self.kafka_name}>"


INT8 = Primitive("int8", fixed="b")
INT16 = Primitive("int16", fixed="h")
INT32 = Primitive("int32", fixed="i")
INT64 = Primitive("int64", fixed="q")
FLOAT64 = Primitive("float64", fixed="d")   # IEEE 754 binary64, big-endian
BOOL = Primitive("bool", fixed="?")   # written 0 or 1 (from truth); read as a byte that must be 0 or 1
UUID = Primitive("uuid")              # not fixed: built from a UUID object or 16 bytes, checked

STRING = Primitive("string")
NULLABLE_STRING = Primitive("nullable_string")
COMPACT_STRING = Primitive("compact_string")
COMPACT_NULLABLE_STRING = Primitive("compact_nullable_string")

BYTES = Primitive("bytes")
NULLABLE_BYTES = Primitive("nullable_bytes")
COMPACT_BYTES = Primitive("compact_bytes")
COMPACT_NULLABLE_BYTES = Primitive("compact_nullable_bytes")

# RECORDS parse to a memoryview into the frame (no copy) and build from bytes or
# from a list of chunks, where a chunk that is not bytes (a file range) is noted
# in ``Writer.slices`` for the transport to send itself. Both are nullable.
RECORDS = Primitive("records")
COMPACT_RECORDS = Primitive("compact_records")


def _fresh(value):
    """A default usable as a new value (lists and dicts are copied)."""
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


class KArray:
    """An array: int32 count (-1 = null) or, compact, unsigned varint count + 1 (0 = null)."""

    __slots__ = ("element", "compact", "nullable")
    kafka_name = "array"

    def __init__(self, element: Primitive | KStruct, compact: bool, nullable: bool):
        self.element = element
        self.compact = compact
        self.nullable = nullable

    def __repr__(self) -> str:
        kind = ("compact_" if self.compact else "") + ("nullable_" if self.nullable else "")
        return f"<{kind}array of {self.element!r}>"


class KNullableStruct:
    """A struct that may be null: an int8 marker (-1 null, 1 present), then the struct.

    Kafka's specs use it for a few fields (DescribeTopicPartitions' cursor).
    """

    __slots__ = ("struct",)
    kafka_name = "nullable_struct"

    def __init__(self, struct: KStruct):
        self.struct = struct

    def __repr__(self) -> str:
        return f"<nullable {self.struct!r}>"


class KStruct(Construct):
    """A struct of named fields, parsed to a dict: the construct that ``compile()`` turns into code.

    ``fields``: ``(name, construct, default)`` in wire order. ``absent``: ``(name, default)``
    for fields this version lacks, added to parsed dicts. ``tagged``: ``(tag, name,
    construct, default)`` for a flexible version's tagged fields, or None when the
    version is not flexible (no tagged-field section on the wire). Unknown tags are
    kept under ``_unknown_tagged_fields`` as ``{tag: bytes}`` and written back.
    """

    kafka_name = "struct"
    parser_name = builder_name = ""   # the generated functions' names, once compiled

    def __init__(self, fields: list[tuple[str, Node, Any]], absent: list[tuple[str, Any]] = (),
                 tagged: list[tuple[int, str, Node, Any]] | None = None):
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

    # construct's compile() asks the root struct for its code; nested ones are inlined in it.

    def _emitparse(self, code):
        self.parser_name = codegen.parse_function(self, code)
        return f"{self.parser_name}(io)"

    def _emitbuild(self, code):
        self.builder_name = codegen.build_function(self, code)
        return f"{self.builder_name}(obj, io)"


Node = Primitive | KArray | KStruct
