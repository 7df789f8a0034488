"""Errors a handler may raise beyond Kafka's codes, and one table from storage exceptions to the codes a client sees."""

from __future__ import annotations

import storage.errors as se
from kproto.errors import ErrorCode


class CloseConnection(Exception):
    """The peer broke the protocol: close this connection only (the reason is logged)."""


STORAGE_ERROR_CODES: dict[type, ErrorCode] = {
    se.CorruptRecordError: ErrorCode.CORRUPT_MESSAGE,
    se.InvalidRecordError: ErrorCode.INVALID_RECORD,
    se.RecordTooLargeError: ErrorCode.MESSAGE_TOO_LARGE,
    se.InvalidTimestampError: ErrorCode.INVALID_TIMESTAMP,
    se.UnsupportedCompressionTypeError: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    se.UnsupportedMessageFormatError: ErrorCode.INVALID_RECORD,
    se.OffsetOutOfRangeError: ErrorCode.OFFSET_OUT_OF_RANGE,
    se.TopicExistsError: ErrorCode.TOPIC_ALREADY_EXISTS,
    se.UnknownTopicError: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    se.UnknownTopicOrPartitionError: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    se.InvalidTopicError: ErrorCode.INVALID_TOPIC_EXCEPTION,
    se.InvalidPartitionsError: ErrorCode.INVALID_PARTITIONS,
    se.InvalidConfigError: ErrorCode.INVALID_CONFIG,
    se.OutOfOrderSequenceError: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    se.InvalidProducerEpochError: ErrorCode.INVALID_PRODUCER_EPOCH,
    se.PolicyViolationError: ErrorCode.POLICY_VIOLATION,
}


def storage_error_code(exc: se.StorageError) -> ErrorCode:
    for cls in type(exc).__mro__:
        code = STORAGE_ERROR_CODES.get(cls)
        if code is not None:
            return code
    return ErrorCode.UNKNOWN_SERVER_ERROR
