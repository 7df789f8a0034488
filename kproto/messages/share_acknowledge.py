"""ShareAcknowledge: accept, release, reject (or, v2, renew) records a member holds.

v1 is Kafka 4.1's stable version; v2 (Kafka 4.2, KIP-1222) adds renew acknowledgements
and answers the acquisition lock timeout."""

from kproto.api_keys import ApiKey
from kproto.messages.share_fetch import _LEADER, _NODE_ENDPOINTS
from kproto.schema import Message, field, Array, Bool, Int8, Int16, Int32, Int64, String, Uuid

SHARE_ACKNOWLEDGE = Message(
    ApiKey.SHARE_ACKNOWLEDGE, "ShareAcknowledge", versions="1-2", flexible="0+",
    request=[
        field("group_id", String, nullable="0+", default=None),
        field("member_id", String, nullable="0+"),
        field("share_session_epoch", Int32),
        field("is_renew_ack", Bool, "2+", default=False),
        field("topics", Array([
            field("topic_id", Uuid),
            field("partitions", Array([
                field("partition_index", Int32),
                field("acknowledgement_batches", Array([
                    field("first_offset", Int64),
                    field("last_offset", Int64),
                    field("acknowledge_types", Array(Int8)),
                ])),
            ])),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+", default=None),
        field("acquisition_lock_timeout_ms", Int32, "2+"),
        field("responses", Array([
            field("topic_id", Uuid),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("error_message", String, nullable="0+", default=None),
                field("current_leader", _LEADER),
            ])),
        ])),
        field("node_endpoints", _NODE_ENDPOINTS),
    ],
)
