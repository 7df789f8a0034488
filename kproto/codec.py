"""Frames: size-prefixed requests and responses, their headers, and a sans-I/O frame reader.

A request frame is ``int32 size`` + request header + body; a response frame is
``int32 size`` + response header + body. Request header v0 is (api_key,
api_version, correlation_id), v1 adds a nullable client id (never compact, even in
v2), v2 adds tagged fields. Response header v0 is the correlation id, v1 adds tagged
fields.
"""

from __future__ import annotations

import struct

from kproto import produce_fast
from kproto._wire import Reader, Writer, pack_i32, records_size
from kproto.api_keys import ApiKey
from kproto.errors import DecodeError
from kproto.schema import Int16, Int32, Message, Schema, String, field

REQUEST_HEADER = Schema("RequestHeader", versions="0-2", flexible="2+", fields=[
    field("request_api_key", Int16),
    field("request_api_version", Int16),
    field("correlation_id", Int32),
    field("client_id", String, "1+", nullable="1+", flexible="none", default=None),
])

RESPONSE_HEADER = Schema("ResponseHeader", versions="0-1", flexible="1+", fields=[
    field("correlation_id", Int32),
])

_peek = struct.Struct(">hhi").unpack_from
_size_and_id = struct.Struct(">ii").pack

DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024
_PRODUCE = int(ApiKey.PRODUCE)


def peek_request_header(frame: bytes) -> tuple[int, int, int]:
    """(api_key, api_version, correlation_id) of a request frame, without decoding the rest."""
    if len(frame) < 8:
        raise DecodeError(f"request frame of {len(frame)} bytes is shorter than a header")
    return _peek(frame)


def decode_request(frame: bytes, message: Message, api_version: int, *, strict: bool = False) -> tuple[dict, dict]:
    """Decode a whole request frame (without its size prefix) into (header, body).

    Bytes after the body are ignored, as Kafka ignores them: librdkafka's Metadata
    v9+ request for all topics leaves a 4-byte array-count placeholder where one
    varint byte belongs, and Kafka serves it. ``strict`` refuses them instead.
    """
    if message.api_key == _PRODUCE and not strict:
        # The produce hot path: a plain request in one pass (kproto/produce_fast.py, checked
        # against this decoder); anything else is decoded below.
        decoded = produce_fast.decode_request(frame, api_version)
        if decoded is not None:
            return decoded
    io = Reader(frame)
    try:
        header = REQUEST_HEADER.read(io, message.request_header_version(api_version))
        body = message.request.read(io, api_version)
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"{message.name} v{api_version} request: {exc!r}") from None
    if strict and io.tell() != len(frame):
        raise DecodeError(f"{message.name} v{api_version} request: {len(frame) - io.tell()} trailing bytes")
    return header, body


def encode_request(message: Message, api_version: int, correlation_id: int, body: dict,
                   client_id: str | None = "kproto") -> bytes:
    """A whole request frame, size prefix included."""
    io = Writer()
    io.write(b"\0\0\0\0")
    header = {"request_api_key": message.api_key, "request_api_version": api_version,
              "correlation_id": correlation_id, "client_id": client_id}
    REQUEST_HEADER.write(header, io, message.request_header_version(api_version))
    message.request.write(body, io, api_version)
    if io.slices:
        raise ValueError("a request's records must be bytes, not file ranges")
    size = io.tell() - 4
    io.seek(0)
    io.write(pack_i32(size))
    return io.getvalue()


def encode_response(message: Message, api_version: int, correlation_id: int, body: dict) -> list:
    """A whole response frame as parts to send in order.

    Parts are bytes, or the sized chunks (file ranges) a records field was built
    from, which the transport sends itself. Mostly this is a single bytes part.
    """
    io = Writer()
    if message.response_header_version(api_version) == 0:
        io.write(b"\0\0\0\0" + pack_i32(correlation_id))
    else:
        io.write(b"\0\0\0\0" + pack_i32(correlation_id) + b"\0")
    message.response.write(body, io, api_version)
    slices = io.slices
    size = io.tell() - 4
    if slices:
        size += sum(chunk.size for _, chunk in slices)
    io.seek(0)
    io.write(pack_i32(size))
    data = io.getvalue()
    if not slices:
        return [data]
    parts: list = []
    start = 0
    for position, chunk in slices:
        if position > start:
            parts.append(data[start:position])
        parts.append(chunk)
        start = position
    if start < len(data):
        parts.append(data[start:])
    return parts


