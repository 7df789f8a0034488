"""AddPartitionsToTxn: add partitions to a transaction (v4+: several transactions, or only verify)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, String

_TOPIC = [
    field("name", String),
    field("partitions", Array(Int32)),
]

_TOPIC_RESULT = [
    field("name", String),
    field("results_by_partition", Array([
        field("partition_index", Int32),
        field("partition_error_code", Int16),
    ])),
]

ADD_PARTITIONS_TO_TXN = Message(
    ApiKey.ADD_PARTITIONS_TO_TXN, "AddPartitionsToTxn", versions="0-5", flexible="3+",
    request=[
        field("transactions", Array([
            field("transactional_id", String, "4+"),
            field("producer_id", Int64, "4+"),
            field("producer_epoch", Int16, "4+"),
            field("verify_only", Bool, "4+", default=False),
            field("topics", Array(_TOPIC), "4+"),
        ]), "4+"),
        field("v3_and_below_transactional_id", String, "0-3"),
        field("v3_and_below_producer_id", Int64, "0-3"),
        field("v3_and_below_producer_epoch", Int16, "0-3"),
        field("v3_and_below_topics", Array(_TOPIC), "0-3"),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16, "4+"),
        field("results_by_transaction", Array([
            field("transactional_id", String, "4+"),
            field("topic_results", Array(_TOPIC_RESULT), "4+"),
        ]), "4+"),
        field("results_by_topic_v3_and_below", Array(_TOPIC_RESULT), "0-3"),
    ],
)
