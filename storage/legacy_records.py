"""Message sets of magic 0 and 1 (Kafka's message formats before RecordBatch v2), read and written.

Before Kafka 0.11, records travelled as a *message set*: entries of `offset int64,
message_size int32, message`, where a message is `crc uint32, magic int8, attributes int8,
[timestamp int64: v1 only], key bytes, value bytes` (bytes: an int32 length, -1 for null).
The crc is the CRC-32 (IEEE, not CRC-32C) of the message from magic to its end. Attributes
bits 0-2 name a codec; in v1, bit 3 says LogAppendTime. A compressed message (a *wrapper*)
has a null key and, as its value, a whole inner message set compressed with that codec;
its offset is the offset of the last inner message. Inner offsets are absolute in v0 and
relative (0, 1, ...) in v1.

The log holds RecordBatch v2 only, so the old protocol versions convert, and decode records
to do so (old clients' paths, never the v2 one):
- `to_record_batch`: Produce v0-2. Checks a message set as Kafka 3.9 does (CRC-32 of every
  message, wrappers, inner messages) and returns one v2 batch of its records, which the log
  appends as it appends any batch (offsets assigned per record).
- `down_convert`: Fetch v0-3. Stored v2 batches as v0 or v1 message-set entries, as Kafka's
  down-conversion makes them: control batches left out, headers dropped, a compressed batch
  one wrapper of all its records, an uncompressed batch one message per record (those below
  the fetch offset left out).
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterator, NamedTuple

from .codecs import Compression, compress, decompress
from .crc import crc32c
from .errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    RecordTooLargeError,
    UnsupportedCompressionTypeError,
)
from .lz4_framing import compress_kafka_frame, decompress_frame
from .records import (
    ATTR_COMPRESSION_MASK,
    ATTR_CONTROL,
    ATTR_TIMESTAMP_TYPE,
    ATTRIBUTES_POS,
    BATCH_LENGTH_POS,
    CRC_POS,
    LOG_OVERHEAD,
    RECORDS_POS,
    BatchHeader,
    Record,
    _read_varint,
    build_batch,
    iter_batches,
    read_header,
)

MAGIC_V0 = 0
MAGIC_V1 = 1
MAGIC_POS = 16                  # of a message-set entry, as of a v2 batch
ATTR_LOG_APPEND_TIME = 0x08     # v1 attributes bit 3
RECORD_OVERHEAD_V0 = 14         # crc, magic, attributes, key length, value length
RECORD_OVERHEAD_V1 = 22         # and the timestamp
NO_TIMESTAMP = -1

_ENTRY = struct.Struct(">qi")           # offset, message_size
_HEAD = struct.Struct(">Ibb")           # crc, magic, attributes
_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")
_UINT32 = struct.Struct(">I")
_V0_KEY = struct.Struct(">bbi")         # magic, attributes, key length
_V1_KEY = struct.Struct(">bbqi")        # magic, attributes, timestamp, key length
_LEGACY_CODECS = (Compression.GZIP, Compression.SNAPPY, Compression.LZ4)


class Message(NamedTuple):
    """One message of a message set; timestamp -1 in v0."""

    offset: int
    magic: int
    attributes: int
    timestamp: int
    key: bytes | None
    value: bytes | None

    @property
    def codec(self) -> int:
        return self.attributes & ATTR_COMPRESSION_MASK

    @property
    def log_append_time(self) -> bool:
        return self.magic > MAGIC_V0 and bool(self.attributes & ATTR_LOG_APPEND_TIME)


# ---------------------------------------------------------------- reading


def entries(data: bytes | bytearray | memoryview) -> list[tuple[int, int, int]]:
    """(start, end, magic) of each whole entry of a message set (or of v2 batches).

    A partial entry at the end is left out, as Kafka trims a produced message set to its
    whole entries. CorruptRecordError for an entry shorter than a v0 message or with a
    magic other than 0, 1 or 2.
    """
    view = memoryview(data)
    total = len(view)
    found = []
    position = 0
    while total - position >= LOG_OVERHEAD:
        _, size = _ENTRY.unpack_from(view, position)
        if size < RECORD_OVERHEAD_V0:
            raise CorruptRecordError(
                f"Record size {size} is less than the minimum record overhead ({RECORD_OVERHEAD_V0})")
        if total - position <= MAGIC_POS:
            break
        magic = view[position + MAGIC_POS]
        if magic > 2:   # an int8: 128-255 are negative
            raise CorruptRecordError(f"Invalid magic found in record: {magic - 256 if magic > 127 else magic}")
        end = position + LOG_OVERHEAD + size
        if end > total:
            break
        found.append((position, end, magic))
        position = end
    return found


def read_message(data: bytes | memoryview, start: int, end: int) -> Message:
    """The v0/v1 message of the entry at data[start:end], its CRC-32 checked (CorruptRecordError)."""
    view = memoryview(data)
    (offset,) = _INT64.unpack_from(view, start)
    body = start + LOG_OVERHEAD
    crc, magic, attributes = _HEAD.unpack_from(view, body)
    overhead = RECORD_OVERHEAD_V1 if magic == MAGIC_V1 else RECORD_OVERHEAD_V0
    if end - body < overhead:
        raise CorruptRecordError(f"Record is corrupt (size {end - body} is below the overhead {overhead})")
    computed = zlib.crc32(view[body + 4:end])
    if computed != crc:
        raise CorruptRecordError(f"Record is corrupt (stored crc = {crc}, computed crc = {computed})")
    position = body + 6
    timestamp = NO_TIMESTAMP
    if magic == MAGIC_V1:
        (timestamp,) = _INT64.unpack_from(view, position)
        position += 8
    key, position = _read_bytes(view, position, end)
    value, position = _read_bytes(view, position, end)
    return Message(offset, magic, attributes, timestamp, key, value)


def _read_bytes(view: memoryview, position: int, end: int) -> tuple[bytes | None, int]:
    if position + 4 > end:
        raise CorruptRecordError("Record is corrupt (a length runs past the end of the message)")
    (length,) = _INT32.unpack_from(view, position)
    position += 4
    if length < 0:
        return None, position
    if position + length > end:
        raise CorruptRecordError("Record is corrupt (a key or value runs past the end of the message)")
    return bytes(view[position:position + length]), position + length


def _inflate(wrapper: Message) -> bytes:
    """The inner message set of a wrapper."""
    value = wrapper.value
    if wrapper.codec == Compression.LZ4:
        return decompress_frame(value, ignore_header_checksum=wrapper.magic == MAGIC_V0)
    return decompress(wrapper.codec, value)


def inner_messages(wrapper: Message) -> list[Message]:
    """The inner messages of a wrapper, with absolute offsets, CRCs checked; Kafka 3.9's checks.

    Inner messages of a LogAppendTime v1 wrapper take its timestamp. InvalidRecordError:
    zstd or an unknown codec, a null value, no inner message, a v1 wrapper offset below the
    last inner offset (but not 0), an inner message compressed or of another magic.
    """
    codec = wrapper.codec
    if codec == Compression.ZSTD:
        raise InvalidRecordError(
            f"Invalid wrapper compressionType found in legacy deep record iterator {wrapper.magic}")
    if codec not in _LEGACY_CODECS:
        raise InvalidRecordError(f"Unknown compression type id: {codec}")
    if wrapper.value is None:
        raise InvalidRecordError(f"Found invalid compressed record set with null value (magic = {wrapper.magic})")
    inner = _inflate(wrapper)
    view = memoryview(inner)
    found = entries(view)
    if not found:
        raise InvalidRecordError("Found invalid compressed record set with no inner records")
    messages = []
    for start, end, _ in found:
        attributes = view[start + MAGIC_POS + 1]
        if attributes & ATTR_COMPRESSION_MASK:
            raise InvalidRecordError("Compressed outer record should not have an inner record with a compression "
                                     "attribute set")
        magic = view[start + MAGIC_POS]
        if magic != wrapper.magic:
            raise InvalidRecordError(f"Record's magic {magic} does not match outer magic {wrapper.magic}")
        message = read_message(view, start, end)
        if wrapper.log_append_time:
            message = message._replace(timestamp=wrapper.timestamp)
        messages.append(message)
    if wrapper.magic == MAGIC_V1:
        last_inner = messages[-1].offset
        if wrapper.offset == 0:      # some librdkafka versions leave the wrapper offset at 0
            base = 0
        elif wrapper.offset < last_inner:
            raise InvalidRecordError(f"Found invalid wrapper offset in compressed v1 message set, wrapper offset "
                                     f"'{wrapper.offset}' is less than the last inner message offset '{last_inner}' "
                                     f"and it is not zero.")
        else:
            base = wrapper.offset - last_inner
        messages = [m._replace(offset=base + m.offset) for m in messages]
    return messages


# ---------------------------------------------------------------- Produce v0-2


def to_record_batch(data: bytes | bytearray | memoryview, *, max_message_bytes: int,
                    log_append_time: bool = False, compacted: bool = False) -> bytes | memoryview | None:
    """The one v2 batch to append for a partition's records of Produce v0-2; None if they hold
    no whole entry (Kafka appends nothing and answers without an error).

    Produce v0-2 may carry message sets of magic 0 or 1, or a v2 batch, which comes back as
    it is (checked by the append). A message set is checked as Kafka 3.9 checks it, in its
    order: each message's size (RecordTooLargeError) and CRC-32 (CorruptRecordError); one
    magic throughout and one wrapper at most (InvalidRecordError); then each record: inner
    messages as `inner_messages` says, a key on a compacted topic (InvalidRecordError), and
    no LogAppendTime from the producer where Kafka refuses it (InvalidTimestampError).
    The batch is compressed as the message set was (compression.type=producer).
    """
    view = memoryview(data)
    found = entries(view)
    if not found:
        return None
    first_magic = found[0][2]
    for _, _, magic in found:
        if magic != first_magic:
            raise InvalidRecordError(f"Batch magic {magic} is not the same as the first batch's magic byte "
                                     f"{first_magic}")
    if first_magic > MAGIC_V1:
        if len(found) > 1:
            raise InvalidRecordError("Compressed outer record has more than one batch")
        start, end, _ = found[0]
        return view[start:end]
    messages = []
    for start, end, _ in found:
        if end - start > max_message_bytes:
            raise RecordTooLargeError(f"The message is {end - start} bytes, larger than max.message.bytes "
                                      f"{max_message_bytes}")
        messages.append(read_message(view, start, end))
    codec = Compression.NONE
    for message in messages:
        if message.codec:
            codec = message.codec
    if codec != Compression.NONE:
        if len(messages) > 1:
            raise InvalidRecordError("Compressed outer record has more than one batch")
        [wrapper] = messages
        records = [_checked(m, wrapper, log_append_time, compacted) for m in inner_messages(wrapper)]
    else:
        records = [_checked(m, m, log_append_time, compacted) for m in messages]
    return _v2_batch(records, codec)


def _checked(message: Message, batch: Message, log_append_time: bool, compacted: bool) -> Record:
    """A message as a v2 record, after Kafka's checks of its key and timestamp."""
    if compacted and message.key is None:
        raise InvalidRecordError("Compacted topic cannot accept message without key")
    # Kafka checks the range of CreateTime timestamps here (message.timestamp.*.max.ms, not
    # acted on by this log), and refuses LogAppendTime from a producer where it would be used.
    if (log_append_time or message.timestamp == NO_TIMESTAMP) and batch.log_append_time:
        raise InvalidTimestampError("Invalid timestamp type in message. Producer should not set timestamp "
                                    "type to LogAppendTime.")
    return Record(timestamp=message.timestamp, key=message.key, value=message.value)


