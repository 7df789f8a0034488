"""The cleaner's work inside one batch (storage/cleaner.py does the rest): reading records'
keys and offsets without decoding them whole, choosing the records that stay, and writing a
batch again with only those.

Records are Kafka's v2 records: a varint length, attributes, a varint timestamp delta, a varint
offset delta, a varint key length and the key, then the value and headers. The two hot loops of
a round (mapping keys, filtering records) read one- and two-byte varints inline; each has a
variant for the common batch, as produced, whose record i sits at base_offset + i, so its
offset deltas need no reading.
"""

from __future__ import annotations

import struct

from .codecs import compress, decompress
from .crc import crc32c
from .errors import CorruptRecordError
from .records import (
    ATTR_COMPRESSION_MASK,
    ATTR_CONTROL,
    ATTR_TIMESTAMP_TYPE,
    ATTR_TRANSACTIONAL,
    ATTRIBUTES,
    BASE_OFFSET,
    BASE_SEQUENCE,
    BASE_TIMESTAMP,
    HEADER_BYTES,
    LAST_OFFSET_DELTA,
    MAX_TIMESTAMP,
    PARTITION_LEADER_EPOCH,
    PRODUCER_EPOCH,
    PRODUCER_ID,
)

ATTR_DELETE_HORIZON = 0x40  # base_timestamp holds the delete horizon (KIP-534)

_BODY = struct.Struct(">hiqqqhii")  # attributes .. records_count
_FRONT = struct.Struct(">qiib")  # base_offset, batch_length, partition_leader_epoch, magic
_CRC = struct.Struct(">I")


def records_of(header: tuple, batch: bytes) -> bytes:
    """The records section of a batch, decompressed."""
    codec = header[ATTRIBUTES] & ATTR_COMPRESSION_MASK
    if codec:
        return decompress(codec, memoryview(batch)[HEADER_BYTES:])
    return batch[HEADER_BYTES:]


def varint(data: bytes, p: int) -> tuple[int, int]:
    """A zigzag varint (up to 10 bytes) at p: (value, position after it)."""
    result = 0
    shift = 0
    while True:
        byte = data[p]
        p += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), p
        shift += 7
        if shift > 63:
            raise CorruptRecordError("varint longer than 10 bytes")


def write_varint(out: bytearray, value: int) -> None:
    value = (value << 1) ^ (value >> 63)
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def map_dense_records(data: bytes, count: int, base_offset: int, offset_map: dict) -> None:
    """map_records for the common batch: as produced (record i at base_offset + i, so offset
    deltas need no reading), all at or after the dirty start, and room in the map for all."""
    p = 0
    try:
        for offset in range(base_offset, base_offset + count):
            b = data[p]
            if b < 0x80:
                length = (b >> 1) ^ -(b & 1)
                p += 1
            else:
                c = data[p + 1]
                if c < 0x80:
                    raw = (b & 0x7F) | (c << 7)
                    length = (raw >> 1) ^ -(raw & 1)
                    p += 2
                else:
                    length, p = varint(data, p)
            end = p + length
            p += 1  # attributes
            while data[p] & 0x80:  # timestamp delta
                p += 1
            p += 1
            while data[p] & 0x80:  # offset delta
                p += 1
            b = data[p + 1]
            if b < 0x80:
                if not b & 1:  # a key (an odd zigzag is negative: -1, none)
                    offset_map[data[p + 2 : p + 2 + (b >> 1)]] = offset
            else:
                key_length, q = varint(data, p + 1)
                if key_length >= 0:
                    offset_map[data[q : q + key_length]] = offset
            p = end
    except IndexError:
        raise CorruptRecordError(f"malformed record in the batch at offset {base_offset}") from None


