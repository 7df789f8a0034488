"""Storage exceptions. The broker maps each class to one Kafka error code."""


class StorageError(Exception):
    """Base of every error raised by the storage package."""


class CorruptRecordError(StorageError):
    """A batch is truncated or its CRC-32C does not match."""


class InvalidRecordError(StorageError):
    """A batch header is inconsistent (bad length, counts, codec)."""


class NoRecordBatchError(InvalidRecordError):
    """An append holds no record batch (empty, or shorter than a batch header)."""


class NotOneBatchError(InvalidRecordError):
    """An append that must be exactly one whole batch is more or less than one."""


class InvalidTimestampError(StorageError):
    """A record's timestamp (or timestamp type) is not allowed (old message formats)."""


class UnsupportedCompressionTypeError(StorageError):
    """Records compressed with a codec the requested message format cannot carry (zstd in v0/v1)."""


class RecordTooLargeError(StorageError):
    """A batch is larger than the topic's max.message.bytes."""


class UnsupportedMessageFormatError(StorageError):
    """A batch has a magic other than 2."""


class OffsetOutOfRangeError(StorageError):
    """A read below log_start_offset or above log_end_offset."""


class TopicExistsError(StorageError):
    """create_topic of a name already in use."""


class UnknownTopicOrPartitionError(StorageError):
    """No such topic, or no such partition in it."""


class UnknownTopicError(UnknownTopicOrPartitionError):
    """No topic of that name (topic-level operations)."""


class InvalidTopicError(StorageError):
    """A topic name Kafka would refuse."""


class InvalidPartitionsError(StorageError):
    """A partition count that is not allowed."""


class InvalidConfigError(StorageError):
    """An unknown topic config key or a bad value."""


class OutOfOrderSequenceError(StorageError):
    """An idempotent producer skipped or reused a sequence number."""


class InvalidProducerEpochError(StorageError):
    """An idempotent producer wrote with an epoch older than the current one."""


class PolicyViolationError(StorageError):
    """An operation the topic's configuration forbids (DeleteRecords without cleanup.policy delete)."""


class NullKeyError(InvalidRecordError):
    """A record without a key sent to a compacted topic; record_errors: (record index, message) of each."""

    def __init__(self, message: str, record_errors: list[tuple[int, str]]) -> None:
        super().__init__(message)
        self.record_errors = record_errors


class InvalidTxnStateError(StorageError):
    """A producer with an open transaction wrote a non-transactional batch."""


class TransactionCoordinatorFencedError(StorageError):
    """A transaction marker came from an older coordinator epoch than one already written."""