def _v2_batch(records: list[Record], codec: int) -> bytes:
    """A v2 batch of records (offsets 0, 1, ...), compressed with codec; lz4 in Kafka's frame."""
    plain = build_batch(records)
    if codec == Compression.NONE:
        return plain
    body = plain[RECORDS_POS:]
    packed = compress_kafka_frame(body) if codec == Compression.LZ4 else compress(codec, body)
    batch = bytearray(plain[:RECORDS_POS])
    batch += packed
    _INT32.pack_into(batch, BATCH_LENGTH_POS, len(batch) - LOG_OVERHEAD)
    batch[ATTRIBUTES_POS + 1] |= codec
    _UINT32.pack_into(batch, CRC_POS, crc32c(memoryview(batch)[ATTRIBUTES_POS:]))
    return bytes(batch)


# ---------------------------------------------------------------- writing


def encode_message(offset: int, magic: int, attributes: int, timestamp: int, key: bytes | None,
                   value: bytes | None) -> bytes:
    """One message-set entry (offset, size, message) of magic 0 or 1."""
    if magic == MAGIC_V0:
        head = _V0_KEY.pack(magic, attributes, -1 if key is None else len(key))
    else:
        head = _V1_KEY.pack(magic, attributes, timestamp, -1 if key is None else len(key))
    body = b"".join((head, key or b"", _INT32.pack(-1 if value is None else len(value)), value or b""))
    return b"".join((_ENTRY.pack(offset, len(body) + 4), _UINT32.pack(zlib.crc32(body)), body))


