"""Kafka RecordBatch v2 (magic 2): header, batch iteration, record decoding and building.

The batch header's layout is defined once, here, and read by name in two ways:
- `BatchHeader`, a named tuple: `read_header(buffer).producer_id`. Everywhere but the loops below.
- the plain `HEADER.unpack_from(buffer, position)` tuple with the field indexes below:
  `header[PRODUCER_ID]`. The append path, recovery and producer-state replay use it: a
  BatchHeader there (one more object per batch, and an attribute costs more than an index)
  made an append about 10% more expensive.
A BatchHeader is a HEADER tuple, so the indexes, and helpers that take a header such as
`last_sequence_of`, work on both. The `*_POS` constants are the byte positions of the fields
in a batch, for reading or patching one field in place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Iterable, Iterator, NamedTuple

from .crc import crc32c

from .codecs import Compression, compress, decompress
from .errors import CorruptRecordError, UnsupportedMessageFormatError

# The header, big-endian, field by field; the CRC-32C covers attributes to the end of the batch,
# and records_count records follow it (compressed as a whole if a codec is set).
HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_BYTES = HEADER.size  # 61

# Index of each field in a HEADER tuple (and in a BatchHeader), and its byte position in a batch.
BASE_OFFSET, BASE_OFFSET_POS = 0, 0  # int64
BATCH_LENGTH, BATCH_LENGTH_POS = 1, 8  # int32: bytes after this field
PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_POS = 2, 12  # int32
MAGIC, MAGIC_POS = 3, 16  # int8
CRC, CRC_POS = 4, 17  # uint32
ATTRIBUTES, ATTRIBUTES_POS = 5, 21  # int16
LAST_OFFSET_DELTA, LAST_OFFSET_DELTA_POS = 6, 23  # int32
BASE_TIMESTAMP, BASE_TIMESTAMP_POS = 7, 27  # int64
MAX_TIMESTAMP, MAX_TIMESTAMP_POS = 8, 35  # int64
PRODUCER_ID, PRODUCER_ID_POS = 9, 43  # int64
PRODUCER_EPOCH, PRODUCER_EPOCH_POS = 10, 51  # int16
BASE_SEQUENCE, BASE_SEQUENCE_POS = 11, 53  # int32
RECORDS_COUNT, RECORDS_COUNT_POS = 12, 57  # int32
RECORDS_POS = HEADER_BYTES

LOG_OVERHEAD = BATCH_LENGTH_POS + 4  # base_offset + batch_length: what batch_length does not count
BATCH_LENGTH_MIN = HEADER_BYTES - LOG_OVERHEAD  # 49
# base_offset .. last_offset_delta, the first 27 bytes: enough to walk a log by offset
# (a HEADER_PREFIX tuple takes the same indexes as a HEADER tuple).
HEADER_PREFIX = struct.Struct(">qiibIhi")
# base_offset, batch_length, partition_leader_epoch: the front the CRC does not cover,
# which an append rewrites.
FRONT = struct.Struct(">qii")

CURRENT_MAGIC = 2
ATTR_COMPRESSION_MASK = 0x07
ATTR_TIMESTAMP_TYPE = 0x08
ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20
ATTR_DELETE_HORIZON = 0x40  # base_timestamp holds the delete horizon the cleaner set (KIP-534)

NO_SEQUENCE = -1
INT32_MAX = 2**31 - 1

_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_INT64 = struct.Struct(">q")
_BODY = struct.Struct(">hiqqqhii")  # attributes .. records_count
_FRONT_TO_CRC = struct.Struct(">qiibI")  # base_offset .. crc


class TimestampType(IntEnum):
    CREATE_TIME = 0
    LOG_APPEND_TIME = 1


class BatchHeader(NamedTuple):
    """A batch header by name; a HEADER tuple, so the field indexes read it too."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Bytes of the whole batch, header included."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> Compression:
        return Compression(self.attributes & ATTR_COMPRESSION_MASK)

    @property
    def timestamp_type(self) -> TimestampType:
        return TimestampType((self.attributes & ATTR_TIMESTAMP_TYPE) >> 3)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & ATTR_TRANSACTIONAL)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & ATTR_CONTROL)

    @property
    def last_sequence(self) -> int:
        return last_sequence_of(self)


@dataclass
class Record:
    """One record; offset and timestamp are absolute."""

    offset: int = 0
    timestamp: int = -1
    key: bytes | None = None
    value: bytes | None = None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


def increment_sequence(sequence: int, increment: int) -> int:
    """Kafka's sequence arithmetic: int32, wrapping from 2**31-1 to 0."""
    if sequence > INT32_MAX - increment:
        return increment - (INT32_MAX - sequence) - 1
    return sequence + increment


