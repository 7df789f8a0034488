"""StopReplica: the controller tells a broker to stop replicating partitions, and maybe delete them."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, String

STOP_REPLICA = Message(
    ApiKey.STOP_REPLICA, "StopReplica", versions="0-4", flexible="2+",
    request=[
        field("controller_id", Int32),
        field("is_k_raft_controller", Bool, "4+", default=False),
        field("controller_epoch", Int32),
        field("broker_epoch", Int64, "1+", default=-1),
        field("delete_partitions", Bool, "0-2"),
        field("ungrouped_partitions", Array([
            field("topic_name", String, "0"),
            field("partition_index", Int32, "0"),
        ]), "0"),
        field("topics", Array([
            field("name", String, "1-2"),
            field("partition_indexes", Array(Int32), "1-2"),
        ]), "1-2"),
        field("topic_states", Array([
            field("topic_name", String, "3+"),
            field("partition_states", Array([
                field("partition_index", Int32, "3+"),
                field("leader_epoch", Int32, "3+", default=-1),
                field("delete_partition", Bool, "3+"),
            ]), "3+"),
        ]), "3+"),
    ],
    response=[
        field("error_code", Int16),
        field("partition_errors", Array([
            field("topic_name", String),
            field("partition_index", Int32),
            field("error_code", Int16),
        ])),
    ],
)