def encode_wrapper(records: list[tuple[int, int, bytes | None, bytes | None]], magic: int, codec: int, *,
                   log_append_time_ms: int = NO_TIMESTAMP) -> bytes:
    """One compressed message of records, (offset, timestamp, key, value) with absolute
    offsets (at least one), as Kafka writes it.

    The inner set holds absolute offsets in v0 and offsets relative to the first record in
    v1; the wrapper has the last offset, a null key, and in v1 the largest timestamp (or the
    log append time, flagged in its attributes and its inner messages' attributes). lz4 is
    written in Kafka's frame, with the header checksum of its v0 quirk for magic 0.
    """
    if codec not in _LEGACY_CODECS:
        raise UnsupportedCompressionTypeError(f"message format v{magic} cannot carry codec {codec}")
    flags = ATTR_LOG_APPEND_TIME if magic == MAGIC_V1 and log_append_time_ms != NO_TIMESTAMP else 0
    base = records[0][0] if magic == MAGIC_V1 else 0
    inner = b"".join(encode_message(offset - base, magic, flags, log_append_time_ms if flags else timestamp, key,
                                    value) for offset, timestamp, key, value in records)
    if codec == Compression.LZ4:
        packed = compress_kafka_frame(inner, broken_checksum=magic == MAGIC_V0)
    else:
        packed = compress(codec, inner)
    timestamp = log_append_time_ms if flags else max(r[1] for r in records)
    return encode_message(records[-1][0], magic, codec | flags, timestamp, None, packed)