def map_records(data: bytes, count: int, base_offset: int, start: int, offset_map: dict, limit: int) -> bool:
    """Put the keyed records of one batch at or after start in the map; True once it is full
    (a new key finds no room: Kafka also stops at a key it holds already; this one updates it).

    The hot loop of a round: varints of one and two bytes are read inline, the timestamp
    delta is skipped unread.
    """
    p = 0
    try:
        for _ in range(count):
            b = data[p]
            if b < 0x80:
                length = (b >> 1) ^ -(b & 1)
                p += 1
            else:
                c = data[p + 1]
                if c < 0x80:
                    raw = (b & 0x7F) | (c << 7)
                    length = (raw >> 1) ^ -(raw & 1)
                    p += 2
                else:
                    length, p = varint(data, p)
            end = p + length
            p += 1  # attributes
            while data[p] & 0x80:  # timestamp delta
                p += 1
            p += 1
            b = data[p]
            if b < 0x80:
                delta = (b >> 1) ^ -(b & 1)
                p += 1
            else:
                c = data[p + 1]
                if c < 0x80:
                    raw = (b & 0x7F) | (c << 7)
                    delta = (raw >> 1) ^ -(raw & 1)
                    p += 2
                else:
                    delta, p = varint(data, p)
            b = data[p]
            if b < 0x80:
                key_length = (b >> 1) ^ -(b & 1)
                p += 1
            else:
                key_length, p = varint(data, p)
            if key_length >= 0 and base_offset + delta >= start:
                key = data[p : p + key_length]
                if len(offset_map) >= limit and key not in offset_map:
                    return True
                offset_map[key] = base_offset + delta
            p = end
    except IndexError:
        raise CorruptRecordError(f"malformed record in the batch at offset {base_offset}") from None
    return False


def filter_records(data: bytes, count: int, base_offset: int, offset_map: dict, latest_offset: int,
                    retain_deletes: bool) -> tuple[list, bool]:
    """The records of one batch that stay: ([(start, end, timestamp delta start)] byte ranges
    with their length prefix, whether a tombstone is among them).

    The other hot loop: varints of one and two bytes inline, as in map_records.
    """
    kept = []
    tombstones = False
    get = offset_map.get
    p = 0
    try:
        for _ in range(count):
            start = p
            b = data[p]
            if b < 0x80:
                length = (b >> 1) ^ -(b & 1)
                p += 1
            else:
                c = data[p + 1]
                if c < 0x80:
                    raw = (b & 0x7F) | (c << 7)
                    length = (raw >> 1) ^ -(raw & 1)
                    p += 2
                else:
                    length, p = varint(data, p)
            end = p + length
            p += 1  # attributes
            ts_start = p
            while data[p] & 0x80:  # timestamp delta
                p += 1
            p += 1
            b = data[p]
            if b < 0x80:
                offset = base_offset + ((b >> 1) ^ -(b & 1))
                p += 1
            else:
                c = data[p + 1]
                if c < 0x80:
                    raw = (b & 0x7F) | (c << 7)
                    offset = base_offset + ((raw >> 1) ^ -(raw & 1))
                    p += 2
                else:
                    delta, p = varint(data, p)
                    offset = base_offset + delta
            b = data[p]
            if b < 0x80:
                key_length = (b >> 1) ^ -(b & 1)
                p += 1
            else:
                key_length, p = varint(data, p)
            if key_length < 0:
                if offset <= latest_offset:
                    p = end
                    continue  # no key: it goes (Kafka counts it invalid)
                tombstone = data[p] == 1
            else:
                tombstone = data[p + key_length] == 1  # value length -1
                if offset <= latest_offset and (
                    offset < get(data[p : p + key_length], -1) or (tombstone and not retain_deletes)
                ):
                    p = end
                    continue
            kept.append((start, end, ts_start))
            if tombstone:
                tombstones = True
            p = end
    except IndexError:
        raise CorruptRecordError(f"malformed record in the batch at offset {base_offset}") from None
    return kept, tombstones


