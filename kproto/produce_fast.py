"""The common Produce answer, encoded with ``struct`` into a cached skeleton.

Nearly every Produce response the broker sends says "appended" for every partition: no
error, no message, no record errors, no leader hint, no node endpoints. For that shape only
the base offset, the log-append time and the log start offset change from one answer to
the next, so the bytes around them (the topic's name, the counts, the empty record_errors
and error_message, the tagged-field bytes) are made once per version and topic and kept,
and each partition is one ``struct.pack``.

This is a shortcut, not a second codec: ``encode_success_body`` answers None for any
response outside that shape (the caller then uses the declarative encoder,
kproto/messages/produce.py), and kproto/tests/test_produce_fast.py checks its bytes
against the declarative encoder's for every version and many inputs.
"""

from __future__ import annotations

import struct

from kproto._wire import encode_uvarint as write_uvarint, read_uvarint_at
from kproto.messages.produce import PRODUCE

FIRST_FLEXIBLE = 9   # PRODUCE's flexible="9+": compact arrays and strings, tagged fields
_I16, _I32 = struct.Struct(">h"), struct.Struct(">i")

# One partition entry, by version: index, error_code, base_offset[, log_append_time_ms (2+)]
# [, log_start_offset (5+)], then the constant tail (empty record_errors and null
# error_message (8+), no tagged fields (9+)).
_ENTRY = {version: struct.Struct(">ihq" + "q" * ((version >= 2) + (version >= 5)))
          for version in range(PRODUCE.versions.low, PRODUCE.versions.high + 1)}
_ENTRY_TAIL = {version: (b"" if version < 8 else b"\0\0\0\0\xff\xff" if version < FIRST_FLEXIBLE else b"\x01\x00\x00")
               for version in range(PRODUCE.versions.low, PRODUCE.versions.high + 1)}


def _count(version: int, n: int) -> bytes:
    """An array's length as the version writes it."""
    if version >= FIRST_FLEXIBLE:
        return write_uvarint(n + 1)
    return _I32.pack(n)


def _name(version: int, name: str) -> bytes:
    data = name.encode()
    if version >= FIRST_FLEXIBLE:
        return write_uvarint(len(data) + 1) + data
    return _I16.pack(len(data)) + data


_topic_heads: dict[tuple[int, str, int], bytes] = {}   # (version, name, partitions) -> name and count
_TOPIC_HEADS_MAX = 4096


def _topic_head(version: int, name: str, partitions: int) -> bytes:
    key = (version, name, partitions)
    head = _topic_heads.get(key)
    if head is None:
        head = _name(version, name) + _count(version, partitions)
        if len(_topic_heads) >= _TOPIC_HEADS_MAX:
            _topic_heads.clear()   # bounded, whatever topic names clients send
        _topic_heads[key] = head
    return head


_single: dict[tuple[int, str], tuple[bytes, bytes]] = {}   # (version, name) -> the bytes around one partition


def _encode_single(version: int, name: str, partition: tuple) -> bytes:
    """One topic of one partition (the common request): the cached bytes around one pack."""
    around = _single.get((version, name))
    if around is None:
        if len(_single) >= _TOPIC_HEADS_MAX:
            _single.clear()
        around = _single[(version, name)] = (_count(version, 1) + _topic_head(version, name, 1),
                                             _ENTRY_TAIL[version] + _topic_tail(version) + _END[version])
    return around[0] + _pack_partition(version, partition) + around[1]


def _topic_tail(version: int) -> bytes:
    return b"\0" if version >= FIRST_FLEXIBLE else b""


# After the last topic: throttle_time_ms 0 (1+), no tagged fields (9+: node_endpoints is one
# only when leaders are hinted, which an all-appended answer never has).
_END = {version: (b"\0\0\0\0" if version >= 1 else b"") + (b"\0" if version >= FIRST_FLEXIBLE else b"")
        for version in range(PRODUCE.versions.low, PRODUCE.versions.high + 1)}


def _pack_partition(version: int, partition: tuple) -> bytes:
    index, base_offset, log_append_time_ms, log_start_offset = partition
    if version >= 5:
        return _ENTRY[version].pack(index, 0, base_offset, log_append_time_ms, log_start_offset)
    if version >= 2:
        return _ENTRY[version].pack(index, 0, base_offset, log_append_time_ms)
    return _ENTRY[version].pack(index, 0, base_offset)


