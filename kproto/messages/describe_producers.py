"""DescribeProducers: the active producers of partitions (admin tools)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

DESCRIBE_PRODUCERS = Message(
    ApiKey.DESCRIBE_PRODUCERS, "DescribeProducers", versions="0", flexible="0+",
    request=[
        field("topics", Array([
            field("name", String),
            field("partition_indexes", Array(Int32)),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("error_message", String, nullable="0+", default=None),
                field("active_producers", Array([
                    field("producer_id", Int64),
                    field("producer_epoch", Int32),
                    field("last_sequence", Int32, default=-1),
                    field("last_timestamp", Int64, default=-1),
                    field("coordinator_epoch", Int32),
                    field("current_txn_start_offset", Int64, default=-1),
                ])),
            ])),
        ])),
    ],
)
