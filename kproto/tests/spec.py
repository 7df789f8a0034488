"""Kafka's JSON message specs, and a comparison of a declared schema with one.

Shared by the conformance tests of kproto and of the coordinator records. The specs
are looked up in ``$KAFKA_PROTOCOL_SPECS`` or ``<repo>/../shared/kafka-protocol/message``;
``load_spec`` skips the calling test when they are absent.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from kproto import constructs as c
from kproto.schema import Schema, Versions

NO_DEFAULT: Any = object()


def _spec_dir() -> Path:
    env = os.environ.get("KAFKA_PROTOCOL_SPECS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "kafka-protocol" / "message"


SPEC_DIR = _spec_dir()


def _newer_spec_dir() -> Path:
    env = os.environ.get("KAFKA_PROTOCOL_SPECS_NEWER")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "kafka-protocol-4.2" / "message"


# Specs of a later Kafka, for the APIs declared at versions Kafka added after 3.9 (the ones above).
NEWER_SPEC_DIR = _newer_spec_dir()

# API -> the Kafka release whose specs define the versions declared beyond the 3.9 specs.
NEWER_THAN_SPECS = {
    "ConsumerGroupDescribe": "4.0",        # v1: member_type
    "ShareGroupHeartbeat": "4.1",          # v1 is the stable version; 3.9 had early-access v0
    "ShareGroupDescribe": "4.1",
    "ShareFetch": "4.2",                   # v1 4.1, v2 4.2 (KIP-1206, KIP-1222)
    "ShareAcknowledge": "4.2",
    "DescribeShareGroupOffsets": "4.2",    # v1: lag (KIP-1226)
    "AlterShareGroupOffsets": "4.1",
    "DeleteShareGroupOffsets": "4.1",
}


@functools.cache
def load_spec(name: str, directory: Path | None = None) -> dict:
    """A spec file as a dict (its ``//`` comment lines removed). Shared: do not modify."""
    path = (directory or SPEC_DIR) / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"Kafka message specs not found at {path.parent}")
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    return json.loads(text)


@functools.cache
def snake_case(name: str) -> str:
    """``ThrottleTimeMs`` -> ``throttle_time_ms``, ``TopicID`` -> ``topic_id``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


# -- the spec side ---------------------------------------------------------------

SCALARS = {"int8", "int16", "int32", "int64", "uint16", "uint32", "float64", "bool", "uuid"}
VARIABLE = {"string", "bytes", "records"}
TYPE_DEFAULTS = {"int8": 0, "int16": 0, "int32": 0, "int64": 0, "uint16": 0, "uint32": 0, "float64": 0.0,
                 "bool": False, "uuid": bytes(16), "string": "", "bytes": b"", "records": None}


@dataclasses.dataclass
class Resolved:
    """One field as it is on the wire in one version (both sides resolve to this)."""

    name: str
    type: Any           # "int32", "string", ... or ("array", element) or ("struct", StructShape)
    nullable: bool
    compact: bool | None  # None for fixed-size types
    tag: int | None
    default: Any        # NO_DEFAULT: the spec names none (type default applies)


@dataclasses.dataclass
class StructShape:
    fields: list[Resolved]
    absent: dict[str, Any]  # name -> default (NO_DEFAULT when the spec names none)
    flexible: bool


def _parse_default(text: str | int | bool, type_name: str) -> Any:
    if isinstance(text, bool):
        return text  # AddPartitionsToTxn's VerifyOnly gives a JSON false
    if isinstance(text, int):
        return text  # a few specs give a number, not a string
    if text == "null":
        return None
    if type_name == "bool":
        return {"true": True, "false": False}[text]
    if type_name == "float64":
        return float(text)
    if type_name in SCALARS - {"uuid"}:
        return int(text, 0)
    if type_name == "string":
        return text
    raise AssertionError(f"no rule for a default {text!r} of type {type_name}")


@functools.cache
def _versions(text: str) -> Versions:
    return Versions(text)


class SpecResolver:
    """Resolves a spec's field tables at one version."""

    def __init__(self, spec: dict):
        self.common = {s["name"]: s["fields"] for s in spec.get("commonStructs", ())}
        self.messages: dict[int, StructShape] = {}

    def message(self, spec: dict, version: int) -> StructShape:
        """The top-level struct at one version (kept: resolved once per spec and version)."""
        if version not in self.messages:
            flexible = version in _versions(spec["flexibleVersions"])
            self.messages[version] = self.struct(spec["fields"], version, flexible)
        return self.messages[version]

    def struct_fields(self, spec_field: dict) -> list[dict]:
        if "fields" in spec_field:
            return spec_field["fields"]
        struct_name = spec_field["type"].removeprefix("[]")
        assert struct_name in self.common, f"struct type {struct_name} neither inline nor in commonStructs"
        return self.common[struct_name]

    def struct(self, fields: list[dict], version: int, flexible: bool) -> StructShape:
        present, absent = [], {}
        for f in fields:
            name = snake_case(f["name"])
            # a tagged field may give only its taggedVersions (TransactionLogValue's): they are its versions
            if version in _versions(f.get("versions", f.get("taggedVersions"))):
                present.append(self.field(f, version, flexible))
            else:
                absent[name] = _parse_default(f["default"], f["type"]) if "default" in f else NO_DEFAULT
        return StructShape(present, absent, flexible)

    def field(self, f: dict, version: int, flexible: bool) -> Resolved:
        nullable = version in _versions(f.get("nullableVersions", "none"))
        compact = flexible and version in _versions(f.get("flexibleVersions", "0+"))
        tag = f.get("tag") if version in _versions(f.get("taggedVersions", "none")) else None
        type_name = f["type"]
        if type_name.startswith("[]"):
            element = type_name[2:]
            if element in SCALARS | VARIABLE:
                element_type: Any = element
            else:
                element_type = ("struct", self.struct(self.struct_fields(f), version, flexible))
            kind: Any = ("array", element_type)
        elif type_name in SCALARS:
            kind, compact = type_name, None
        elif type_name in VARIABLE:
            kind = type_name
        else:
            kind, compact = ("struct", self.struct(self.struct_fields(f), version, flexible)), None
        default = _parse_default(f["default"], type_name) if "default" in f else NO_DEFAULT
        return Resolved(snake_case(f["name"]), kind, nullable, compact, tag, default)