def encode_success_body(version: int, topics: list) -> bytes | None:
    """The body of a Produce response whose every partition succeeded, or None if ``version``
    is not one this covers.

    ``topics``: [(name, [(index, base_offset, log_append_time_ms, log_start_offset), ...]), ...];
    throttle_time_ms is 0.
    """
    entry = _ENTRY.get(version)
    if entry is None:
        return None
    if len(topics) == 1 and len(topics[0][1]) == 1:
        return _encode_single(version, topics[0][0], topics[0][1][0])
    pack = entry.pack
    tail = _ENTRY_TAIL[version]
    topic_tail = _topic_tail(version)
    parts = [_count(version, len(topics))]
    append = parts.append
    for name, partitions in topics:
        append(_topic_head(version, name, len(partitions)))
        if version >= 5:
            for index, base_offset, log_append_time_ms, log_start_offset in partitions:
                append(pack(index, 0, base_offset, log_append_time_ms, log_start_offset))
                append(tail)
        elif version >= 2:
            for index, base_offset, log_append_time_ms, _ in partitions:
                append(pack(index, 0, base_offset, log_append_time_ms))
                append(tail)
        else:
            for index, base_offset, _, _ in partitions:
                append(pack(index, 0, base_offset))
                append(tail)
        append(topic_tail)
    append(_END[version])
    return b"".join(parts)


# -- the request: v3+ (transactional_id on), the header and the body in one pass ----------------

_HEADER = struct.Struct(">hhih")          # api_key, api_version, correlation_id, client_id length
_ACKS_TIMEOUT = struct.Struct(">hi")
_unpack_i16, _unpack_i32 = _I16.unpack_from, _I32.unpack_from
FIRST_TRANSACTIONAL = 3


class Shape:
    """What a connection's last one-partition Produce request looked like before its records.

    A producer's pipelined requests differ only in their correlation id and records: the bytes
    after the correlation id up to the records' length (client id, transactional id, acks,
    timeout, the one topic and partition) are the same. A request whose bytes there equal the
    last one's decodes to the same values, so ``decode_request`` with a Shape reads only its
    correlation id and records, and checks that nothing follows them but the tagged-field bytes.
    """

    __slots__ = ("version", "prefix", "length_at", "values", "hits")

    def __init__(self) -> None:
        self.version = -1
        self.prefix = b""
        self.length_at = 0
        self.values = ()   # client_id, transactional_id, acks, timeout_ms, topic name, partition index
        self.hits = 0      # requests decoded from it (its user may reset it)


def decode_request(frame, version: int, shape: Shape | None = None) -> tuple[dict, dict] | None:
    """(header, body) of a Produce v3+ request frame, as the declarative decoder gives them, or
    None for anything but the plain shape (then the declarative decoder decides, errors
    included): a tagged field, a null or negative count, a long count or transactional id
    (a varint of more than one byte), a string that is not UTF-8, a frame cut short.

    Records are views of the frame's bytes; a ``bytearray`` frame (a large one, received in
    place) is copied to bytes first, as the declarative decoder's reader copies it.

    ``shape``: a connection's Shape, kept from one request to the next (see Shape)."""
    if not FIRST_TRANSACTIONAL <= version <= PRODUCE.versions.high:
        return None
    if type(frame) is not bytes:
        if type(frame) is not bytearray:
            return None
        frame = bytes(frame)
    try:
        if shape is not None and shape.version == version and frame.startswith(shape.prefix, 8):
            decoded = _decode_like(frame, version, shape)
            if decoded is not None:
                shape.hits += 1
                return decoded
        if version >= FIRST_FLEXIBLE:
            result = _decode_flexible(frame, version)
        else:
            result = _decode_classic(frame, version)
    except Exception:
        return None
    if result is None:
        return None
    decoded, length_at = result   # length_at: where a one-partition request's records' length is, else 0
    if shape is not None and length_at:
        _learn(shape, frame, version, decoded, length_at)
    return decoded


def _learn(shape: Shape, frame: bytes, version: int, decoded: tuple, length_at: int) -> None:
    """Keep the shape of a one-partition request (records not null) decoded whole."""
    header, body = decoded
    topic = body["topic_data"][0]
    shape.version, shape.prefix, shape.length_at = version, frame[8:length_at], length_at
    shape.values = (header["client_id"], body["transactional_id"], body["acks"], body["timeout_ms"], topic["name"],
                    topic["partition_data"][0]["index"])


_IDS = struct.Struct(">hhi")   # api_key, api_version, correlation_id
_TAIL = b"\0\0\0"   # after the records of a one-partition flexible request: no tagged fields


def _decode_like(frame: bytes, version: int, shape: Shape):
    """A request whose bytes before its records' length are the shape's: its correlation id and
    records, if nothing but the tagged-field bytes follows them (else None: decoded whole)."""
    pos = shape.length_at
    if version >= FIRST_FLEXIBLE:
        n = frame[pos]
        if n < 0x80:
            pos += 1
        elif frame[pos + 1] < 0x80:     # a batch of 127 B to 16 KB
            n = (n & 0x7F) | frame[pos + 1] << 7
            pos += 2
        else:
            n, pos = read_uvarint_at(frame, pos)
        end = pos + n - 1
        if n == 0 or len(frame) != end + 3 or not frame.endswith(_TAIL):
            return None
    else:
        n = _unpack_i32(frame, pos)[0]
        pos += 4
        end = pos + n
        if n < 0 or len(frame) != end:
            return None
    api_key, api_version, correlation_id = _IDS.unpack_from(frame, 0)
    client_id, transactional_id, acks, timeout_ms, name, index = shape.values
    return ({"request_api_key": api_key, "request_api_version": api_version, "correlation_id": correlation_id,
             "client_id": client_id},
            {"transactional_id": transactional_id, "acks": acks, "timeout_ms": timeout_ms,
             "topic_data": [{"name": name, "partition_data": [
                 {"index": index, "records": memoryview(frame)[pos:end]}]}]})


