"""EndTxn: commit or abort a transaction."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Bool, Int16, Int32, Int64, String

END_TXN = Message(
    ApiKey.END_TXN, "EndTxn", versions="0-4", flexible="3+",
    request=[
        field("transactional_id", String),
        field("producer_id", Int64),
        field("producer_epoch", Int16),
        field("committed", Bool),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("producer_id", Int64, "5+", default=-1),      # KIP-890 part 2 (EndTxn v5), not served
        field("producer_epoch", Int16, "5+", default=-1),
    ],
)
