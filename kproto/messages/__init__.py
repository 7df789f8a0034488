"""Every API kproto declares, by API key."""

from kproto.messages.add_offsets_to_txn import ADD_OFFSETS_TO_TXN
from kproto.messages.add_partitions_to_txn import ADD_PARTITIONS_TO_TXN
from kproto.messages.api_versions import API_VERSIONS
from kproto.messages.create_topics import CREATE_TOPICS
from kproto.messages.delete_groups import DELETE_GROUPS
from kproto.messages.delete_topics import DELETE_TOPICS
from kproto.messages.describe_groups import DESCRIBE_GROUPS
from kproto.messages.describe_producers import DESCRIBE_PRODUCERS
from kproto.messages.describe_transactions import DESCRIBE_TRANSACTIONS
from kproto.messages.end_txn import END_TXN
from kproto.messages.fetch import FETCH
from kproto.messages.find_coordinator import FIND_COORDINATOR
from kproto.messages.heartbeat import HEARTBEAT
from kproto.messages.init_producer_id import INIT_PRODUCER_ID
from kproto.messages.join_group import JOIN_GROUP
from kproto.messages.leave_group import LEAVE_GROUP
from kproto.messages.list_groups import LIST_GROUPS
from kproto.messages.list_offsets import LIST_OFFSETS
from kproto.messages.list_transactions import LIST_TRANSACTIONS
from kproto.messages.metadata import METADATA
from kproto.messages.offset_commit import OFFSET_COMMIT
from kproto.messages.offset_delete import OFFSET_DELETE
from kproto.messages.offset_fetch import OFFSET_FETCH
from kproto.messages.produce import PRODUCE
from kproto.messages.sync_group import SYNC_GROUP
from kproto.messages.txn_offset_commit import TXN_OFFSET_COMMIT
from kproto.messages.write_txn_markers import WRITE_TXN_MARKERS
from kproto.schema import Message

ALL: tuple[Message, ...] = (
    PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR,
    JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS, API_VERSIONS,
    CREATE_TOPICS, DELETE_TOPICS, INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN,
    WRITE_TXN_MARKERS, TXN_OFFSET_COMMIT, DELETE_GROUPS, OFFSET_DELETE, DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS,
    LIST_TRANSACTIONS,
)

BY_KEY: dict[int, Message] = {m.api_key: m for m in ALL}

__all__ = [
    "ALL", "BY_KEY", "ADD_OFFSETS_TO_TXN", "ADD_PARTITIONS_TO_TXN", "API_VERSIONS", "CREATE_TOPICS", "DELETE_GROUPS",
    "DELETE_TOPICS", "DESCRIBE_GROUPS", "DESCRIBE_PRODUCERS", "DESCRIBE_TRANSACTIONS", "END_TXN", "FETCH",
    "FIND_COORDINATOR", "HEARTBEAT", "INIT_PRODUCER_ID", "JOIN_GROUP", "LEAVE_GROUP", "LIST_GROUPS", "LIST_OFFSETS",
    "LIST_TRANSACTIONS", "METADATA", "OFFSET_COMMIT", "OFFSET_DELETE", "OFFSET_FETCH", "PRODUCE", "SYNC_GROUP",
    "TXN_OFFSET_COMMIT", "WRITE_TXN_MARKERS",
]