# ---------------------------------------------------------------- Fetch v0-3


def down_convert(data: bytes | bytearray | memoryview, magic: int, fetch_offset: int) -> Iterator[bytes]:
    """The v2 batches of data as message-set entries of magic 0 or 1, one whole message or
    wrapper at a time, as Kafka 3.9 down-converts for Fetch v0-3.

    Control batches are left out. A compressed batch becomes one wrapper of all its records
    (the client skips those below its offset); an uncompressed one, a message per record from
    fetch_offset on. Record headers are dropped. A zstd batch, which v0/v1 cannot carry,
    raises UnsupportedCompressionTypeError when it is reached.
    """
    for batch in iter_batches(data):
        header = read_header(batch)
        attributes = header.attributes
        if attributes & ATTR_CONTROL:
            continue
        codec = attributes & ATTR_COMPRESSION_MASK
        if codec == Compression.ZSTD:
            raise UnsupportedCompressionTypeError("Down-conversion of zstandard-compressed batches is not supported")
        records = stored_records(batch, header)
        log_append_time_ms = header.max_timestamp if attributes & ATTR_TIMESTAMP_TYPE else NO_TIMESTAMP
        if codec != Compression.NONE:
            if records:
                yield encode_wrapper(records, magic, codec, log_append_time_ms=log_append_time_ms)
            continue
        flags = ATTR_LOG_APPEND_TIME if magic == MAGIC_V1 and log_append_time_ms != NO_TIMESTAMP else 0
        for offset, timestamp, key, value in records:
            if offset >= fetch_offset:
                yield encode_message(offset, magic, flags, timestamp, key, value)