def last_sequence_of(header: tuple) -> int:
    """Sequence of the batch's last record (a HEADER tuple or BatchHeader); NO_SEQUENCE without one."""
    base_sequence = header[BASE_SEQUENCE]
    if base_sequence < 0:
        return NO_SEQUENCE
    return increment_sequence(base_sequence, header[LAST_OFFSET_DELTA])


def read_header(buffer: bytes | bytearray | memoryview, position: int = 0) -> BatchHeader:
    """The batch header at position (magic not checked)."""
    if len(buffer) - position < HEADER_BYTES:
        raise CorruptRecordError("truncated record batch header")
    return BatchHeader._make(HEADER.unpack_from(buffer, position))


def batch_crc(batch: bytes | bytearray | memoryview) -> int:
    """CRC-32C as stored in the batch: over attributes to the end."""
    return crc32c(memoryview(batch)[ATTRIBUTES_POS:])


def iter_batches(buffer: bytes | bytearray | memoryview) -> Iterator[memoryview]:
    """Yield each whole batch of buffer as a memoryview; CorruptRecordError on a partial one."""
    view = memoryview(buffer)
    position = 0
    end = len(view)
    while position < end:
        if end - position < LOG_OVERHEAD:
            raise CorruptRecordError("truncated record batch")
        (batch_length,) = _INT32.unpack_from(view, position + BATCH_LENGTH_POS)
        size = batch_length + LOG_OVERHEAD
        if batch_length < BATCH_LENGTH_MIN or position + size > end:
            raise CorruptRecordError("truncated record batch")
        yield view[position : position + size]
        position += size


def iter_headers(buffer: bytes | bytearray | memoryview) -> Iterator[BatchHeader]:
    for batch in iter_batches(buffer):
        yield read_header(batch)


# ---------------------------------------------------------------- decoding


def decode_records(batch: bytes | bytearray | memoryview, *, verify_crc: bool = False) -> list[Record]:
    """All records of one batch, decompressed; CorruptRecordError on malformed bytes."""
    view = memoryview(batch)
    header = read_header(view)
    if header.magic != CURRENT_MAGIC:
        raise UnsupportedMessageFormatError(f"magic {header.magic}")
    if header.size > len(view):
        raise CorruptRecordError("truncated record batch")
    if verify_crc and crc32c(view[ATTRIBUTES_POS : header.size]) != header.crc:
        raise CorruptRecordError("record batch CRC mismatch")
    data = view[HEADER_BYTES : header.size]
    if header.attributes & ATTR_COMPRESSION_MASK:
        data = decompress(header.attributes & ATTR_COMPRESSION_MASK, data)
    log_append_time = header.attributes & ATTR_TIMESTAMP_TYPE
    try:
        return _decode_records(bytes(data), header, log_append_time)
    except (IndexError, UnicodeDecodeError, ValueError) as exc:
        raise CorruptRecordError(f"malformed record: {exc}") from exc


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    """Zigzag varint/varlong (up to 10 bytes) at position; returns (value, next position)."""
    result = 0
    shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), position
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _read_bytes(data: bytes, position: int) -> tuple[bytes | None, int]:
    length, position = _read_varint(data, position)
    if length < 0:
        return None, position
    end = position + length
    if end > len(data):
        raise ValueError("field runs past the end of the records")
    return data[position:end], end


def _decode_records(data: bytes, header: BatchHeader, log_append_time: int) -> list[Record]:
    records = []
    position = 0
    for _ in range(header.records_count):
        length, position = _read_varint(data, position)
        end = position + length
        if length < 0 or end > len(data):
            raise ValueError("record length runs past the end of the records")
        position += 1  # attributes, unused
        timestamp_delta, position = _read_varint(data, position)
        offset_delta, position = _read_varint(data, position)
        key, position = _read_bytes(data, position)
        value, position = _read_bytes(data, position)
        header_count, position = _read_varint(data, position)
        headers = []
        for _ in range(header_count):
            header_key, position = _read_bytes(data, position)
            if header_key is None:
                raise ValueError("null header key")
            header_value, position = _read_bytes(data, position)
            headers.append((header_key.decode("utf-8"), header_value))
        if position != end:
            raise ValueError("record length does not match its fields")
        timestamp = header.max_timestamp if log_append_time else header.base_timestamp + timestamp_delta
        records.append(Record(header.base_offset + offset_delta, timestamp, key, value, headers))
    if position != len(data):
        raise ValueError("bytes left after the last record")
    return records


