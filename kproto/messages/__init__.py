"""Every API kproto declares, by API key."""

from kproto.messages.api_versions import API_VERSIONS
from kproto.messages.create_topics import CREATE_TOPICS
from kproto.messages.delete_groups import DELETE_GROUPS
from kproto.messages.delete_records import DELETE_RECORDS
from kproto.messages.delete_topics import DELETE_TOPICS
from kproto.messages.describe_groups import DESCRIBE_GROUPS
from kproto.messages.fetch import FETCH
from kproto.messages.find_coordinator import FIND_COORDINATOR
from kproto.messages.heartbeat import HEARTBEAT
from kproto.messages.init_producer_id import INIT_PRODUCER_ID
from kproto.messages.join_group import JOIN_GROUP
from kproto.messages.leave_group import LEAVE_GROUP
from kproto.messages.list_groups import LIST_GROUPS
from kproto.messages.list_offsets import LIST_OFFSETS
from kproto.messages.metadata import METADATA
from kproto.messages.offset_commit import OFFSET_COMMIT
from kproto.messages.offset_delete import OFFSET_DELETE
from kproto.messages.offset_fetch import OFFSET_FETCH
from kproto.messages.produce import PRODUCE
from kproto.messages.sync_group import SYNC_GROUP
from kproto.schema import Message

ALL: tuple[Message, ...] = (
    PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR,
    JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS, API_VERSIONS,
    CREATE_TOPICS, DELETE_TOPICS, INIT_PRODUCER_ID, DELETE_GROUPS, OFFSET_DELETE,
    DELETE_RECORDS,
)

BY_KEY: dict[int, Message] = {m.api_key: m for m in ALL}

__all__ = [
    "ALL", "BY_KEY", "API_VERSIONS", "CREATE_TOPICS", "DELETE_GROUPS", "DELETE_TOPICS", "DESCRIBE_GROUPS",
    "DELETE_RECORDS",
    "FETCH", "FIND_COORDINATOR", "HEARTBEAT", "INIT_PRODUCER_ID", "JOIN_GROUP", "LEAVE_GROUP", "LIST_GROUPS",
    "LIST_OFFSETS", "METADATA", "OFFSET_COMMIT", "OFFSET_DELETE", "OFFSET_FETCH", "PRODUCE", "SYNC_GROUP",
]
