"""A consumer group as Kafka's coordinator records it in ``__consumer_offsets``, and back.

Writing: each change of a group is a list of ``Change``s, ``(group_id, record type, key,
value or None)``, in the order Kafka's GroupMetadataManager appends them: a member's
metadata, the group epoch (with the subscribed topics' metadata when it changed), the
target assignment of each member whose target changed then the target epoch, and a
member's current assignment after reconciliation. A member that goes takes its current
assignment, target and metadata with it (tombstones); a deleted group its target
metadata, partition metadata and group metadata.

Reading: ``replay`` applies one record to the groups being loaded, as Kafka's replay
methods do; the last record of each key wins.
"""

from __future__ import annotations

import uuid

from kproto import group_records as R

from .assignors import Assignment
from .group import ConsumerGroup
from .member import ClassicMetadata, ConsumerGroupMember, MemberState

Change = tuple[str, int, dict, dict | None]


def topic_partitions(assignment: Assignment) -> list[dict]:
    return [{"topic_id": t.bytes, "partitions": sorted(p)} for t, p in sorted(assignment.items(), key=lambda i: str(i[0]))]


def _assignment(value: list[dict]) -> Assignment:
    return {uuid.UUID(bytes=bytes(tp["topic_id"])): frozenset(tp["partitions"]) for tp in value if tp["partitions"]}


def member_metadata(group_id: str, m: ConsumerGroupMember) -> Change:
    classic = None if m.classic is None else {
        "session_timeout_ms": m.classic.session_timeout_ms,
        "supported_protocols": [{"name": n, "metadata": d} for n, d in m.classic.protocols]}
    return (group_id, R.CONSUMER_GROUP_MEMBER_METADATA, {"group_id": group_id, "member_id": m.member_id}, {
        "instance_id": m.instance_id, "rack_id": m.rack_id, "client_id": m.client_id,
        "client_host": m.client_host, "subscribed_topic_names": list(m.subscribed_topic_names),
        "subscribed_topic_regex": m.subscribed_topic_regex, "rebalance_timeout_ms": m.rebalance_timeout_ms,
        "server_assignor": m.server_assignor, "classic_member_metadata": classic})


def current_assignment(group_id: str, m: ConsumerGroupMember) -> Change:
    return (group_id, R.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT, {"group_id": group_id, "member_id": m.member_id}, {
        "member_epoch": m.member_epoch, "previous_member_epoch": m.previous_member_epoch, "state": int(m.state),
        "assigned_partitions": topic_partitions(m.assigned),
        "partitions_pending_revocation": topic_partitions(m.pending_revocation)})


def target_member(group_id: str, member_id: str, assignment: Assignment) -> Change:
    return (group_id, R.CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER, {"group_id": group_id, "member_id": member_id},
            {"topic_partitions": topic_partitions(assignment)})


def target_epoch(group_id: str, epoch: int) -> Change:
    return (group_id, R.CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA, {"group_id": group_id},
            {"assignment_epoch": epoch})


def group_epoch(group_id: str, epoch: int) -> Change:
    return (group_id, R.CONSUMER_GROUP_METADATA, {"group_id": group_id}, {"epoch": epoch})


def partition_metadata(group_id: str, metadata: tuple) -> Change:
    return (group_id, R.CONSUMER_GROUP_PARTITION_METADATA, {"group_id": group_id}, {"topics": [
        {"topic_id": topic_id.bytes, "topic_name": name, "num_partitions": n, "partition_metadata": []}
        for name, topic_id, n in metadata]})


def member_gone(group_id: str, member_id: str) -> list[Change]:
    key = {"group_id": group_id, "member_id": member_id}
    return [(group_id, R.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT, key, None),
            (group_id, R.CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER, key, None),
            (group_id, R.CONSUMER_GROUP_MEMBER_METADATA, key, None)]


def group_gone(group_id: str) -> list[Change]:
    key = {"group_id": group_id}
    return [(group_id, R.CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA, key, None),
            (group_id, R.CONSUMER_GROUP_PARTITION_METADATA, key, None),
            (group_id, R.CONSUMER_GROUP_METADATA, key, None)]


def replay(groups: dict[str, ConsumerGroup], record_type: int, key: dict, value: dict | None, now_ms: int) -> None:
    """Apply one record read back from ``__consumer_offsets`` (Kafka's replay)."""
    group_id = key["group_id"]
    group = groups.get(group_id)
    if group is None:
        if value is None:
            return
        group = groups[group_id] = ConsumerGroup(group_id, now_ms)
    if record_type == R.CONSUMER_GROUP_METADATA:
        if value is None:
            del groups[group_id]
        else:
            group.group_epoch = value["epoch"]
    elif record_type == R.CONSUMER_GROUP_PARTITION_METADATA:
        group.subscription_metadata = () if value is None else tuple(
            (t["topic_name"], uuid.UUID(bytes=bytes(t["topic_id"])), t["num_partitions"]) for t in value["topics"])
    elif record_type == R.CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA:
        group.assignment_epoch = 0 if value is None else value["assignment_epoch"]
    elif record_type == R.CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER:
        if value is None:
            group.target.pop(key["member_id"], None)
        else:
            group.target[key["member_id"]] = _assignment(value["topic_partitions"])
    elif record_type == R.CONSUMER_GROUP_MEMBER_METADATA:
        member_id = key["member_id"]
        if value is None:
            group.remove(member_id)
            return
        classic = value["classic_member_metadata"]
        old = group.members.get(member_id) or ConsumerGroupMember(member_id)
        group.put(old.with_(
            instance_id=value["instance_id"], rack_id=value["rack_id"], client_id=value["client_id"],
            client_host=value["client_host"], subscribed_topic_names=tuple(value["subscribed_topic_names"]),
            subscribed_topic_regex=value["subscribed_topic_regex"],
            rebalance_timeout_ms=value["rebalance_timeout_ms"], server_assignor=value["server_assignor"],
            classic=None if classic is None else ClassicMetadata(
                classic["session_timeout_ms"],
                tuple((p["name"], bytes(p["metadata"])) for p in classic["supported_protocols"]))))
    elif record_type == R.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT:
        member = group.members.get(key["member_id"])
        if member is None or value is None:
            return
        try:
            state = MemberState(value["state"])
        except ValueError:
            state = MemberState.UNKNOWN
        group.put(member.with_(
            member_epoch=value["member_epoch"], previous_member_epoch=value["previous_member_epoch"],
            state=state, assigned=_assignment(value["assigned_partitions"]),
            pending_revocation=_assignment(value["partitions_pending_revocation"])))
