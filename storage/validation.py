"""Checks on the batches of an append: header fields and CRC only, no record decoding."""

from __future__ import annotations

import struct

from .crc import crc32c

from .errors import (
    CorruptRecordError,
    InvalidRecordError,
    RecordTooLargeError,
    UnsupportedMessageFormatError,
)
from .records import ATTRIBUTES_POS, BATCH_LENGTH_MIN, CURRENT_MAGIC, HEADER, HEADER_BYTES, LOG_OVERHEAD, MAGIC_POS

_MAX_CODEC = 4
_INT32 = struct.Struct(">i")


def validate_batches(view: memoryview, max_message_bytes: int) -> list[tuple[int, int, tuple]]:
    """Split view into batches and check each; returns (start, end, header tuple) per batch.

    Raises CorruptRecordError (partial batch, CRC mismatch), UnsupportedMessageFormatError
    (magic != 2), RecordTooLargeError, InvalidRecordError (inconsistent header).
    """
    total = len(view)
    if total == 0:
        raise InvalidRecordError("no record batches")
    unpack_from = HEADER.unpack_from
    batches = []
    start = 0
    while start < total:
        # header: 0 base_offset, 1 batch_length, 2 partition_leader_epoch, 3 magic, 4 crc,
        # 5 attributes, 6 last_offset_delta, 7 base_timestamp, 8 max_timestamp,
        # 9 producer_id, 10 producer_epoch, 11 base_sequence, 12 records_count
        header = unpack_from(view, start) if total - start >= HEADER_BYTES else None
        end = start + LOG_OVERHEAD + header[1] if header else total + 1
        if (
            end > total
            or header[3] != CURRENT_MAGIC
            or header[1] < BATCH_LENGTH_MIN
            or end - start > max_message_bytes
            or header[6] < 0
            or header[12] != header[6] + 1
            or header[5] & 0x07 > _MAX_CODEC
        ):
            _explain(view, start, max_message_bytes)
        if crc32c(view[start + ATTRIBUTES_POS : end]) != header[4]:
            raise CorruptRecordError("record batch CRC mismatch")
        batches.append((start, end, header))
        start = end
    return batches


def _explain(view: memoryview, start: int, max_message_bytes: int) -> None:
    """Raise the error for the batch at start, which failed a header check."""
    total = len(view)
    if total - start < LOG_OVERHEAD:
        raise CorruptRecordError("truncated record batch")
    (batch_length,) = _INT32.unpack_from(view, start + 8)
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
    if header[6] < 0 or header[12] != header[6] + 1:
        raise InvalidRecordError(f"record batch last_offset_delta {header[6]} does not match records_count {header[12]}")
    raise InvalidRecordError(f"unknown compression codec {header[5] & 0x07}")
