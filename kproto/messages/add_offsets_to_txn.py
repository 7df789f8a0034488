"""AddOffsetsToTxn: add a group's offsets partition to a transaction (before TxnOffsetCommit)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Int16, Int32, Int64, String

ADD_OFFSETS_TO_TXN = Message(
    ApiKey.ADD_OFFSETS_TO_TXN, "AddOffsetsToTxn", versions="0-4", flexible="3+",
    request=[
        field("transactional_id", String),
        field("producer_id", Int64),
        field("producer_epoch", Int16),
        field("group_id", String),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
    ],
)
