"""UpdateMetadata: the controller gives every broker the cluster's brokers and partition states."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, Int8, String, Uuid

PARTITION_STATE = [
    field("topic_name", String, "0-4"),
    field("partition_index", Int32),
    field("controller_epoch", Int32),
    field("leader", Int32),
    field("leader_epoch", Int32),
    field("isr", Array(Int32)),
    field("zk_version", Int32),
    field("replicas", Array(Int32)),
    field("offline_replicas", Array(Int32), "4+"),
]




UPDATE_METADATA = Message(
    ApiKey.UPDATE_METADATA, "UpdateMetadata", versions="0-8", flexible="6+",
    request=[
        field("controller_id", Int32),
        field("is_k_raft_controller", Bool, "8+", default=False),
        field("type", Int8, "8+", tag=0, default=0),
        field("controller_epoch", Int32),
        field("broker_epoch", Int64, "5+", default=-1),
        field("ungrouped_partition_states", Array(PARTITION_STATE), "0-4"),
        field("topic_states", Array([
            field("topic_name", String, "5+"),
            field("topic_id", Uuid, "7+"),
            field("partition_states", Array(PARTITION_STATE), "5+"),
        ]), "5+"),
        field("live_brokers", Array([
            field("id", Int32),
            field("v0_host", String, "0"),
            field("v0_port", Int32, "0"),
            field("endpoints", Array([
                field("port", Int32, "1+"),
                field("host", String, "1+"),
                field("listener", String, "3+"),
                field("security_protocol", Int16, "1+"),
            ]), "1+"),
            field("rack", String, "2+", nullable="0+"),
        ])),
    ],
    response=[
        field("error_code", Int16),
    ],
)
