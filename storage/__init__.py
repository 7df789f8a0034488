"""kbroker's log engine: topics, partition logs of Kafka RecordBatches, on disk or in memory.

Knows nothing of the Kafka protocol: bytes (RecordBatch v2), offsets, timestamps, plain values.
"""

from .codecs import Compression
from .config import BROKER_PROPERTIES, TOPIC_CONFIG_DEFAULTS, LogConfig, LogManagerConfig
from .errors import (
    CorruptRecordError,
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidProducerEpochError,
    InvalidRecordError,
    InvalidTopicError,
    InvalidTxnStateError,
    NoRecordBatchError,
    NotOneBatchError,
    NullKeyError,
    OffsetOutOfRangeError,
    OutOfOrderSequenceError,
    PolicyViolationError,
    RecordTooLargeError,
    StorageError,
    TopicExistsError,
    TransactionCoordinatorFencedError,
    UnknownTopicError,
    UnknownTopicOrPartitionError,
    UnsupportedMessageFormatError,
)
from .log import PartitionLog
from .log_manager import LogManager
from .records import BatchHeader, Record, TimestampType, build_batch, decode_records, iter_batches, read_header
from .results import AppendResult, FileSlice, ReadResult
from .storage import Storage
from .topics import TopicInfo, kafka_uuid_string, validate_topic_name

__all__ = [
    "AppendResult",
    "BROKER_PROPERTIES",
    "BatchHeader",
    "Compression",
    "CorruptRecordError",
    "FileSlice",
    "InvalidConfigError",
    "InvalidPartitionsError",
    "InvalidProducerEpochError",
    "InvalidRecordError",
    "InvalidTopicError",
    "InvalidTxnStateError",
    "LogConfig",
    "LogManager",
    "LogManagerConfig",
    "NoRecordBatchError",
    "NotOneBatchError",
    "NullKeyError",
    "OffsetOutOfRangeError",
    "OutOfOrderSequenceError",
    "PartitionLog",
    "PolicyViolationError",
    "ReadResult",
    "Record",
    "RecordTooLargeError",
    "Storage",
    "StorageError",
    "TOPIC_CONFIG_DEFAULTS",
    "TimestampType",
    "TopicExistsError",
    "TopicInfo",
    "TransactionCoordinatorFencedError",
    "UnknownTopicError",
    "UnknownTopicOrPartitionError",
    "UnsupportedMessageFormatError",
    "build_batch",
    "decode_records",
    "iter_batches",
    "kafka_uuid_string",
    "read_header",
    "validate_topic_name",
]