def _decode_classic(buf: bytes, version: int):
    api_key, api_version, correlation_id, n = _HEADER.unpack_from(buf, 0)
    pos = 10
    if n < 0:
        client_id = None
    else:
        client_id = str(buf[pos:pos + n], "utf-8")
        pos += n
    n = _unpack_i16(buf, pos)[0]
    pos += 2
    if n < 0:
        transactional_id = None
    else:
        transactional_id = str(buf[pos:pos + n], "utf-8")
        pos += n
    acks, timeout_ms = _ACKS_TIMEOUT.unpack_from(buf, pos)
    pos += 6
    topics = []
    view = memoryview(buf)
    topic_count = _unpack_i32(buf, pos)[0]
    pos += 4
    if topic_count < 0 or topic_count > len(buf):
        return None
    for _ in range(topic_count):
        n = _unpack_i16(buf, pos)[0]
        if n < 0:
            return None
        name = str(buf[pos + 2:pos + 2 + n], "utf-8")
        pos += 2 + n
        count = _unpack_i32(buf, pos)[0]
        pos += 4
        if count < 0 or count > len(buf):
            return None
        partitions = []
        for _ in range(count):
            length_at = pos + 4
            index, n = _INDEX_SIZE.unpack_from(buf, pos)
            pos += 8
            if n < 0:
                records = None
            else:
                records = view[pos:pos + n]
                pos += n
            partitions.append({"index": index, "records": records})
        topics.append({"name": name, "partition_data": partitions})
    if pos > len(buf):
        return None
    one = topic_count == 1 and count == 1 and records is not None
    return ({"request_api_key": api_key, "request_api_version": api_version, "correlation_id": correlation_id,
             "client_id": client_id},
            {"transactional_id": transactional_id, "acks": acks, "timeout_ms": timeout_ms, "topic_data": topics}), \
        length_at if one else 0


_INDEX_SIZE = struct.Struct(">ii")


def _decode_flexible(buf: bytes, version: int):
    api_key, api_version, correlation_id, n = _HEADER.unpack_from(buf, 0)
    pos = 10
    if n < 0:
        client_id = None
    else:
        client_id = str(buf[pos:pos + n], "utf-8")
        pos += n
    if buf[pos]:
        return None     # header tagged fields
    pos += 1
    n = buf[pos]
    if n >= 0x80:
        return None
    pos += 1
    if n == 0:
        transactional_id = None
    else:
        transactional_id = str(buf[pos:pos + n - 1], "utf-8")
        pos += n - 1
    acks, timeout_ms = _ACKS_TIMEOUT.unpack_from(buf, pos)
    pos += 6
    topics = []
    view = memoryview(buf)
    topic_count = buf[pos]
    pos += 1
    if topic_count == 0 or topic_count >= 0x80:
        return None
    for _ in range(topic_count - 1):
        n = buf[pos]
        if n == 0 or n >= 0x80:
            return None
        name = str(buf[pos + 1:pos + n], "utf-8")
        pos += n
        count = buf[pos]
        pos += 1
        if count == 0 or count >= 0x80:
            return None
        partitions = []
        for _ in range(count - 1):
            index = _unpack_i32(buf, pos)[0]
            pos += 4
            length_at = pos
            n = buf[pos]
            if n < 0x80:
                pos += 1
            else:
                n, pos = read_uvarint_at(buf, pos)
            if n == 0:
                records = None
            else:
                records = view[pos:pos + n - 1]
                pos += n - 1
            if buf[pos]:
                return None     # partition tagged fields
            pos += 1
            partitions.append({"index": index, "records": records})
        if buf[pos]:
            return None         # topic tagged fields
        pos += 1
        topics.append({"name": name, "partition_data": partitions})
    if buf[pos]:
        return None             # body tagged fields
    pos += 1
    if pos > len(buf):
        return None
    one = topic_count == 2 and count == 2 and records is not None
    return ({"request_api_key": api_key, "request_api_version": api_version, "correlation_id": correlation_id,
             "client_id": client_id},
            {"transactional_id": transactional_id, "acks": acks, "timeout_ms": timeout_ms, "topic_data": topics}), \
        length_at if one else 0
