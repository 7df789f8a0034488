"""Checks on the batches of an append: header fields and CRC only, no record decoding.

Each batch header is unpacked once, here; the append goes on with the HEADER tuples returned.
"""

from __future__ import annotations

import struct

from .crc import crc32c

from .codecs import decompress
from .errors import (
    CorruptRecordError,
    InvalidRecordError,
    NoRecordBatchError,
    NotOneBatchError,
    NullKeyError,
    RecordTooLargeError,
    UnsupportedMessageFormatError,
)
from .records import (
    ATTRIBUTES,
    ATTRIBUTES_POS,
    ATTR_COMPRESSION_MASK,
    ATTR_CONTROL,
    BATCH_LENGTH,
    BATCH_LENGTH_MIN,
    BATCH_LENGTH_POS,
    CRC,
    CURRENT_MAGIC,
    HEADER,
    HEADER_BYTES,
    LAST_OFFSET_DELTA,
    LOG_OVERHEAD,
    MAGIC,
    MAGIC_POS,
    RECORDS_COUNT,
)

_MAX_CODEC = 4  # zstd
_INT32 = struct.Struct(">i")


def validate_batches(view: memoryview, max_message_bytes: int) -> list[tuple[int, int, tuple]]:
    """Split view into batches and check each; returns (start, end, HEADER tuple) per batch.

    Raises CorruptRecordError (partial batch, CRC mismatch), UnsupportedMessageFormatError
    (magic != 2), RecordTooLargeError, InvalidRecordError (inconsistent header; NoRecordBatchError
    if view is empty).
    """
    total = len(view)
    if total == 0:
        raise NoRecordBatchError("no record batches")
    unpack_from = HEADER.unpack_from
    batches = []
    start = 0
    while start < total:
        header = unpack_from(view, start) if total - start >= HEADER_BYTES else None
        end = start + LOG_OVERHEAD + header[BATCH_LENGTH] if header else total + 1
        if (
            end > total
            or header[MAGIC] != CURRENT_MAGIC
            or header[BATCH_LENGTH] < BATCH_LENGTH_MIN
            or end - start > max_message_bytes
            or header[LAST_OFFSET_DELTA] < 0
            or header[RECORDS_COUNT] != header[LAST_OFFSET_DELTA] + 1
            or header[ATTRIBUTES] & ATTR_COMPRESSION_MASK > _MAX_CODEC
        ):
            _explain(view, start, max_message_bytes)
        if crc32c(view[start + ATTRIBUTES_POS : end]) != header[CRC]:
            raise CorruptRecordError("record batch CRC mismatch")
        batches.append((start, end, header))
        start = end
    return batches


def validate_one_batch(view: memoryview, max_message_bytes: int) -> tuple:
    """Check that view is exactly one whole magic-2 batch, then check it as validate_batches
    does; returns its HEADER tuple.

    This is Kafka's rule for a partition's records in Produce v3+. Raises, in this order:
    NoRecordBatchError (shorter than a batch header), UnsupportedMessageFormatError (magic != 2),
    NotOneBatchError (batch_length does not end the batch at the end of view), then the
    errors of validate_batches.
    """
    total = len(view)
    if total < HEADER_BYTES:
        raise NoRecordBatchError(f"{total} bytes hold no record batch")
    header = HEADER.unpack_from(view, 0)
    if header[MAGIC] != CURRENT_MAGIC:
        raise UnsupportedMessageFormatError(f"record batch magic {header[MAGIC]}, only 2 is supported")
    if header[BATCH_LENGTH] + LOG_OVERHEAD != total:
        raise NotOneBatchError(f"a record batch of {header[BATCH_LENGTH] + LOG_OVERHEAD} bytes in {total} bytes")
    if (
        total > max_message_bytes
        or header[LAST_OFFSET_DELTA] < 0
        or header[RECORDS_COUNT] != header[LAST_OFFSET_DELTA] + 1
        or header[ATTRIBUTES] & ATTR_COMPRESSION_MASK > _MAX_CODEC
    ):
        _explain(view, 0, max_message_bytes)
    if crc32c(view[ATTRIBUTES_POS:]) != header[CRC]:
        raise CorruptRecordError("record batch CRC mismatch")
    return header


