"""DescribeLogDirs: the broker's log directories and the size of each partition in them."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, String

DESCRIBE_LOG_DIRS = Message(
    ApiKey.DESCRIBE_LOG_DIRS, "DescribeLogDirs", versions="0-4", flexible="2+",
    request=[
        field("topics", Array([
            field("topic", String),
            field("partitions", Array(Int32)),
        ]), nullable="0+"),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16, "3+"),
        field("results", Array([
            field("error_code", Int16),
            field("log_dir", String),
            field("topics", Array([
                field("name", String),
                field("partitions", Array([
                    field("partition_index", Int32),
                    field("partition_size", Int64),
                    field("offset_lag", Int64),
                    field("is_future_key", Bool),
                ])),
            ])),
            field("total_bytes", Int64, "4+", default=-1),
            field("usable_bytes", Int64, "4+", default=-1),
        ])),
    ],
)