def spec_type_default(kind: Any) -> Any:
    """The value Kafka's generated code uses for a field whose spec names no default."""
    if isinstance(kind, str):
        return TYPE_DEFAULTS[kind]
    if kind[0] == "array":
        return []
    shape: StructShape = kind[1]
    value = {}
    for f in shape.fields:
        value[f.name] = spec_type_default(f.type) if f.default is NO_DEFAULT else f.default
    for name, default in shape.absent.items():
        value[name] = NO_DEFAULT if default is NO_DEFAULT else default
    return value


# -- the kproto side ---------------------------------------------------------------

def resolve_construct(construct) -> tuple[Any, bool, bool | None]:
    """(type, nullable, compact) of one construct of kproto's tree."""
    if isinstance(construct, c.Primitive):
        name = construct.kafka_name
        compact = name.startswith("compact_")
        name = name.removeprefix("compact_")
        nullable = name.startswith("nullable_")
        name = name.removeprefix("nullable_")
        if name == "records":
            nullable = True  # both record constructs accept and write null
        if name in SCALARS:
            return name, False, None
        assert name in VARIABLE, f"unexpected primitive {construct!r} in a message"
        return name, nullable, compact
    if isinstance(construct, c.KArray):
        element, element_nullable, _ = resolve_construct(construct.element)
        assert not element_nullable, f"array of nullable elements {construct!r}"
        return ("array", element), construct.nullable, construct.compact
    if isinstance(construct, c.KStruct):
        return ("struct", resolve_struct(construct)), False, None
    if isinstance(construct, c.KNullableStruct):
        return ("struct", resolve_struct(construct.struct)), True, None
    raise AssertionError(f"unexpected construct {construct!r}")


def resolve_struct(struct: c.KStruct) -> StructShape:
    fields = []
    for name, construct, default in struct.fields:
        kind, nullable, compact = resolve_construct(construct)
        fields.append(Resolved(name, kind, nullable, compact, None, default))
    for tag, name, construct, default in struct.tagged or ():
        kind, nullable, compact = resolve_construct(construct)
        fields.append(Resolved(name, kind, nullable, compact, tag, default))
    return StructShape(fields, dict(struct.absent), struct.tagged is not None)


# -- the comparison ------------------------------------------------------------------

# Where the spec names no default, Kafka's generated code uses the type's ("" for a
# string, even a nullable one). We keep null where that is what "absent" means.
NULL_DEFAULTS = {
    "RequestHeader.client_id",  # v0 has no client id at all, which is not an empty one
}


def _defaults_agree(ours: Any, spec_default: Any, kind: Any, where: str) -> bool:
    if spec_default is not NO_DEFAULT:
        return ours == spec_default and type(ours) is type(spec_default)
    expected = spec_type_default(kind)
    if isinstance(expected, dict):
        return isinstance(ours, dict) and _struct_defaults_agree(ours, expected)
    if ours is None and re.sub(r" v\d+", "", where) in NULL_DEFAULTS:
        return True
    return ours == expected and type(ours) is type(expected)


