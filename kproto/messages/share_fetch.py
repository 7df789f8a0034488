"""ShareFetch: acquire records of a share group's partitions, acknowledging earlier ones.

v1 is Kafka 4.1's stable version (4.0's early-access v0 was removed); v2 (Kafka 4.2)
adds the acquire mode (KIP-1206: 0 batch-optimized, 1 record-limit) and renew
acknowledgements (KIP-1222). Acknowledge types: 0 gap, 1 accept, 2 release, 3 reject,
4 renew."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int8, Int16, Int32, Int64, Records, String, Struct, Uuid

_ACK_BATCHES = Array([
    field("first_offset", Int64),
    field("last_offset", Int64),
    field("acknowledge_types", Array(Int8)),
])

_NODE_ENDPOINTS = Array([
    field("node_id", Int32),
    field("host", String),
    field("port", Int32),
    field("rack", String, nullable="0+", default=None),
])

_LEADER = Struct([
    field("leader_id", Int32),
    field("leader_epoch", Int32),
])

SHARE_FETCH = Message(
    ApiKey.SHARE_FETCH, "ShareFetch", versions="1-2", flexible="0+",
    request=[
        field("group_id", String, nullable="0+", default=None),
        field("member_id", String, nullable="0+"),
        field("share_session_epoch", Int32),
        field("max_wait_ms", Int32),
        field("min_bytes", Int32),
        field("max_bytes", Int32, default=0x7FFFFFFF),
        field("max_records", Int32, "1+"),
        field("batch_size", Int32, "1+"),
        field("share_acquire_mode", Int8, "2+"),
        field("is_renew_ack", Bool, "2+", default=False),
        field("topics", Array([
            field("topic_id", Uuid),
            field("partitions", Array([
                field("partition_index", Int32),
                field("partition_max_bytes", Int32, "0"),
                field("acknowledgement_batches", _ACK_BATCHES),
            ])),
        ])),
        field("forgotten_topics_data", Array([
            field("topic_id", Uuid),
            field("partitions", Array(Int32)),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+", default=None),
        field("acquisition_lock_timeout_ms", Int32, "1+"),
        field("responses", Array([
            field("topic_id", Uuid),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("error_message", String, nullable="0+", default=None),
                field("acknowledge_error_code", Int16),
                field("acknowledge_error_message", String, nullable="0+", default=None),
                field("current_leader", _LEADER),
                field("records", Records, nullable="0+"),
                field("acquired_records", Array([
                    field("first_offset", Int64),
                    field("last_offset", Int64),
                    field("delivery_count", Int16),
                ])),
            ])),
        ])),
        field("node_endpoints", _NODE_ENDPOINTS),
    ],
)
