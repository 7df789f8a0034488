"""The declarative message language: a field table per API, a compiled Struct per version.

A declaration reads like Kafka's own message specs, in snake_case::

    HEARTBEAT = Message(ApiKey.HEARTBEAT, "Heartbeat", versions="0-4", flexible="4+",
        request=[field("group_id", String), field("generation_id", Int32), ...],
        response=[field("throttle_time_ms", Int32, versions="1+"), field("error_code", Int16)])

``HEARTBEAT.request.compiled(3)`` is a construct Struct built for exactly v3 (version
conditions resolved when it is built, so the parser has no branches), compiled once
and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kproto import constructs as c
from kproto._wire import Reader, Writer
from kproto.errors import DecodeError

MISSING: Any = object()


class Versions:
    """A version range in the spec's syntax: ``"3+"``, ``"0-4"``, ``"7"`` or ``"none"``."""

    __slots__ = ("low", "high", "text")

    def __init__(self, text: str):
        self.text = text
        if text == "none":
            self.low, self.high = 1, 0
        elif text.endswith("+"):
            self.low, self.high = int(text[:-1]), 1 << 15
        elif "-" in text:
            low, high = text.split("-")
            self.low, self.high = int(low), int(high)
        else:
            self.low = self.high = int(text)

    def __contains__(self, version: int) -> bool:
        return self.low <= version <= self.high

    def __repr__(self) -> str:
        return f"Versions({self.text!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Versions) and (self.low, self.high) == (other.low, other.high)

    def __hash__(self) -> int:
        return hash((self.low, self.high))


# -- types ---------------------------------------------------------------------

class Type:
    """A field type of the declaration language, resolved to a construct per version."""

    kafka_name = ""

    def construct(self, version: int, flexible: bool, nullable: bool) -> c.Node:
        raise NotImplementedError

    def default(self, nullable: bool) -> Any:
        raise NotImplementedError


class Scalar(Type):
    def __init__(self, kafka_name: str, construct: c.Node, default: Any):
        self.kafka_name = kafka_name
        self._construct = construct
        self._default = default

    def construct(self, version, flexible, nullable):
        return self._construct

    def default(self, nullable):
        return self._default

    def __repr__(self) -> str:
        return self.kafka_name


class Variable(Type):
    """A length-prefixed type with plain, nullable, compact and compact-nullable forms."""

    def __init__(self, kafka_name: str, plain, nullable, compact, compact_nullable, default):
        self.kafka_name = kafka_name
        self._forms = {(False, False): plain, (False, True): nullable,
                       (True, False): compact, (True, True): compact_nullable}
        self._default = default

    def construct(self, version, flexible, nullable):
        return self._forms[flexible, nullable]

    def default(self, nullable):
        return self._default

    def __repr__(self) -> str:
        return self.kafka_name


Int8 = Scalar("int8", c.INT8, 0)
Int16 = Scalar("int16", c.INT16, 0)
Int32 = Scalar("int32", c.INT32, 0)
Int64 = Scalar("int64", c.INT64, 0)
Float64 = Scalar("float64", c.FLOAT64, 0.0)
Bool = Scalar("bool", c.BOOL, False)
Uuid = Scalar("uuid", c.UUID, bytes(16))
String = Variable("string", c.STRING, c.NULLABLE_STRING, c.COMPACT_STRING, c.COMPACT_NULLABLE_STRING, "")
Bytes = Variable("bytes", c.BYTES, c.NULLABLE_BYTES, c.COMPACT_BYTES, c.COMPACT_NULLABLE_BYTES, b"")
Records = Variable("records", c.RECORDS, c.RECORDS, c.COMPACT_RECORDS, c.COMPACT_RECORDS, None)


class Struct(Type):
    """A nested struct: its own field table."""

    kafka_name = "struct"

    def __init__(self, fields: list["Field"]):
        self.fields = list(fields)

    def construct(self, version, flexible, nullable):
        struct = build_struct(self.fields, version, flexible)
        return c.KNullableStruct(struct) if nullable else struct

    def default(self, nullable):
        return None if nullable else _STRUCT_DEFAULT

    def __repr__(self) -> str:
        return f"Struct({[f.name for f in self.fields]})"


class Array(Type):
    """An array of a type, or of a struct given as a list of fields."""

    kafka_name = "array"

    def __init__(self, element: Type | list["Field"]):
        self.element = Struct(element) if isinstance(element, list) else element

    def construct(self, version, flexible, nullable):
        return c.KArray(self.element.construct(version, flexible, False), flexible, nullable)

    def default(self, nullable):
        return []

    def __repr__(self) -> str:
        return f"Array({self.element!r})"


_STRUCT_DEFAULT: Any = object()  # replaced per version by the struct's own defaults


# -- fields --------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Field:
    name: str
    type: Type
    versions: Versions
    nullable: Versions
    tag: int | None
    tagged: Versions
    default: Any
    flexible: Versions | None

    def default_for(self, version: int, construct: c.Node | None = None) -> Any:
        if self.default is not MISSING:
            return self.default
        value = self.type.default(version in self.nullable)
        if value is _STRUCT_DEFAULT:
            struct = construct or self.type.construct(version, False, False)
            return struct.default()
        return value


