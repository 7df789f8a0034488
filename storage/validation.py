"""Checks on the batches of an append: header fields and CRC only, no record decoding.

Each batch header is unpacked once, here; the append goes on with the HEADER tuples returned.
"""

from __future__ import annotations

import struct

from .crc import crc32c

from .errors import (
    CorruptRecordError,
    InvalidRecordError,
    NoRecordBatchError,
    NotOneBatchError,
    RecordTooLargeError,
    UnsupportedMessageFormatError,
)
from .records import (
    ATTRIBUTES,
    ATTRIBUTES_POS,
    ATTR_COMPRESSION_MASK,
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
