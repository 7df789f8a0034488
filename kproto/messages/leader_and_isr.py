"""LeaderAndIsr: the controller tells a broker which replicas it leads and follows (ZooKeeper mode)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, Int8, String, Uuid

PARTITION_STATE = [
    field("topic_name", String, "0-1"),
    field("partition_index", Int32),
    field("controller_epoch", Int32),
    field("leader", Int32),
    field("leader_epoch", Int32),
    field("isr", Array(Int32)),
    field("partition_epoch", Int32),
    field("replicas", Array(Int32)),
    field("adding_replicas", Array(Int32), "3+"),
    field("removing_replicas", Array(Int32), "3+"),
    field("is_new", Bool, "1+", default=False),
    field("leader_recovery_state", Int8, "6+", default=0),
]




PARTITION_ERROR = [
    field("topic_name", String, "0-4"),
    field("partition_index", Int32),
    field("error_code", Int16),
]

LEADER_AND_ISR = Message(
    ApiKey.LEADER_AND_ISR, "LeaderAndIsr", versions="0-7", flexible="4+",
    request=[
        field("controller_id", Int32),
        field("is_k_raft_controller", Bool, "7+", default=False),
        field("controller_epoch", Int32),
        field("broker_epoch", Int64, "2+", default=-1),
        field("type", Int8, "5+"),
        field("ungrouped_partition_states", Array(PARTITION_STATE), "0-1"),
        field("topic_states", Array([
            field("topic_name", String, "2+"),
            field("topic_id", Uuid, "5+"),
            field("partition_states", Array(PARTITION_STATE), "2+"),
        ]), "2+"),
        field("live_leaders", Array([
            field("broker_id", Int32),
            field("host_name", String),
            field("port", Int32),
        ])),
    ],
    response=[
        field("error_code", Int16),
        field("partition_errors", Array(PARTITION_ERROR), "0-4"),
        field("topics", Array([
            field("topic_id", Uuid, "5+"),
            field("partition_errors", Array(PARTITION_ERROR), "5+"),
        ]), "5+"),
    ],
)
