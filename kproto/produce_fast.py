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

from kproto._wire import encode_uvarint as write_uvarint
from kproto.messages import PRODUCE

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


def encode_success_body(version: int, topics: list) -> bytes | None:
    """The body of a Produce response whose every partition succeeded, or None if ``version``
    is not one this covers.

    ``topics``: [(name, [(index, base_offset, log_append_time_ms, log_start_offset), ...]), ...];
    throttle_time_ms is 0.
    """
    entry = _ENTRY.get(version)
    if entry is None:
        return None
    pack = entry.pack
    tail = _ENTRY_TAIL[version]
    topic_tail = b"\0" if version >= FIRST_FLEXIBLE else b""
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
    if version >= 1:
        append(b"\0\0\0\0")     # throttle_time_ms
    if version >= FIRST_FLEXIBLE:
        append(b"\0")           # no tagged fields (node_endpoints is one only when leaders are hinted)
    return b"".join(parts)
