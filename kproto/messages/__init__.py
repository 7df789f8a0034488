"""Every API kproto declares, by API key."""

from kproto.messages.alter_configs import ALTER_CONFIGS
from kproto.messages.alter_partition_reassignments import ALTER_PARTITION_REASSIGNMENTS
from kproto.messages.alter_replica_log_dirs import ALTER_REPLICA_LOG_DIRS
from kproto.messages.api_versions import API_VERSIONS
from kproto.messages.create_partitions import CREATE_PARTITIONS
from kproto.messages.create_topics import CREATE_TOPICS
from kproto.messages.delete_groups import DELETE_GROUPS
from kproto.messages.delete_topics import DELETE_TOPICS
from kproto.messages.describe_cluster import DESCRIBE_CLUSTER
from kproto.messages.describe_configs import DESCRIBE_CONFIGS
from kproto.messages.describe_groups import DESCRIBE_GROUPS
from kproto.messages.describe_log_dirs import DESCRIBE_LOG_DIRS
from kproto.messages.describe_topic_partitions import DESCRIBE_TOPIC_PARTITIONS
from kproto.messages.elect_leaders import ELECT_LEADERS
from kproto.messages.fetch import FETCH
from kproto.messages.find_coordinator import FIND_COORDINATOR
from kproto.messages.heartbeat import HEARTBEAT
from kproto.messages.incremental_alter_configs import INCREMENTAL_ALTER_CONFIGS
from kproto.messages.init_producer_id import INIT_PRODUCER_ID
from kproto.messages.join_group import JOIN_GROUP
from kproto.messages.leave_group import LEAVE_GROUP
from kproto.messages.list_groups import LIST_GROUPS
from kproto.messages.list_offsets import LIST_OFFSETS
from kproto.messages.list_partition_reassignments import LIST_PARTITION_REASSIGNMENTS
from kproto.messages.metadata import METADATA
from kproto.messages.offset_commit import OFFSET_COMMIT
from kproto.messages.offset_delete import OFFSET_DELETE
from kproto.messages.offset_fetch import OFFSET_FETCH
from kproto.messages.offset_for_leader_epoch import OFFSET_FOR_LEADER_EPOCH
from kproto.messages.produce import PRODUCE
from kproto.messages.sync_group import SYNC_GROUP
from kproto.schema import Message

ALL: tuple[Message, ...] = (
    PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR,
    JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS, API_VERSIONS,
    CREATE_TOPICS, DELETE_TOPICS, INIT_PRODUCER_ID, DELETE_GROUPS, OFFSET_DELETE,
    OFFSET_FOR_LEADER_EPOCH, DESCRIBE_CONFIGS, ALTER_CONFIGS, ALTER_REPLICA_LOG_DIRS, DESCRIBE_LOG_DIRS,
    CREATE_PARTITIONS, ELECT_LEADERS, INCREMENTAL_ALTER_CONFIGS, ALTER_PARTITION_REASSIGNMENTS,
    LIST_PARTITION_REASSIGNMENTS, DESCRIBE_CLUSTER, DESCRIBE_TOPIC_PARTITIONS,
)

BY_KEY: dict[int, Message] = {m.api_key: m for m in ALL}

__all__ = [
    "ALL", "BY_KEY", "API_VERSIONS", "CREATE_TOPICS", "DELETE_GROUPS", "DELETE_TOPICS", "DESCRIBE_GROUPS",
    "FETCH", "FIND_COORDINATOR", "HEARTBEAT", "INIT_PRODUCER_ID", "JOIN_GROUP", "LEAVE_GROUP", "LIST_GROUPS",
    "LIST_OFFSETS", "METADATA", "OFFSET_COMMIT", "OFFSET_DELETE", "OFFSET_FETCH", "PRODUCE", "SYNC_GROUP",
    "ALTER_CONFIGS", "ALTER_PARTITION_REASSIGNMENTS", "ALTER_REPLICA_LOG_DIRS", "CREATE_PARTITIONS", "DESCRIBE_CLUSTER",
    "DESCRIBE_CONFIGS", "DESCRIBE_LOG_DIRS", "DESCRIBE_TOPIC_PARTITIONS", "ELECT_LEADERS", "INCREMENTAL_ALTER_CONFIGS",
    "LIST_PARTITION_REASSIGNMENTS", "OFFSET_FOR_LEADER_EPOCH",
]