def filter_dense_records(data: bytes, count: int, base_offset: int, offset_map: dict,
                          retain_deletes: bool) -> tuple[list, bool]:
    """filter_records for the common batch: as produced (record i at base_offset + i, so
    offset deltas need no reading) and wholly within the map."""
    kept = []
    tombstones = False
    get = offset_map.get
    p = 0
    try:
        for offset in range(base_offset, base_offset + count):
            start = p
            b = data[p]
            if b < 0x80:
                length = (b >> 1) ^ -(b & 1)
                p += 1
            else:
                c = data[p + 1]
                if c < 0x80:
                    raw = (b & 0x7F) | (c << 7)
                    length = (raw >> 1) ^ -(raw & 1)
                    p += 2
                else:
                    length, p = varint(data, p)
            end = p + length
            ts_start = p + 1  # after the attributes
            p = ts_start
            while data[p] & 0x80:  # timestamp delta
                p += 1
            p += 1
            while data[p] & 0x80:  # offset delta
                p += 1
            b = data[p + 1]
            if b < 0x80:
                if b & 1:
                    p = end
                    continue  # no key: it goes (Kafka counts it invalid)
                key_start = p + 2
                key_end = key_start + (b >> 1)
            else:
                key_length, key_start = varint(data, p + 1)
                if key_length < 0:
                    p = end
                    continue
                key_end = key_start + key_length
            tombstone = data[key_end] == 1  # value length -1
            if offset < get(data[key_start:key_end], -1) or (tombstone and not retain_deletes):
                p = end
                continue
            kept.append((start, end, ts_start))
            if tombstone:
                tombstones = True
            p = end
    except IndexError:
        raise CorruptRecordError(f"malformed record in the batch at offset {base_offset}") from None
    return kept, tombstones


def kept_max_timestamp(data: bytes, kept: list, base_timestamp: int) -> int:
    """The largest timestamp of the kept records (CreateTime)."""
    return base_timestamp + max(varint(data, ts_start)[0] for _, _, ts_start in kept)


def all_records(data: bytes, count: int) -> list:
    """The byte ranges of every record, as filter_records gives the kept ones."""
    ranges = []
    p = 0
    for _ in range(count):
        length, body = varint(data, p)
        ranges.append((p, body + length, body + 1))
        p = body + length
    return ranges


def rebuild(header: tuple, data: bytes, kept: list, horizon: int | None, max_timestamp: int) -> bytes:
    """The batch again with only the kept records, in its own codec; base offset, last offset
    delta, producer id, epoch and base sequence as they were; base_timestamp = the delete
    horizon if there is one (attribute bit 0x40), else as it was."""
    attributes = header[ATTRIBUTES] & ~ATTR_DELETE_HORIZON
    base_timestamp = header[BASE_TIMESTAMP]
    if horizon is not None:
        attributes |= ATTR_DELETE_HORIZON
    if horizon is None or horizon == base_timestamp:
        records = b"".join(data[start:end] for start, end, _ in kept)
    else:
        out = bytearray()
        for start, end, ts_start in kept:
            ts_delta, after_ts = varint(data, ts_start)
            body = bytearray(data[ts_start - 1 : ts_start])  # attributes
            write_varint(body, base_timestamp + ts_delta - horizon)
            body += data[after_ts:end]
            write_varint(out, len(body))
            out += body
        records = bytes(out)
        base_timestamp = horizon
    codec = attributes & ATTR_COMPRESSION_MASK
    if codec:
        records = compress(codec, records)
    if attributes & ATTR_TIMESTAMP_TYPE:
        max_timestamp = header[MAX_TIMESTAMP]
    body = _BODY.pack(
        attributes,
        header[LAST_OFFSET_DELTA],
        base_timestamp,
        max_timestamp,
        header[PRODUCER_ID],
        header[PRODUCER_EPOCH],
        header[BASE_SEQUENCE],
        len(kept),
    ) + records
    front = _FRONT.pack(header[BASE_OFFSET], len(body) + 9, header[PARTITION_LEADER_EPOCH], 2)
    return front + _CRC.pack(crc32c(body)) + body


def empty_batch(header: tuple) -> bytes:
    """Kafka's writeEmptyHeader: the batch's header without records (codec none, base
    timestamp -1, max timestamp kept), for a batch that must stay for its offsets or producer."""
    attributes = header[ATTRIBUTES] & (ATTR_TIMESTAMP_TYPE | ATTR_TRANSACTIONAL | ATTR_CONTROL)
    body = _BODY.pack(
        attributes,
        header[LAST_OFFSET_DELTA],
        -1,
        header[MAX_TIMESTAMP],
        header[PRODUCER_ID],
        header[PRODUCER_EPOCH],
        header[BASE_SEQUENCE],
        0,
    )
    front = _FRONT.pack(header[BASE_OFFSET], len(body) + 9, header[PARTITION_LEADER_EPOCH], 2)
    return front + _CRC.pack(crc32c(body)) + body
