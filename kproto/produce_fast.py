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


def decode_request(frame, version: int) -> tuple[dict, dict] | None:
    """(header, body) of a Produce v3+ request frame, as the declarative decoder gives them, or
    None for anything but the plain shape (then the declarative decoder decides, errors
    included): a tagged field, a null or negative count, a long count or transactional id
    (a varint of more than one byte), a string that is not UTF-8, a frame cut short.

    Records are views of the frame's bytes; a ``bytearray`` frame (a large one, received in
    place) is copied to bytes first, as the declarative decoder's reader copies it."""
    if not FIRST_TRANSACTIONAL <= version <= PRODUCE.versions.high:
        return None
    if type(frame) is not bytes:
        if type(frame) is not bytearray:
            return None
        frame = bytes(frame)
    try:
        if version >= FIRST_FLEXIBLE:
            return _decode_flexible(frame, version)
        return _decode_classic(frame, version)
    except Exception:
        return None


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
    return ({"request_api_key": api_key, "request_api_version": api_version, "correlation_id": correlation_id,
             "client_id": client_id},
            {"transactional_id": transactional_id, "acks": acks, "timeout_ms": timeout_ms, "topic_data": topics})


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
    return ({"request_api_key": api_key, "request_api_version": api_version, "correlation_id": correlation_id,
             "client_id": client_id},
            {"transactional_id": transactional_id, "acks": acks, "timeout_ms": timeout_ms, "topic_data": topics})
