"""Consumer-group requests in raw frames, for the tests that drive groups without a client library:
JoinGroup, SyncGroup, Heartbeat and OffsetCommit bodies, the consumer protocol's subscription and
assignment bytes, and a member made Stable in one call."""

from __future__ import annotations

import struct

from broker.testing import RawClient
from kproto.messages import HEARTBEAT, JOIN_GROUP, OFFSET_COMMIT, SYNC_GROUP

NONE, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS = 0, 22, 25, 27
MEMBER_ID_REQUIRED = 79


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def subscription(*topics: str) -> bytes:
    """ConsumerProtocolSubscription v0: topics, null user data."""
    return struct.pack(">hi", 0, len(topics)) + b"".join(_string(t) for t in topics) + struct.pack(">i", -1)


def assignment(topic: str, partitions: list[int]) -> bytes:
    """ConsumerProtocolAssignment v0."""
    return (struct.pack(">hi", 0, 1) + _string(topic) + struct.pack(">i", len(partitions))
            + b"".join(struct.pack(">i", p) for p in partitions) + struct.pack(">i", -1))


def join(raw: RawClient, group: str, member_id: str = "", *, version: int = 5, topics=("t",),
         session_ms: int = 10000, instance_id: str | None = None) -> dict:
    return raw.request(JOIN_GROUP, version, {
        "group_id": group, "session_timeout_ms": session_ms, "rebalance_timeout_ms": session_ms,
        "member_id": member_id, "group_instance_id": instance_id, "protocol_type": "consumer",
        "protocols": [{"name": "range", "metadata": subscription(*topics)}], "reason": None})


def sync(raw: RawClient, group: str, generation: int, member_id: str, assignments=(), version: int = 3) -> dict:
    return raw.request(SYNC_GROUP, version, {
        "group_id": group, "generation_id": generation, "member_id": member_id, "group_instance_id": None,
        "protocol_type": "consumer", "protocol_name": "range",
        "assignments": [{"member_id": m, "assignment": a} for m, a in assignments]})


def heartbeat(raw: RawClient, group: str, generation: int, member_id: str, version: int = 3) -> int:
    return raw.request(HEARTBEAT, version, {"group_id": group, "generation_id": generation, "member_id": member_id,
                                            "group_instance_id": None})["error_code"]


def commit(raw: RawClient, group: str, offsets: dict[tuple[str, int], int], *, generation: int = -1,
           member_id: str = "", metadata: str | None = "", version: int = 8) -> dict:
    topics: dict[str, list] = {}
    for (topic, partition), offset in offsets.items():
        topics.setdefault(topic, []).append({"partition_index": partition, "committed_offset": offset,
                                             "committed_leader_epoch": -1, "commit_timestamp": -1,
                                             "committed_metadata": metadata})
    response = raw.request(OFFSET_COMMIT, version, {
        "group_id": group, "generation_id_or_member_epoch": generation, "member_id": member_id,
        "group_instance_id": None, "retention_time_ms": -1,
        "topics": [{"name": t, "partitions": parts} for t, parts in topics.items()]})
    return {(t["name"], p["partition_index"]): p["error_code"] for t in response["topics"] for p in t["partitions"]}


def stable_member(raw: RawClient, group: str, topic: str, partitions: list[int], session_ms: int = 10000):
    """Join (v5: MEMBER_ID_REQUIRED first) and sync as the only member: (member id, generation)."""
    first = join(raw, group, topics=(topic,), session_ms=session_ms)
    assert first["error_code"] == MEMBER_ID_REQUIRED
    joined = join(raw, group, first["member_id"], topics=(topic,), session_ms=session_ms)
    assert joined["error_code"] == NONE, joined
    member_id, generation = joined["member_id"], joined["generation_id"]
    synced = sync(raw, group, generation, member_id, [(member_id, assignment(topic, partitions))])
    assert synced["error_code"] == NONE, synced
    return member_id, generation