def encode_response_body(message: Message, api_version: int, body: dict) -> bytes:
    """A response body alone, to keep and send again with ``frame_response`` (its records must be bytes)."""
    io = Writer()
    message.response.write(body, io, api_version)
    if io.slices:
        raise ValueError("a kept response body cannot hold file ranges")
    return io.getvalue()


def frame_response(message: Message, api_version: int, correlation_id: int, body: bytes) -> bytes:
    """A whole response frame around an already encoded body."""
    if message.response_header_version(api_version) == 0:
        return _size_and_id(4 + len(body), correlation_id) + body
    return _size_and_id(5 + len(body), correlation_id) + b"\0" + body   # header v1: no tagged fields


def decode_response(frame: bytes, message: Message, api_version: int) -> tuple[int, dict]:
    """Decode a whole response frame (without its size prefix) into (correlation_id, body)."""
    io = Reader(frame)
    try:
        header = RESPONSE_HEADER.read(io, message.response_header_version(api_version))
        body = message.response.read(io, api_version)
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"{message.name} v{api_version} response: {exc!r}") from None
    if io.tell() != len(frame):
        raise DecodeError(f"{message.name} v{api_version} response: {len(frame) - io.tell()} trailing bytes")
    return header["correlation_id"], body


class FrameReader:
    """Splits a byte stream into frames (size prefix removed). Holds no socket.

    ``feed(data)`` then ``next_frame()`` until it returns None ("need more data").
    A negative or oversized size raises DecodeError as soon as the prefix is seen.

    Received chunks are kept as they came, with a read position into the first, so a
    frame costs one copy: a slice of one chunk, or one join of the pieces of several
    (a 1 MB produce arrives in a few chunks).
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES):
        self.max_frame_bytes = max_frame_bytes
        self._chunks: list[bytes] = []
        self._position = 0          # read position in _chunks[0]
        self._buffered = 0          # bytes held, from the read position on

    def feed(self, data: bytes) -> None:
        if data:
            self._chunks.append(bytes(data))
            self._buffered += len(data)

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return self._buffered

    def next_frame(self) -> bytes | None:
        if self._buffered < 4:
            return None
        chunks, position = self._chunks, self._position
        first = chunks[0]
        if len(first) - position < 4:       # the size prefix spans chunks: merge them
            first = chunks[0] = b"".join(chunks)[position:]
            del chunks[1:]
            position = self._position = 0
        size = int.from_bytes(first[position:position + 4], "big", signed=True)
        if size < 0 or size > self.max_frame_bytes:
            raise DecodeError(f"frame size {size} outside 0..{self.max_frame_bytes}")
        if self._buffered < 4 + size:
            return None
        self._buffered -= 4 + size
        end = position + 4 + size
        if end <= len(first):               # the whole frame is in the first chunk
            frame = first[position + 4:end]
            if end == len(first):
                del chunks[0]
                self._position = 0
            else:
                self._position = end
            return frame
        pieces = [first[position + 4:]]
        needed = size - len(pieces[0])
        del chunks[0]
        while needed >= len(chunks[0]):
            needed -= len(chunks[0])
            pieces.append(chunks.pop(0))
            if not needed:
                break
        self._position = 0
        if needed:
            pieces.append(chunks[0][:needed])
            self._position = needed
        return b"".join(pieces)


__all__ = [
    "REQUEST_HEADER", "RESPONSE_HEADER", "DEFAULT_MAX_FRAME_BYTES", "FrameReader", "peek_request_header",
    "decode_request", "encode_request", "encode_response", "decode_response", "records_size",
    "encode_response_body", "frame_response",
]
