"""Errors a handler may raise beyond Kafka's codes, and one table from storage exceptions to the codes a client sees."""

from __future__ import annotations

import storage.errors as se
from kproto.constants import ResourceType
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
    se.InvalidTxnStateError: ErrorCode.INVALID_TXN_STATE,
    se.TransactionCoordinatorFencedError: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
}


def storage_error_code(exc: se.StorageError) -> ErrorCode:
    for cls in type(exc).__mro__:
        code = STORAGE_ERROR_CODES.get(cls)
        if code is not None:
            return code
    return ErrorCode.UNKNOWN_SERVER_ERROR


# The code an API answers when the authorizer refuses an operation on a resource of this type.
AUTHORIZATION_FAILED: dict[int, ErrorCode] = {
    ResourceType.TOPIC: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    ResourceType.GROUP: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    ResourceType.CLUSTER: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    ResourceType.TRANSACTIONAL_ID: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ResourceType.DELEGATION_TOKEN: ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
}
