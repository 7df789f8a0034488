"""Every declaration against Kafka's JSON message specs, version by version.

Both sides are resolved to what is on the wire for one version: the spec from its
field tables, kproto from the construct tree ``schema.struct(version)`` actually
builds. So the check covers the declarations and ``build_struct`` together. For each
version we declare, every struct is compared recursively: field names (PascalCase
to snake_case) and order, type, nullability, compact or not (flexible versions and
field-level ``flexibleVersions`` overrides), tagged or not and the tag, whether the
struct has a tagged-field section, and defaults (of present and absent fields).

The specs are looked up in ``$KAFKA_PROTOCOL_SPECS`` or ``<repo>/../shared/kafka-protocol/message``;
without them the tests skip. The last tests alter declarations on purpose and check
that the comparison notices, so a comparison that always passes cannot go unseen.
"""

from __future__ import annotations

import dataclasses

import pytest

from kproto.codec import REQUEST_HEADER, RESPONSE_HEADER
from kproto.messages import ALL, FETCH, HEARTBEAT, METADATA
from kproto.schema import Array, Bool, Field, Int64, Message, Records, Scalar, Schema, Struct, Uuid, Versions, Variable
from kproto.tests.spec import NEWER_SPEC_DIR, NEWER_THAN_SPECS, SPEC_DIR, compare_schema, load_spec, snake_case


def test_snake_case():
    assert snake_case("ThrottleTimeMs") == "throttle_time_ms"
    assert snake_case("ErrorCode") == "error_code"
    assert snake_case("TopicId") == "topic_id"
    assert snake_case("IsrNodes") == "isr_nodes"
    assert snake_case("ClientID") == "client_id"
    assert snake_case("ZkMigrationReady") == "zk_migration_ready"
    assert snake_case("Records") == "records"


# -- the tests -------------------------------------------------------------------------

def _comparisons(message: Message) -> list[tuple[dict, dict, Message]]:
    """The request and response specs to compare ``message`` with, each with the message cut to
    the versions they define. An API in NEWER_THAN_SPECS is compared with the 3.9 specs for the
    versions they know and, where present, with the newer specs for the versions those define
    (a newer spec may have dropped old versions: Kafka 4 serves Produce from v3). Skips when
    no spec defines any declared version."""
    names = (f"{message.name}Request", f"{message.name}Response")
    if message.name not in NEWER_THAN_SPECS:
        return [(load_spec(names[0]), load_spec(names[1]), message)]
    specs = [(load_spec(names[0], directory), load_spec(names[1], directory))
             for directory in (SPEC_DIR, NEWER_SPEC_DIR) if (directory / f"{names[0]}.json").is_file()]
    comparisons = []
    for request, response in specs:
        valid = Versions(request["validVersions"])
        low, high = max(valid.low, message.versions.low), min(valid.high, message.versions.high)
        if low <= high:
            comparisons.append((_spec_up_to(request, high), _spec_up_to(response, high), _cut(message, low, high)))
    if not comparisons and not (NEWER_SPEC_DIR / f"{names[0]}.json").is_file():
        pytest.skip(f"{message.name} v{message.versions.text} is Kafka {NEWER_THAN_SPECS[message.name]}'s; "
                    f"its specs are not at {NEWER_SPEC_DIR}")
    assert comparisons, f"no spec defines a version of {message.name} v{message.versions.text}"
    return comparisons


def _spec_up_to(spec: dict, high: int) -> dict:
    """A spec without the fields it adds after version ``high`` (Produce v13's topic_id when we declare
    up to v12), so they do not count as fields absent from the versions we declare."""
    def fields(table: list[dict]) -> list[dict]:
        kept = []
        for f in table:
            if Versions(f.get("versions", f.get("taggedVersions"))).low > high:
                continue
            kept.append({**f, "fields": fields(f["fields"])} if "fields" in f else f)
        return kept
    return {**spec, "fields": fields(spec["fields"]),
            "commonStructs": [{**c, "fields": fields(c["fields"])} for c in spec.get("commonStructs", ())]}


