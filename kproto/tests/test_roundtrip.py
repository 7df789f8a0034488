"""Round trips for every API, version and side, bodies and frames.

For each (API, version, request|response) Hypothesis draws values from the
construct tree itself (see ``strategies.py``) and checks that:

- building gives the bytes the plain reference codec (``reference.py``) gives;
- parsing those bytes gives back the value, with the fields the version lacks at
  their defaults, and the reference parses them to the same;
- building the parsed value gives the same bytes again.

The headers and the other schemas kproto declares (coordinator records) get the same.

Whole frames go through ``encode_request``/``decode_request`` and
``encode_response``/``decode_response``, with the header rules: request header v1
below the flexible versions and v2 from them (client id never compact), response
header v0 then v1, and ApiVersions' response header always v0.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kproto.codec import (REQUEST_HEADER, RESPONSE_HEADER, FrameReader, decode_request, decode_response,
                          encode_request, encode_response)
from kproto.messages import ALL, API_VERSIONS
from kproto.schema import Message, Schema
from kproto.tests import reference
from kproto.tests.strategies import (case_id, cases, client_ids, correlation_ids, expected, standalone_schemas, values,
                                     with_junk)

EXAMPLES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _schema(message: Message, side: str):
    return message.request if side == "request" else message.response


def _standalone_cases() -> list[tuple[Schema, int]]:
    return [(s, v) for s in standalone_schemas() for v in range(s.versions.low, s.versions.high + 1)]


@pytest.mark.parametrize("case", cases(), ids=case_id)
@EXAMPLES
@given(data=st.data())
def test_body_round_trip(case, data):
    message, version, side = case
    check_round_trip(_schema(message, side), version, data)


@pytest.mark.parametrize(("schema", "version"), _standalone_cases(),
                         ids=lambda x: x.name if isinstance(x, Schema) else f"v{x}")
@EXAMPLES
@given(data=st.data())
def test_other_schema_round_trip(schema, version, data):
    """Headers and the other declared schemas (coordinator records ...)."""
    check_round_trip(schema, version, data)


def check_round_trip(schema: Schema, version: int, data) -> None:
    struct = schema.struct(version)
    value = data.draw(values(struct), label="value")
    built = schema.build(value, version)
    assert built == reference.build(struct, value)
    junk = with_junk(struct, value)  # fields the version lacks are never looked at
    assert schema.build(junk, version) == built
    parsed = schema.parse(built, version)
    assert parsed == expected(struct, value)
    assert reference.parse(struct, built) == parsed
    assert schema.build(parsed, version) == built


def _request_header(message: Message, version: int, correlation_id: int, client_id) -> dict:
    return {"request_api_key": message.api_key, "request_api_version": version,
            "correlation_id": correlation_id, "client_id": client_id}


@pytest.mark.parametrize("message", ALL, ids=lambda m: m.name)
@EXAMPLES
@given(data=st.data(), correlation_id=correlation_ids, client_id=client_ids)
def test_request_frame_round_trip(message: Message, data, correlation_id, client_id):
    version = data.draw(st.integers(message.versions.low, message.versions.high), label="version")
    struct = message.request.struct(version)
    value = data.draw(values(struct), label="body")
    frame = encode_request(message, version, correlation_id, value, client_id=client_id)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    reader = FrameReader()
    reader.feed(frame)
    body = reader.next_frame()
    assert reader.next_frame() is None
    header, parsed = decode_request(body, message, version, strict=True)
    assert header == _request_header(message, version, correlation_id, client_id)
    assert parsed == expected(struct, value)

    header_version = 2 if version in message.flexible else 1
    assert message.request_header_version(version) == header_version
    header_bytes = REQUEST_HEADER.build(header, header_version)
    assert body == header_bytes + message.request.build(value, version)
    # client id: int16 length (-1 for null), never compact; then v2's empty tag section
    client = b"\xff\xff" if client_id is None else len(client_id.encode()).to_bytes(2, "big") + client_id.encode()
    assert header_bytes[8:] == client + (b"\x00" if header_version == 2 else b"")


@pytest.mark.parametrize("message", ALL, ids=lambda m: m.name)
@EXAMPLES
@given(data=st.data(), correlation_id=correlation_ids)
def test_response_frame_round_trip(message: Message, data, correlation_id):
    version = data.draw(st.integers(message.versions.low, message.versions.high), label="version")
    struct = message.response.struct(version)
    value = data.draw(values(struct), label="body")
    parts = encode_response(message, version, correlation_id, value)
    assert all(isinstance(p, bytes) for p in parts)
    frame = b"".join(parts)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    body = frame[4:]
    assert decode_response(body, message, version) == (correlation_id, expected(struct, value))

    header_version = 0 if message is API_VERSIONS else (1 if version in message.flexible else 0)
    assert message.response_header_version(version) == header_version
    header_bytes = RESPONSE_HEADER.build({"correlation_id": correlation_id}, header_version)
    assert body == header_bytes + message.response.build(value, version)


def test_api_versions_response_header_is_always_v0():
    for version in range(API_VERSIONS.versions.low, API_VERSIONS.versions.high + 1):
        (frame,) = encode_response(API_VERSIONS, version, 7, {"api_keys": []})
        # size, correlation id, then at once the error code: no tag section in the header
        assert frame[4:8] == (7).to_bytes(4, "big")
        assert frame[8:10] == b"\x00\x00"
        assert decode_response(frame[4:], API_VERSIONS, version)[0] == 7


@pytest.mark.parametrize("version", [0, 1, 2])
def test_request_header_versions(version):
    header = {"request_api_key": 18, "request_api_version": 3, "correlation_id": 9, "client_id": "ab"}
    data = REQUEST_HEADER.build(header, version)
    wanted = {0: b"\x00\x12\x00\x03\x00\x00\x00\x09",
              1: b"\x00\x12\x00\x03\x00\x00\x00\x09\x00\x02ab",
              2: b"\x00\x12\x00\x03\x00\x00\x00\x09\x00\x02ab\x00"}[version]
    assert data == wanted
    parsed = REQUEST_HEADER.parse(data, version)
    assert parsed == {**header, "client_id": "ab" if version else None}
    assert reference.parse(REQUEST_HEADER.struct(version), data) == parsed


def test_response_header_versions():
    assert RESPONSE_HEADER.build({"correlation_id": 1}, 0) == b"\x00\x00\x00\x01"
    assert RESPONSE_HEADER.build({"correlation_id": 1}, 1) == b"\x00\x00\x00\x01\x00"
    assert RESPONSE_HEADER.parse(b"\x00\x00\x00\x01\x01\x05\x01z", 1) == {
        "correlation_id": 1, "_unknown_tagged_fields": {5: b"z"}}