def _struct_defaults_agree(ours: dict, expected: dict) -> bool:
    """A struct's default against the spec's, field by field (NO_DEFAULT: anything goes)."""
    if ours.keys() != expected.keys():
        return False
    for name, value in expected.items():
        if isinstance(value, dict):
            if not (isinstance(ours[name], dict) and _struct_defaults_agree(ours[name], value)):
                return False
        elif value is not NO_DEFAULT and ours[name] != value:
            return False
    return True


def compare_struct(ours: StructShape, spec: StructShape, spec_fields: list[dict], resolver: SpecResolver,
                   path: str) -> list[str]:
    problems = []
    if ours.flexible != spec.flexible:
        problems.append(f"{path}: tagged-field section {ours.flexible}, spec {spec.flexible}")
    # wire order: regular fields in declaration order, then tagged fields by tag
    spec_order = [f for f in spec.fields if f.tag is None] + sorted((f for f in spec.fields if f.tag is not None),
                                                                     key=lambda f: f.tag)
    ours_names = [f.name for f in ours.fields]
    spec_names = [f.name for f in spec_order]
    if ours_names != spec_names:
        problems.append(f"{path}: fields {ours_names}, spec {spec_names}")
    if set(ours.absent) != set(spec.absent):
        problems.append(f"{path}: absent fields {sorted(ours.absent)}, spec {sorted(spec.absent)}")
    for name in set(ours.absent) & set(spec.absent):
        if spec.absent[name] is not NO_DEFAULT and ours.absent[name] != spec.absent[name]:
            problems.append(f"{path}.{name} (absent): default {ours.absent[name]!r}, spec {spec.absent[name]!r}")
    by_name = {f.name: f for f in spec.fields}
    raw_by_name = {snake_case(f["name"]): f for f in spec_fields}
    for mine in ours.fields:
        theirs = by_name.get(mine.name)
        if theirs is None:
            continue
        raw = raw_by_name[mine.name]
        where = f"{path}.{mine.name}"
        for attribute in ("nullable", "compact", "tag"):
            if getattr(mine, attribute) != getattr(theirs, attribute):
                problems.append(f"{where}: {attribute} {getattr(mine, attribute)!r}, "
                                f"spec {getattr(theirs, attribute)!r}")
        problems += compare_type(mine.type, theirs.type, raw, resolver, where)
        if not _defaults_agree(mine.default, theirs.default, theirs.type, where):
            shown = "type default" if theirs.default is NO_DEFAULT else repr(theirs.default)
            problems.append(f"{where}: default {mine.default!r}, spec {shown}")
    return problems


def compare_type(ours: Any, spec: Any, raw: dict, resolver: SpecResolver, where: str) -> list[str]:
    if isinstance(spec, str) or isinstance(ours, str):
        return [] if ours == spec else [f"{where}: type {_type_name(ours)}, spec {_type_name(spec)}"]
    if ours[0] != spec[0]:
        return [f"{where}: type {_type_name(ours)}, spec {_type_name(spec)}"]
    if ours[0] == "array":
        return compare_type(ours[1], spec[1], raw, resolver, f"{where}[]")
    return compare_struct(ours[1], spec[1], resolver.struct_fields(raw), resolver, where)


def _type_name(kind: Any) -> str:
    if isinstance(kind, str):
        return kind
    if kind[0] == "array":
        return f"[]{_type_name(kind[1])}"
    return "struct"


_RESOLVERS: dict[int, tuple[dict, SpecResolver]] = {}  # by id(spec), the spec kept alive beside


def _resolver(spec: dict) -> SpecResolver:
    if id(spec) not in _RESOLVERS:
        _RESOLVERS[id(spec)] = (spec, SpecResolver(spec))
    return _RESOLVERS[id(spec)][1]


def compare_schema(schema: Schema, spec: dict) -> list[str]:
    """Every difference between a declared schema and its spec, for every declared version."""
    problems = []
    valid = Versions(spec["validVersions"])
    if not (valid.low <= schema.versions.low and schema.versions.high <= valid.high):
        problems.append(f"{schema.name}: declared versions {schema.versions.text}, spec valid {valid.text}")
    flexible = Versions(spec["flexibleVersions"])
    if schema.flexible != flexible:
        problems.append(f"{schema.name}: flexible {schema.flexible.text}, spec {flexible.text}")
    resolver = _resolver(spec)
    for version in range(schema.versions.low, schema.versions.high + 1):
        ours = resolve_struct(schema.struct(version))
        theirs = resolver.message(spec, version)
        problems += compare_struct(ours, theirs, spec["fields"], resolver, f"{schema.name} v{version}")
    return problems
