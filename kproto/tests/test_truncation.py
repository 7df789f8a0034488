"""Truncated, padded and oversized frames: "need more data" or DecodeError, never a value.

For generated frames of every API (and the hand-written golden frames):

- a FrameReader fed a frame one byte at a time has no frame until the last byte;
- every strict prefix of a frame body makes decode_request/decode_response (and
  ``Schema.parse``) raise DecodeError;
- trailing bytes after a whole body raise DecodeError too, except that
  decode_request ignores them unless ``strict`` (Kafka serves such requests:
  librdkafka sends some), and then decodes exactly what it would without them.

FrameReader refuses negative and oversized size prefixes as soon as it sees them,
and a stream of several frames, however it is cut, gives exactly those frames.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kproto.codec import (DEFAULT_MAX_FRAME_BYTES, FrameReader, decode_request, decode_response,
                          encode_request, encode_response, peek_request_header)
from kproto.errors import DecodeError
from kproto.messages import ALL, BY_KEY
from kproto.schema import Message
from kproto.tests.strategies import client_ids, correlation_ids, values
from kproto.tests.golden_frames import GOLDEN_REQUESTS, GOLDEN_RESPONSES

EXAMPLES = settings(max_examples=8, deadline=None)


def _decode(side: str, body: bytes, message: Message, version: int, *, strict: bool = True):
    if side == "request":
        return decode_request(body, message, version, strict=strict)
    return decode_response(body, message, version)


def assert_need_more_until_whole(frame: bytes) -> None:
    """Fed one byte at a time, a FrameReader gives nothing until the frame's last byte."""
    reader = FrameReader()
    for i in range(len(frame) - 1):
        reader.feed(frame[i:i + 1])
        assert reader.next_frame() is None, f"a frame out of the first {i + 1} of {len(frame)} bytes"
    reader.feed(frame[-1:])
    assert reader.next_frame() == frame[4:]
    assert reader.next_frame() is None
    assert reader.buffered == 0


def assert_prefixes_and_padding_refused(side: str, body: bytes, message: Message, version: int) -> None:
    schema = message.request if side == "request" else message.response
    header_size = len(body) - len(schema.build(_decode(side, body, message, version)[1], version))
    for cut in range(len(body)):
        with pytest.raises(DecodeError):
            _decode(side, body[:cut], message, version)
        if side == "request":
            with pytest.raises(DecodeError):  # ignoring trailing bytes never means accepting too few
                _decode(side, body[:cut], message, version, strict=False)
    for cut in range(header_size, len(body)):
        with pytest.raises(DecodeError):
            schema.parse(body[header_size:cut], version)
    whole = _decode(side, body, message, version)
    for padding in (b"\x00", b"\xff", b"\x00\x00\x00\x00"):
        with pytest.raises(DecodeError, match="trailing"):
            _decode(side, body + padding, message, version)
        with pytest.raises(DecodeError, match="trailing"):
            schema.parse(body[header_size:] + padding, version)
        if side == "request":
            # by default, bytes after a request are ignored, as Kafka ignores them
            assert _decode(side, body + padding, message, version, strict=False) == whole


@pytest.mark.parametrize("message", ALL, ids=lambda m: m.name)
@EXAMPLES
@given(data=st.data(), correlation_id=correlation_ids, client_id=client_ids)
def test_truncated_requests(message: Message, data, correlation_id, client_id):
    version = data.draw(st.integers(message.versions.low, message.versions.high), label="version")
    value = data.draw(values(message.request.struct(version)), label="body")
    frame = encode_request(message, version, correlation_id, value, client_id=client_id)
    assert_need_more_until_whole(frame)
    assert_prefixes_and_padding_refused("request", frame[4:], message, version)


@pytest.mark.parametrize("message", ALL, ids=lambda m: m.name)
@EXAMPLES
@given(data=st.data(), correlation_id=correlation_ids)
def test_truncated_responses(message: Message, data, correlation_id):
    version = data.draw(st.integers(message.versions.low, message.versions.high), label="version")
    value = data.draw(values(message.response.struct(version)), label="body")
    frame = b"".join(encode_response(message, version, correlation_id, value))
    assert_need_more_until_whole(frame)
    assert_prefixes_and_padding_refused("response", frame[4:], message, version)


@pytest.mark.parametrize("golden", GOLDEN_REQUESTS, ids=lambda g: g.name)
def test_truncated_golden_requests(golden):
    frame = bytes.fromhex(golden.hex)
    message = BY_KEY[golden.api_key]
    assert_need_more_until_whole(frame)
    assert_prefixes_and_padding_refused("request", frame[4:], message, golden.version)