def _explain(view: memoryview, start: int, max_message_bytes: int) -> None:
    """Raise the error for the batch at start, which failed a header check."""
    total = len(view)
    if total - start < LOG_OVERHEAD:
        raise CorruptRecordError("truncated record batch")
    (batch_length,) = _INT32.unpack_from(view, start + BATCH_LENGTH_POS)
    end = start + LOG_OVERHEAD + batch_length
    if batch_length <= MAGIC_POS - LOG_OVERHEAD or end > total:
        raise CorruptRecordError("truncated record batch")
    magic = view[start + MAGIC_POS]
    if magic != CURRENT_MAGIC:
        raise UnsupportedMessageFormatError(f"record batch magic {magic}, only 2 is supported")
    if batch_length < BATCH_LENGTH_MIN:
        raise CorruptRecordError(f"record batch length {batch_length} is below the header size")
    if end - start > max_message_bytes:
        raise RecordTooLargeError(f"record batch of {end - start} bytes exceeds max.message.bytes {max_message_bytes}")
    header = HEADER.unpack_from(view, start)
    if header[LAST_OFFSET_DELTA] < 0 or header[RECORDS_COUNT] != header[LAST_OFFSET_DELTA] + 1:
        raise InvalidRecordError(
            f"record batch last_offset_delta {header[LAST_OFFSET_DELTA]} "
            f"does not match records_count {header[RECORDS_COUNT]}"
        )
    raise InvalidRecordError(f"unknown compression codec {header[ATTRIBUTES] & ATTR_COMPRESSION_MASK}")


def check_keys(view: memoryview, batches: list[tuple[int, int, tuple]], topic_partition: str) -> None:
    """Kafka's rule for a compacted topic: every record has a key; NullKeyError lists each
    record without one by its index in the append.

    The one check of an append that reads records (decompressing them if needed), made only
    for compacted topics: the cleaner keeps the newest record of each key, and a record
    without a key has none.
    """
    record_errors = []
    index = 0
    for start, end, header in batches:
        count = header[RECORDS_COUNT]
        if header[ATTRIBUTES] & ATTR_CONTROL:
            index += count
            continue
        data = view[start + HEADER_BYTES : end]
        codec = header[ATTRIBUTES] & ATTR_COMPRESSION_MASK
        data = decompress(codec, data) if codec else bytes(data)
        try:
            for null in _null_key_records(data, count):
                record_errors.append((index + null, "Compacted topic cannot accept message without key in "
                                                    f"topic partition {topic_partition}"))
        except IndexError:
            raise CorruptRecordError("malformed record") from None
        index += count
    if record_errors:
        shown = ", ".join(f"RecordError(batchIndex={i}, message='{m}')" for i, m in record_errors[:3])
        raise NullKeyError(f"One or more records have been rejected due to {len(record_errors)} record errors "
                           f"in total, and only showing the first three errors at most: [{shown}]", record_errors)


def _null_key_records(data: bytes, count: int) -> list[int]:
    """Indexes of the records of a batch's (decompressed) records section that have no key."""
    nulls = []
    position = 0
    for index in range(count):
        length, position = _varint(data, position)
        end = position + length
        position += 1  # attributes
        while data[position] >= 0x80:  # timestamp delta
            position += 1
        position += 1
        while data[position] >= 0x80:  # offset delta
            position += 1
        key_length, _ = _varint(data, position + 1)
        if key_length < 0:
            nulls.append(index)
        position = end
    return nulls


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """Zigzag varint at position: (value, next position)."""
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), position
        shift += 7


def validate_replicated(view: memoryview, next_offset: int, name: str) -> list[tuple[int, int, tuple]]:
    """The whole batches of a follower's fetch, as validate_batches returns them: magic 2,
    a sane length, a matching CRC, and offsets from next_offset on, ascending (a compacted
    log has gaps). A trailing partial batch (a fetch cut at its byte limit) is left out."""
    total = len(view)
    unpack_from = HEADER.unpack_from
    batches = []
    start = 0
    while total - start >= HEADER_BYTES:
        header = unpack_from(view, start)
        end = start + LOG_OVERHEAD + header[BATCH_LENGTH]
        if end > total:
            break
        if header[MAGIC] != CURRENT_MAGIC or header[BATCH_LENGTH] < BATCH_LENGTH_MIN or header[LAST_OFFSET_DELTA] < 0:
            raise CorruptRecordError(f"{name}: a replicated batch at byte {start} has a bad header")
        if crc32c(view[start + ATTRIBUTES_POS : end]) != header[CRC]:
            raise CorruptRecordError(f"{name}: replicated record batch CRC mismatch")
        if header[0] < next_offset:
            raise InvalidRecordError(f"{name}: a replicated batch starts at offset {header[0]}, "
                                     f"below the log end offset {next_offset}")
        next_offset = header[0] + header[LAST_OFFSET_DELTA] + 1
        batches.append((start, end, header))
        start = end
    return batches
