"""ListTransactions: the transactional ids a coordinator knows, filtered (admin tools)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

LIST_TRANSACTIONS = Message(
    ApiKey.LIST_TRANSACTIONS, "ListTransactions", versions="0-1", flexible="0+",
    request=[
        field("state_filters", Array(String)),
        field("producer_id_filters", Array(Int64)),
        field("duration_filter", Int64, "1+", default=-1),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("unknown_state_filters", Array(String)),
        field("transaction_states", Array([
            field("transactional_id", String),
            field("producer_id", Int64),
            field("transaction_state", String),
        ])),
    ],
)