def stored_records(batch: memoryview, header: BatchHeader) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(offset, timestamp, key, value) of each record of a stored v2 batch, decompressed;
    headers are skipped, not decoded (a lean decode: down-conversion's cost is mostly here).
    CorruptRecordError on malformed bytes."""
    codec = header.attributes & ATTR_COMPRESSION_MASK
    body = batch[RECORDS_POS:header.size]
    data = decompress(codec, body) if codec else bytes(body)
    base_offset, base_timestamp = header.base_offset, header.base_timestamp
    log_append_time = header.max_timestamp if header.attributes & ATTR_TIMESTAMP_TYPE else None
    records = []
    position = 0
    size = len(data)
    try:
        for _ in range(header.records_count):
            # each varint inline when it is one byte (most are), else the general reader
            byte, second = data[position], data[position + 1]
            if byte < 0x80:
                length, position = (byte >> 1) ^ -(byte & 1), position + 1
            elif second < 0x80:   # two bytes: records of 64 B to 8 KiB
                byte = (byte & 0x7F) | second << 7
                length, position = (byte >> 1) ^ -(byte & 1), position + 2
            else:
                length, position = _read_varint(data, position)
            end = position + length
            if length < 0 or end > size:
                raise ValueError("record length runs past the end of the records")
            position += 1   # attributes
            byte = data[position]
            if byte < 0x80:
                timestamp_delta, position = (byte >> 1) ^ -(byte & 1), position + 1
            else:
                timestamp_delta, position = _read_varint(data, position)
            byte = data[position]
            if byte < 0x80:
                offset_delta, position = (byte >> 1) ^ -(byte & 1), position + 1
            else:
                offset_delta, position = _read_varint(data, position)
            byte = data[position]
            if byte < 0x80:
                key_length, position = (byte >> 1) ^ -(byte & 1), position + 1
            else:
                key_length, position = _read_varint(data, position)
            key = None
            if key_length >= 0:
                key = data[position:position + key_length]
                position += key_length
            byte = data[position]
            if byte < 0x80:
                value_length, position = (byte >> 1) ^ -(byte & 1), position + 1
            elif data[position + 1] < 0x80:
                byte = (byte & 0x7F) | data[position + 1] << 7
                value_length, position = (byte >> 1) ^ -(byte & 1), position + 2
            else:
                value_length, position = _read_varint(data, position)
            value = None
            if value_length >= 0:
                value = data[position:position + value_length]
                position += value_length
            if position > end:
                raise ValueError("a key or value runs past the end of its record")
            timestamp = log_append_time if log_append_time is not None else base_timestamp + timestamp_delta
            records.append((base_offset + offset_delta, timestamp, key, value))
            position = end   # the headers, which message sets cannot carry
    except (IndexError, ValueError) as exc:
        raise CorruptRecordError(f"malformed record: {exc}") from exc
    return records