@pytest.mark.parametrize("golden", GOLDEN_RESPONSES, ids=lambda g: g.name)
def test_truncated_golden_responses(golden):
    frame = bytes.fromhex(golden.hex)
    message = BY_KEY[golden.api_key]
    assert_need_more_until_whole(frame)
    assert_prefixes_and_padding_refused("response", frame[4:], message, golden.version)


# -- size prefixes ----------------------------------------------------------------------

@pytest.mark.parametrize("size", [-1, -(1 << 31), DEFAULT_MAX_FRAME_BYTES + 1, (1 << 31) - 1])
def test_bad_size_prefix_is_refused_at_once(size):
    reader = FrameReader()
    reader.feed(size.to_bytes(4, "big", signed=True))
    with pytest.raises(DecodeError):
        reader.next_frame()


def test_size_limit_is_configurable():
    reader = FrameReader(max_frame_bytes=10)
    reader.feed((10).to_bytes(4, "big"))
    assert reader.next_frame() is None  # exactly the limit: allowed, waiting for the bytes
    reader.feed(bytes(10))
    assert reader.next_frame() == bytes(10)
    reader.feed((11).to_bytes(4, "big"))
    with pytest.raises(DecodeError):
        reader.next_frame()


def test_size_prefix_itself_cut_short():
    reader = FrameReader()
    for byte in b"\x00\x00\x00":
        reader.feed(bytes([byte]))
        assert reader.next_frame() is None
    reader.feed(b"\x00")
    assert reader.next_frame() == b""  # an empty frame is a frame; decoding it is what fails
    with pytest.raises(DecodeError):
        decode_request(b"", BY_KEY[18], 0)
    with pytest.raises(DecodeError):
        peek_request_header(b"\x00\x12\x00")


# -- streams ---------------------------------------------------------------------------------

_frame_bodies = st.lists(st.binary(max_size=40), min_size=1, max_size=6)


def _stream(bodies: list[bytes]) -> bytes:
    return b"".join(len(b).to_bytes(4, "big") + b for b in bodies)


@settings(max_examples=30, deadline=None)
@given(bodies=_frame_bodies)
def test_stream_fed_one_byte_at_a_time(bodies):
    reader = FrameReader()
    frames = []
    for byte in _stream(bodies):
        reader.feed(bytes([byte]))
        while (frame := reader.next_frame()) is not None:
            frames.append(frame)
    assert frames == bodies
    assert reader.buffered == 0


@settings(max_examples=30, deadline=None)
@given(bodies=_frame_bodies, data=st.data())
def test_stream_fed_in_random_pieces(bodies, data):
    stream = _stream(bodies)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8), label="cuts"))
    reader = FrameReader()
    frames = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        reader.feed(stream[start:end])
        while (frame := reader.next_frame()) is not None:
            frames.append(frame)
    assert frames == bodies
    assert reader.buffered == 0


def test_stream_of_real_frames():
    from kproto.messages import API_VERSIONS, HEARTBEAT, METADATA
    requests = [
        (API_VERSIONS, 3, {"client_software_name": "k", "client_software_version": "1"}),
        (METADATA, 1, {"topics": None}),
        (HEARTBEAT, 4, {"group_id": "g", "generation_id": 1, "member_id": "m"}),
    ]
    stream = b"".join(encode_request(m, v, i, body) for i, (m, v, body) in enumerate(requests))
    reader = FrameReader()
    decoded = []
    for byte in stream:
        reader.feed(bytes([byte]))
        while (frame := reader.next_frame()) is not None:
            api_key, version, correlation_id = peek_request_header(frame)
            decoded.append((api_key, version, decode_request(frame, BY_KEY[api_key], version)))
    assert [(k, v, h["correlation_id"]) for k, v, (h, _) in decoded] == [(18, 3, 0), (3, 1, 1), (12, 4, 2)]
    assert decoded[1][2][1]["topics"] is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 5, 100, 3000, 70000]), min_size=1, max_size=12),
       st.lists(st.sampled_from([1, 2, 3, 4, 7, 100, 5000, 70000, 300000]), min_size=1, max_size=50),
       st.randoms(use_true_random=False))
def test_frames_cut_into_chunks_of_any_size_come_back_whole(sizes, cuts, rng):
    """Big frames span chunks, small ones share them: every frame comes back exactly, once."""
    frames = [rng.randbytes(n) for n in sizes]
    stream = b"".join(len(f).to_bytes(4, "big") + f for f in frames)
    reader = FrameReader()
    out, position, i = [], 0, 0
    while position < len(stream):
        step = cuts[i % len(cuts)]
        reader.feed(stream[position:position + step])
        position += step
        i += 1
        while (frame := reader.next_frame()) is not None:
            out.append(frame)
    assert out == frames
    assert reader.buffered == 0
