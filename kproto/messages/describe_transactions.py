"""DescribeTransactions: the state of transactional ids (admin tools)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

DESCRIBE_TRANSACTIONS = Message(
    ApiKey.DESCRIBE_TRANSACTIONS, "DescribeTransactions", versions="0", flexible="0+",
    request=[
        field("transactional_ids", Array(String)),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("transaction_states", Array([
            field("error_code", Int16),
            field("transactional_id", String),
            field("transaction_state", String),
            field("transaction_timeout_ms", Int32),
            field("transaction_start_time_ms", Int64),
            field("producer_id", Int64),
            field("producer_epoch", Int16),
            field("topics", Array([
                field("topic", String),
                field("partitions", Array(Int32)),
            ])),
        ])),
    ],
)