def _cut(message: Message, low: int, high: int) -> Message:
    """The message declared at versions ``low``-``high`` only."""
    if (low, high) == (message.versions.low, message.versions.high):
        return message
    return Message(message.api_key, message.name, versions=f"{low}-{high}", flexible=message.flexible.text,
                   request=_fields_up_to(message.request.fields, high),
                   response=_fields_up_to(message.response.fields, high))


def _fields_up_to(fields: list[Field], high: int) -> list[Field]:
    """A field table without the fields added after version ``high`` (nested ones too)."""
    out = []
    for f in fields:
        if f.versions.low > high:
            continue
        if isinstance(f.type, Array) and isinstance(f.type.element, Struct):
            f = dataclasses.replace(f, type=Array(_fields_up_to(f.type.element.fields, high)))
        elif isinstance(f.type, Struct):
            f = dataclasses.replace(f, type=Struct(_fields_up_to(f.type.fields, high)))
        out.append(f)
    return out


@pytest.mark.parametrize("message", ALL, ids=lambda m: m.name)
def test_message_matches_spec(message: Message):
    problems = []
    for request, response, cut in _comparisons(message):
        for spec, kind in ((request, "request"), (response, "response")):
            assert spec["type"] == kind
            if spec["apiKey"] != cut.api_key:
                problems.append(f"{cut.name} {kind}: api key {cut.api_key}, spec {spec['apiKey']}")
        problems += compare_schema(cut.request, request)
        problems += compare_schema(cut.response, response)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("schema", [REQUEST_HEADER, RESPONSE_HEADER], ids=lambda s: s.name)
def test_header_matches_spec(schema: Schema):
    spec = load_spec(schema.name)
    assert spec["type"] == "header"
    problems = compare_schema(schema, spec)
    assert not problems, "\n".join(problems)


# -- the comparison must be able to fail ----------------------------------------------------

def _alter(fields: list[Field], path: tuple[str, ...], **changes) -> list[Field]:
    """A copy of a field table with the field at ``path`` (names, through nested structs) changed."""
    out = []
    for f in fields:
        if f.name != path[0]:
            out.append(f)
        elif len(path) == 1:
            out.append(dataclasses.replace(f, **changes))
        elif isinstance(f.type, Array):
            out.append(dataclasses.replace(f, type=Array(_alter(f.type.element.fields, path[1:], **changes))))
        else:
            out.append(dataclasses.replace(f, type=Struct(_alter(f.type.fields, path[1:], **changes))))
    assert out != list(fields), f"no field at {path}"
    return out


def _copy(schema: Schema, *, versions: str | None = None, flexible: str | None = None,
          fields: list[Field] | None = None) -> Schema:
    return Schema(schema.name, versions or schema.versions.text, flexible or schema.flexible.text,
                  schema.fields if fields is None else fields)


ALTERATIONS = {
    "renamed field": (HEARTBEAT.request, lambda s: _copy(s, fields=_alter(s.fields, ("member_id",), name="member"))),
    "field versions": (HEARTBEAT.request, lambda s: _copy(s, fields=_alter(
        s.fields, ("group_instance_id",), versions=Versions("2+")))),
    "nullable versions": (HEARTBEAT.request, lambda s: _copy(s, fields=_alter(
        s.fields, ("group_instance_id",), nullable=Versions("4+")))),
    "declared versions beyond the spec": (HEARTBEAT.request, lambda s: _copy(s, versions="0-5")),
    "flexible versions": (HEARTBEAT.response, lambda s: _copy(s, flexible="3+")),
    "tag number": (FETCH.response, lambda s: _copy(s, fields=_alter(
        s.fields, ("responses", "partitions", "diverging_epoch"), tag=5))),
    "tagged becomes regular": (FETCH.request, lambda s: _copy(s, fields=_alter(
        s.fields, ("cluster_id",), tag=None, tagged=Versions("none")))),
    "field type": (FETCH.response, lambda s: _copy(s, fields=_alter(
        s.fields, ("responses", "partitions", "partition_index"), type=Int64))),
    "explicit default": (FETCH.request, lambda s: _copy(s, fields=_alter(s.fields, ("max_bytes",), default=0))),
    "implicit default": (HEARTBEAT.request, lambda s: _copy(s, fields=_alter(
        s.fields, ("generation_id",), default=-1))),
    "absent field default": (METADATA.request, lambda s: _copy(s, fields=_alter(
        s.fields, ("allow_auto_topic_creation",), default=False))),
    "field-level flexible override dropped": (REQUEST_HEADER, lambda s: _copy(s, fields=_alter(
        s.fields, ("client_id",), flexible=None))),
    "field order": (HEARTBEAT.request, lambda s: _copy(s, fields=[s.fields[1], s.fields[0], *s.fields[2:]])),
    "missing field": (METADATA.response, lambda s: _copy(s, fields=[f for f in s.fields if f.name != "cluster_id"])),
}