def newest_by_key(batch: bytes | bytearray | memoryview, newest: dict, start_offset: int = 0) -> None:
    """Record into newest, key -> (offset, value or None), each keyed record of one batch at or
    after start_offset, later ones replacing earlier ones: what a reader of a compacted topic
    keeps. Control batches are skipped; the records are walked without building Records (the
    replay of a large compacted log, such as __consumer_offsets at start, is mostly this walk).
    CorruptRecordError on malformed records."""
    header = HEADER.unpack_from(batch, 0)
    if header[ATTRIBUTES] & ATTR_CONTROL or header[BASE_OFFSET] + header[LAST_OFFSET_DELTA] < start_offset:
        return
    data = memoryview(batch)[HEADER_BYTES : header[BATCH_LENGTH] + LOG_OVERHEAD]
    codec = header[ATTRIBUTES] & ATTR_COMPRESSION_MASK
    data = decompress(codec, data) if codec else bytes(data)
    base_offset = header[BASE_OFFSET]
    position = 0
    try:
        for _ in range(header[RECORDS_COUNT]):  # one-byte varints read inline: most are
            byte = data[position]
            if byte < 0x80:
                length, position = (byte >> 1) ^ -(byte & 1), position + 1
            else:
                length, position = _read_varint(data, position)
            end = position + length
            at = position + 1  # attributes
            while data[at] >= 0x80:  # timestamp delta
                at += 1
            byte = data[at + 1]
            if byte < 0x80:
                offset_delta, at = (byte >> 1) ^ -(byte & 1), at + 2
            else:
                offset_delta, at = _read_varint(data, at + 1)
            byte = data[at]
            if byte < 0x80:
                key_length, at = (byte >> 1) ^ -(byte & 1), at + 1
            else:
                key_length, at = _read_varint(data, at)
            position = end
            if key_length < 0 or base_offset + offset_delta < start_offset:
                continue
            key = data[at : at + key_length]
            at += key_length
            byte = data[at]
            if byte < 0x80:
                value_length, at = (byte >> 1) ^ -(byte & 1), at + 1
            else:
                value_length, at = _read_varint(data, at)
            newest[key] = (base_offset + offset_delta, data[at : at + value_length] if value_length >= 0 else None)
    except (IndexError, ValueError) as exc:
        raise CorruptRecordError(f"malformed record in the batch at offset {base_offset}: {exc}") from exc


# ---------------------------------------------------------------- building


def _write_varint(out: bytearray, value: int) -> None:
    value = (value << 1) ^ (value >> 63)
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _write_bytes(out: bytearray, value: bytes | None) -> None:
    if value is None:
        _write_varint(out, -1)
    else:
        _write_varint(out, len(value))
        out += value


def _encode_record(out: bytearray, record: Record, offset_delta: int, base_timestamp: int) -> None:
    body = bytearray(b"\x00")  # attributes
    _write_varint(body, record.timestamp - base_timestamp)
    _write_varint(body, offset_delta)
    _write_bytes(body, record.key)
    _write_bytes(body, record.value)
    _write_varint(body, len(record.headers))
    for header_key, header_value in record.headers:
        _write_bytes(body, header_key.encode("utf-8"))
        _write_bytes(body, header_value)
    _write_varint(out, len(body))
    out += body


def build_batch(
    records: Iterable[Record | bytes],
    *,
    base_offset: int = 0,
    compression: int = Compression.NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = NO_SEQUENCE,
    timestamp_type: int = TimestampType.CREATE_TIME,
    is_transactional: bool = False,
    is_control: bool = False,
    partition_leader_epoch: int = -1,
    snappy_xerial: bool = True,
) -> bytes:
    """A valid v2 batch of records (bytes are taken as values); offsets are base_offset + index."""
    items = [r if isinstance(r, Record) else Record(value=bytes(r)) for r in records]
    if not items:
        raise ValueError("a record batch needs at least one record")
    base_timestamp = items[0].timestamp
    max_timestamp = max(r.timestamp for r in items)
    data = bytearray()
    for index, record in enumerate(items):
        _encode_record(data, record, index, base_timestamp)
    if compression != Compression.NONE:
        data = compress(compression, bytes(data), snappy_xerial=snappy_xerial)
    attributes = (
        int(compression)
        | (ATTR_TIMESTAMP_TYPE if timestamp_type == TimestampType.LOG_APPEND_TIME else 0)
        | (ATTR_TRANSACTIONAL if is_transactional else 0)
        | (ATTR_CONTROL if is_control else 0)
    )
    body = _BODY.pack(
        attributes,
        len(items) - 1,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        len(items),
    ) + bytes(data)
    front = _FRONT_TO_CRC.pack(base_offset, len(body) + 9, partition_leader_epoch, CURRENT_MAGIC, crc32c(body))
    return front + body


def set_log_append_time(batch: bytearray, now_ms: int) -> None:
    """Mark a batch LogAppendTime with max_timestamp now_ms, and recompute its CRC."""
    (attributes,) = _INT16.unpack_from(batch, ATTRIBUTES_POS)
    _INT16.pack_into(batch, ATTRIBUTES_POS, attributes | ATTR_TIMESTAMP_TYPE)
    _INT64.pack_into(batch, MAX_TIMESTAMP_POS, now_ms)
    _UINT32.pack_into(batch, CRC_POS, crc32c(memoryview(batch)[ATTRIBUTES_POS:]))
