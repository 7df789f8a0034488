"""DeleteRecords: move partitions' log start offsets forward (the records below are gone)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

DELETE_RECORDS = Message(
    ApiKey.DELETE_RECORDS, "DeleteRecords", versions="0-2", flexible="2+",
    request=[
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("offset", Int64),
            ])),
        ])),
        field("timeout_ms", Int32),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("low_watermark", Int64),
                field("error_code", Int16),
            ])),
        ])),
    ],
)