@pytest.mark.parametrize("alteration", ALTERATIONS, ids=str)
def test_comparison_detects(alteration: str):
    original, alter = ALTERATIONS[alteration]
    spec = load_spec(original.name)
    high = Versions(spec["validVersions"]).high
    if original.versions.high > high:   # declared beyond the 3.9 specs (NEWER_THAN_SPECS): their versions only
        original = _copy(original, versions=f"{original.versions.low}-{high}", fields=_fields_up_to(original.fields, high))
    assert compare_schema(original, spec) == []
    assert compare_schema(alter(original), spec), f"the comparison missed: {alteration}"


def _field_paths(fields: list[Field], prefix: tuple[str, ...] = (), floor: int = 0, ceiling: int = 1 << 15):
    """(path, field, first version the field can be on the wire) for every field, nested ones
    included; a field of a common struct that is never on the wire where the struct is used
    (LeaderAndIsr's v0-1 partition states have no v3+ fields) is left out."""
    for f in fields:
        first, last = max(floor, f.versions.low), min(ceiling, f.versions.high)
        if first > last:
            continue
        yield (*prefix, f.name), f, first
        nested = f.type.element if isinstance(f.type, Array) else f.type
        if isinstance(nested, Struct):
            yield from _field_paths(nested.fields, (*prefix, f.name), first, last)


def _mutations(f: Field, first: int) -> dict[str, dict]:
    """Changes to one field that the comparison must notice, whatever the field."""
    later = Versions(f"{first + 1}-{f.versions.high}")
    mutations = {"renamed": {"name": f"{f.name}_renamed"}, "versions": {"versions": later}}
    if f.tag is not None:
        mutations["tag"] = {"tag": f.tag + 1}
    elif f.type is Records or isinstance(f.type, Struct):
        pass  # records accept null in every version; structs are never nullable here
    elif isinstance(f.type, (Variable, Array)):
        nullable = Versions("none") if f.nullable.low <= f.nullable.high else Versions("0+")
        mutations["nullable"] = {"nullable": nullable}
        if isinstance(f.type, Variable):
            mutations["default"] = {"default": "x" if f.type.kafka_name == "string" else b"x"}
    elif isinstance(f.type, Scalar):
        current = f.default_for(f.versions.low)
        other = (not current) if f.type is Bool else bytes([1] * 16) if f.type is Uuid else 99
        mutations["default"] = {"default": other}
    return mutations


@pytest.mark.parametrize("message", ALL, ids=lambda m: m.name)
def test_every_field_mutation_is_detected(message: Message):
    """Mutation testing of the comparison: each field renamed, its versions narrowed, and its tag,
    nullability or default changed, one at a time; every change must be reported."""
    missed = []
    for request, response, cut in _comparisons(message):
        for schema, spec in ((cut.request, request), (cut.response, response)):
            for path, f, first in _field_paths(schema.fields, floor=schema.versions.low):
                for kind, changes in _mutations(f, first).items():
                    if kind == "versions" and first > schema.versions.high:
                        continue   # a field of later versions than we declare (EndTxn v5's): never on the wire
                    if not compare_schema(_copy(schema, fields=_alter(schema.fields, path, **changes)), spec):
                        missed.append(f"{schema.name} v{schema.versions.text} {'.'.join(path)}: {kind}")
    assert not missed, "the comparison missed:\n" + "\n".join(missed)
