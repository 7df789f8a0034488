"""Every API kproto declares, by API key.

One import line per declaration; ``ALL``, ``BY_KEY`` and ``__all__`` are made from them.
"""

from kproto.messages.acls import CREATE_ACLS
from kproto.messages.acls import DELETE_ACLS
from kproto.messages.acls import DESCRIBE_ACLS
from kproto.messages.add_offsets_to_txn import ADD_OFFSETS_TO_TXN
from kproto.messages.add_partitions_to_txn import ADD_PARTITIONS_TO_TXN
from kproto.messages.alter_configs import ALTER_CONFIGS
from kproto.messages.alter_partition import ALTER_PARTITION
from kproto.messages.alter_partition_reassignments import ALTER_PARTITION_REASSIGNMENTS
from kproto.messages.alter_replica_log_dirs import ALTER_REPLICA_LOG_DIRS
from kproto.messages.api_versions import API_VERSIONS
from kproto.messages.client_quotas import ALTER_CLIENT_QUOTAS
from kproto.messages.client_quotas import DESCRIBE_CLIENT_QUOTAS
from kproto.messages.consumer_group_describe import CONSUMER_GROUP_DESCRIBE
from kproto.messages.consumer_group_heartbeat import CONSUMER_GROUP_HEARTBEAT
from kproto.messages.controlled_shutdown import CONTROLLED_SHUTDOWN
from kproto.messages.create_partitions import CREATE_PARTITIONS
from kproto.messages.create_topics import CREATE_TOPICS
from kproto.messages.delete_groups import DELETE_GROUPS
from kproto.messages.delete_records import DELETE_RECORDS
from kproto.messages.delete_topics import DELETE_TOPICS
from kproto.messages.describe_cluster import DESCRIBE_CLUSTER
from kproto.messages.describe_configs import DESCRIBE_CONFIGS
from kproto.messages.describe_groups import DESCRIBE_GROUPS
from kproto.messages.describe_log_dirs import DESCRIBE_LOG_DIRS
from kproto.messages.describe_producers import DESCRIBE_PRODUCERS
from kproto.messages.describe_topic_partitions import DESCRIBE_TOPIC_PARTITIONS
from kproto.messages.describe_transactions import DESCRIBE_TRANSACTIONS
from kproto.messages.elect_leaders import ELECT_LEADERS
from kproto.messages.end_txn import END_TXN
from kproto.messages.fetch import FETCH
from kproto.messages.find_coordinator import FIND_COORDINATOR
from kproto.messages.heartbeat import HEARTBEAT
from kproto.messages.incremental_alter_configs import INCREMENTAL_ALTER_CONFIGS
from kproto.messages.init_producer_id import INIT_PRODUCER_ID
from kproto.messages.join_group import JOIN_GROUP
from kproto.messages.leader_and_isr import LEADER_AND_ISR
from kproto.messages.leave_group import LEAVE_GROUP
from kproto.messages.list_groups import LIST_GROUPS
from kproto.messages.list_offsets import LIST_OFFSETS
from kproto.messages.list_partition_reassignments import LIST_PARTITION_REASSIGNMENTS
from kproto.messages.list_transactions import LIST_TRANSACTIONS
from kproto.messages.metadata import METADATA
from kproto.messages.offset_commit import OFFSET_COMMIT
from kproto.messages.offset_delete import OFFSET_DELETE
from kproto.messages.offset_fetch import OFFSET_FETCH
from kproto.messages.offset_for_leader_epoch import OFFSET_FOR_LEADER_EPOCH
from kproto.messages.produce import PRODUCE
from kproto.messages.sasl_authenticate import SASL_AUTHENTICATE
from kproto.messages.sasl_handshake import SASL_HANDSHAKE
from kproto.messages.scram_credentials import ALTER_USER_SCRAM_CREDENTIALS
from kproto.messages.scram_credentials import DESCRIBE_USER_SCRAM_CREDENTIALS
from kproto.messages.share_acknowledge import SHARE_ACKNOWLEDGE
from kproto.messages.share_fetch import SHARE_FETCH
from kproto.messages.share_group_describe import SHARE_GROUP_DESCRIBE
from kproto.messages.share_group_heartbeat import SHARE_GROUP_HEARTBEAT
from kproto.messages.share_group_offsets import ALTER_SHARE_GROUP_OFFSETS
from kproto.messages.share_group_offsets import DELETE_SHARE_GROUP_OFFSETS
from kproto.messages.share_group_offsets import DESCRIBE_SHARE_GROUP_OFFSETS
from kproto.messages.stop_replica import STOP_REPLICA
from kproto.messages.sync_group import SYNC_GROUP
from kproto.messages.telemetry import GET_TELEMETRY_SUBSCRIPTIONS
from kproto.messages.telemetry import PUSH_TELEMETRY
from kproto.messages.txn_offset_commit import TXN_OFFSET_COMMIT
from kproto.messages.update_metadata import UPDATE_METADATA
from kproto.messages.write_txn_markers import WRITE_TXN_MARKERS
from kproto.schema import Message

ALL: tuple[Message, ...] = tuple(sorted(
    (value for value in list(globals().values()) if isinstance(value, Message)), key=lambda m: m.api_key))

BY_KEY: dict[int, Message] = {m.api_key: m for m in ALL}

__all__ = ["ALL", "BY_KEY", *sorted(name for name, value in list(globals().items()) if isinstance(value, Message))]