def field(name: str, type: Type, versions: str = "0+", *, nullable: str = "none", tag: int | None = None,
          tagged: str | None = None, default: Any = MISSING, flexible: str | None = None) -> Field:
    """One field of a message, in the spec's vocabulary.

    ``versions``: where it exists; ``nullable``: where it may be null; ``tag`` and
    ``tagged``: a tagged field's tag and the versions where it is tagged;
    ``default``: its value when absent or omitted; ``flexible``: override of the
    message's flexible versions for this field (the request header's client id).
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"field name {name!r} is not snake_case")
    return Field(name, type, Versions(versions), Versions(nullable), tag,
                 Versions(tagged if tagged is not None else (versions if tag is not None else "none")),
                 default, None if flexible is None else Versions(flexible))


def build_struct(fields: list[Field], version: int, flexible: bool) -> c.KStruct:
    """The construct for a field table at one version."""
    regular, absent, tagged = [], [], []
    for f in fields:
        if version not in f.versions:
            absent.append((f.name, f.default_for(version)))
            continue
        compact = flexible and (f.flexible is None or version in f.flexible)
        construct = f.type.construct(version, compact, version in f.nullable)
        default = f.default_for(version, construct if isinstance(f.type, Struct) else None)
        if f.tag is not None and version in f.tagged:
            tagged.append((f.tag, f.name, construct, default))
        else:
            regular.append((f.name, construct, default))
    return c.KStruct(regular, absent, tagged if flexible else None)


# -- schemas and messages --------------------------------------------------------

class Schema:
    """One side of a message (or a header): a field table and its per-version structs."""

    def __init__(self, name: str, versions: str, flexible: str, fields: list[Field]):
        self.name = name
        self.versions = Versions(versions)
        self.flexible = Versions(flexible)
        self.fields = list(fields)
        self._structs: dict[int, c.KStruct] = {}
        self._compiled: dict[int, Any] = {}
        self._readers: dict[int, Any] = {}
        self._writers: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"<Schema {self.name} v{self.versions.text}>"

    def struct(self, version: int) -> c.KStruct:
        struct = self._structs.get(version)
        if struct is None:
            if version not in self.versions:
                raise ValueError(f"{self.name} has no version {version}")
            struct = self._structs[version] = build_struct(self.fields, version, version in self.flexible)
        return struct

    def compiled(self, version: int):
        """The compiled construct for one version; ``.parsefunc(io, None)``, ``.buildfunc(obj, io, None)``."""
        compiled = self._compiled.get(version)
        if compiled is None:
            struct = self.struct(version)
            compiled = self._compiled[version] = struct.compile()
            # The generated functions themselves, called without construct's wrappers.
            self._readers[version] = getattr(compiled.module, struct.parser_name)
            self._writers[version] = getattr(compiled.module, struct.builder_name)
        return compiled

    def default(self, version: int) -> dict:
        return self.struct(version).default()

    def read(self, io: Reader, version: int) -> dict:
        """Parse from a Reader positioned at this struct."""
        reader = self._readers.get(version)
        if reader is None:
            self.compiled(version)
            reader = self._readers[version]
        return reader(io)

    def write(self, obj: dict, io: Writer, version: int) -> None:
        writer = self._writers.get(version)
        if writer is None:
            self.compiled(version)
            writer = self._writers[version]
        writer(obj, io)

    def parse(self, data: bytes, version: int) -> dict:
        """Parse a whole buffer holding exactly this struct; any failure is a DecodeError."""
        io = Reader(bytes(data))
        try:
            value = self.read(io, version)
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError(f"{self.name} v{version}: {exc!r}") from None
        if io.tell() != len(io.view):
            raise DecodeError(f"{self.name} v{version}: {len(io.view) - io.tell()} trailing bytes")
        return value

    def build(self, obj: dict, version: int) -> bytes:
        io = Writer()
        self.write(obj, io, version)
        return io.getvalue()


class Message:
    """An API: its key, the versions we declare, and its request and response schemas."""

    def __init__(self, api_key: int, name: str, *, versions: str, flexible: str,
                 request: list[Field], response: list[Field], response_header: int | None = None):
        self.api_key = api_key
        self._fixed_response_header = response_header
        self.name = name
        self.versions = Versions(versions)
        self.flexible = Versions(flexible)
        self.request = Schema(f"{name}Request", versions, flexible, request)
        self.response = Schema(f"{name}Response", versions, flexible, response)

    def __repr__(self) -> str:
        return f"<Message {self.name} key={self.api_key} v{self.versions.text}>"

    def request_header_version(self, version: int) -> int:
        return 2 if self.flexible.low <= version <= self.flexible.high else 1

    def response_header_version(self, version: int) -> int:
        if self._fixed_response_header is not None:
            return self._fixed_response_header
        return 1 if self.flexible.low <= version <= self.flexible.high else 0
