"""KIP-848's online migration over real sockets, with raw frames: a classic group upgraded by a
ConsumerGroupHeartbeat, classic members served inside a consumer group (JoinGroup, SyncGroup,
Heartbeat, LeaveGroup, OffsetCommit), the downgrade when the last consumer-protocol member
leaves, group.consumer.migration.policy, and a mixed group surviving a restart."""

from __future__ import annotations

import struct

import pytest

from broker.groups.config import GroupConfig
from broker.groups.consumer_protocol import decode_assignment, encode_assignment
from broker.tests.handlers.serving import create_topic, running_broker
from broker.tests.handlers.test_new_groups import cg_beat, listed
from kproto.errors import ErrorCode as E
from kproto.messages import (
    CONSUMER_GROUP_DESCRIBE, DESCRIBE_GROUPS, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP, OFFSET_COMMIT, SYNC_GROUP)

FAST = {"group.initial.rebalance.delay.ms": "0"}


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """A broker whose classic groups start rebalancing at once (no initial delay)."""
    with running_broker(tmp_path_factory.mktemp("migration") / "data", group_properties=FAST) as served:
        yield served


def subscription(*topics: str, version: int = 1, owned=()) -> bytes:
    """A ConsumerProtocolSubscription (v1: with owned partitions)."""
    out = struct.pack(">hi", version, len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    out += struct.pack(">i", -1)
    if version >= 1:
        out += struct.pack(">i", len(owned))
        for t, parts in owned:
            out += struct.pack(">h", len(t)) + t.encode() + struct.pack(f">i{len(parts)}i", len(parts), *parts)
    return out


def join(client, group, member, metadata, *, ptype="consumer", pname="range", instance=None):
    return client.request(JOIN_GROUP, 9, {
        "group_id": group, "session_timeout_ms": 10000, "rebalance_timeout_ms": 10000, "member_id": member,
        "group_instance_id": instance, "protocol_type": ptype, "protocols": [{"name": pname, "metadata": metadata}],
        "reason": None})


def join_known(client, group, metadata, **kw):
    """JoinGroup v9 twice: MEMBER_ID_REQUIRED, then with the id given."""
    first = join(client, group, "", metadata, **kw)
    assert first["error_code"] == E.MEMBER_ID_REQUIRED
    return join(client, group, first["member_id"], metadata, **kw)


def sync(client, group, member, generation, assignments=(), *, pname="range"):
    return client.request(SYNC_GROUP, 5, {
        "group_id": group, "generation_id": generation, "member_id": member, "group_instance_id": None,
        "protocol_type": "consumer", "protocol_name": pname,
        "assignments": [{"member_id": m, "assignment": a} for m, a in assignments]})


def beat(client, group, member, generation):
    return client.request(HEARTBEAT, 4, {"group_id": group, "generation_id": generation, "member_id": member,
                                         "group_instance_id": None})["error_code"]


def leave(client, group, *members):
    return client.request(LEAVE_GROUP, 5, {"group_id": group, "members": [
        {"member_id": m, "group_instance_id": None, "reason": None} for m in members]})


def described(client, group):
    [d] = client.request(CONSUMER_GROUP_DESCRIBE, 1, {"group_ids": [group],
                                                     "include_authorized_operations": False})["groups"]
    return d


def partitions(assignment: bytes) -> dict[str, list[int]]:
    return {t: sorted(p) for t, p in decode_assignment(assignment)[0]}


def commit(client, group, member, generation, topic, version=8):
    body = {"group_id": group, "generation_id_or_member_epoch": generation, "member_id": member,
            "group_instance_id": None, "retention_time_ms": -1, "topics": [{"name": topic, "partitions": [
                {"partition_index": 0, "committed_offset": 7, "committed_leader_epoch": -1,
                 "committed_metadata": ""}]}]}
    return client.request(OFFSET_COMMIT, version, body)["topics"][0]["partitions"][0]["error_code"]


def classic_group(client, group, topic, n_partitions):
    """A Stable classic group of one member owning every partition; its member id."""
    joined = join_known(client, group, subscription(topic))
    assert (joined["error_code"], joined["generation_id"]) == (E.NONE, 1)
    member = joined["member_id"]
    assignment = encode_assignment(0, [(topic, list(range(n_partitions)))])
    assert sync(client, group, member, 1, [(member, assignment)])["error_code"] == E.NONE
    return member


def test_upgrade_mixed_group_and_downgrade(fast, topic):
    with fast.client() as client:
        topic_id = create_topic(client, topic, 4)
        group = f"mig-{topic}"
        a = classic_group(client, group, topic, 4)
        # A joining ConsumerGroupHeartbeat upgrades the classic group: its member keeps its
        # partitions at the classic generation; the newcomer waits for two of them.
        r = cg_beat(client, group, "c1", 0, [topic])
        assert (r["error_code"], r["member_epoch"], r["assignment"]) == (E.NONE, 2, {"topic_partitions": []})
        assert listed(client)[group] == ("consumer", "Reconciling", "consumer")
        d = described(client, group)
        types = {m["member_id"]: (m["member_type"], m["member_epoch"]) for m in d["members"]}
        assert types == {a: (0, 1), "c1": (1, 2)}
        assert client.request(DESCRIBE_GROUPS, 5, {"groups": [group], "include_authorized_operations": False}
                              )["groups"][0]["group_state"] == "Dead"   # not a classic group any more, as Kafka
        # The classic member must rejoin: its heartbeat and sync say so.
        assert beat(client, group, a, 1) == E.REBALANCE_IN_PROGRESS
        assert sync(client, group, a, 1)["error_code"] == E.REBALANCE_IN_PROGRESS
        assert beat(client, group, a, 7) == E.ILLEGAL_GENERATION
        assert beat(client, group, "c1", 2) == E.UNKNOWN_MEMBER_ID   # not a classic member
        rejoined = join(client, group, a, subscription(topic))
        assert (rejoined["error_code"], rejoined["generation_id"], rejoined["leader"], rejoined["members"],
                rejoined["protocol_type"], rejoined["protocol_name"]) == (E.NONE, 2, "", [], "consumer", "range")
        assert sync(client, group, a, 2, pname="roundrobin")["error_code"] == E.INCONSISTENT_GROUP_PROTOCOL
        synced = sync(client, group, a, 2)
        assert synced["error_code"] == E.NONE and len(partitions(synced["assignment"])[topic]) == 2
        assert beat(client, group, a, 2) == E.NONE
        r = cg_beat(client, group, "c1", 2, owned=[])
        got = r["assignment"]["topic_partitions"][0]
        assert got["topic_id"] == topic_id and sorted(got["partitions"] + partitions(synced["assignment"])[topic]) \
            == [0, 1, 2, 3]
        assert listed(client)[group] == ("consumer", "Stable", "consumer")
        # A classic member commits with its generation (any OffsetCommit version).
        assert commit(client, group, a, 1, topic) == E.ILLEGAL_GENERATION
        assert commit(client, group, a, 2, topic) == E.NONE
        # A classic member with a protocol the others lack is refused; an unknown one cannot leave.
        assert join(client, group, "", subscription(topic), ptype="connect")["error_code"] == \
            E.INCONSISTENT_GROUP_PROTOCOL
        assert leave(client, group, "ghost")["members"][0]["error_code"] == E.UNKNOWN_MEMBER_ID
        # The last consumer-protocol member leaves: back to a classic group, which rebalances.
        assert cg_beat(client, group, "c1", -1)["error_code"] == E.NONE
        assert listed(client)[group] == ("classic", "PreparingRebalance", "consumer")
        assert beat(client, group, a, 2) == E.REBALANCE_IN_PROGRESS
        rejoined = join(client, group, a, subscription(topic))
        assert (rejoined["error_code"], rejoined["generation_id"], rejoined["leader"]) == (E.NONE, 3, a)
        assert sync(client, group, a, 3, [(a, encode_assignment(0, [(topic, [0, 1, 2, 3])]))])["error_code"] == 0
        assert listed(client)[group] == ("classic", "Stable", "consumer")
        assert leave(client, group, a)["members"][0]["error_code"] == E.NONE


def test_a_classic_member_joins_a_consumer_group_and_the_group_follows_it_down(fast, topic):
    """A classic JoinGroup into a consumer group with members is served (whatever the policy);
    a cooperative member reporting owned partitions revokes before it gets new ones."""
    with fast.client() as client:
        create_topic(client, topic, 2)
        group = f"join-{topic}"
        assert cg_beat(client, group, "c1", 0, [topic])["member_epoch"] == 1
        first = join(client, group, "", subscription(topic))
        assert first["error_code"] == E.MEMBER_ID_REQUIRED
        b = first["member_id"]
        joined = join(client, group, b, subscription(topic))
        assert (joined["error_code"], joined["generation_id"]) == (E.NONE, 2)
        assert partitions(sync(client, group, b, 2)["assignment"]) == {}   # c1 still owns both
        assert join(client, group, b, b"\x00")["error_code"] == E.UNKNOWN_SERVER_ERROR   # as Kafka: malformed
        assert beat(client, group, b, 2) == E.NONE                          # nothing freed yet
        cg_beat(client, group, "c1", 1, owned=[])                            # c1 gives one up
        assert beat(client, group, b, 2) == E.REBALANCE_IN_PROGRESS         # its partition is free now
        rejoined = join(client, group, b, subscription(topic, owned=[]))
        assert len(partitions(sync(client, group, b, rejoined["generation_id"])["assignment"])[topic]) == 1
        # LeaveGroup removes a consumer-protocol member too; only the classic one remains: downgrade
        assert leave(client, group, "c1")["members"][0]["error_code"] == E.NONE
        assert listed(client)[group] == ("classic", "PreparingRebalance", "consumer")


def test_upgrade_refused_with_kafkas_reasons(fast, topic, tmp_path):
    with pytest.raises(ValueError, match="group.consumer.migration.policy"):
        GroupConfig.from_broker_properties({"group.consumer.migration.policy": "sideways"})
    with fast.client() as client:
        create_topic(client, topic, 1)
        connect = f"connect-{topic}"
        joined = join_known(client, connect, b"\x00\x01", ptype="connect", pname="default")
        r = cg_beat(client, connect, "c1", 0, [topic])
        assert r["error_code"] == E.GROUP_ID_NOT_FOUND
        assert "does not use the consumer embedded protocol" in r["error_message"]
        # an assignor's user data would be lost: refused, the classic group goes on
        custom = f"custom-{topic}"
        joined = join_known(client, custom, subscription(topic))
        member = joined["member_id"]
        with_user_data = encode_assignment(0, [(topic, [0])])[:-4] + struct.pack(">i", 1) + b"x"
        assert sync(client, custom, member, 1, [(member, with_user_data)])["error_code"] == E.NONE
        r = cg_beat(client, custom, "c1", 0, [topic])
        assert r["error_code"] == E.GROUP_ID_NOT_FOUND and "unsupported custom assignor" in r["error_message"]
        assert beat(client, custom, member, 1) == E.NONE
    with running_broker(tmp_path / "data", group_properties={
            **FAST, "group.consumer.migration.policy": "Disabled"}) as served, served.client() as client:
        create_topic(client, topic, 1)
        group = f"off-{topic}"
        a = classic_group(client, group, topic, 1)
        r = cg_beat(client, group, "c1", 0, [topic])
        assert r["error_code"] == E.GROUP_ID_NOT_FOUND and "online upgrade is disabled" in r["error_message"]
        assert listed(client)[group] == ("classic", "Stable", "consumer")
        leave(client, group, a)
        # no downgrade either: the consumer group keeps its classic member when c1 leaves
        mixed = f"mixed-{topic}"
        cg_beat(client, mixed, "c1", 0, [topic])
        b = join_known(client, mixed, subscription(topic))["member_id"]
        assert cg_beat(client, mixed, "c1", -1)["error_code"] == E.NONE
        assert listed(client)[mixed] == ("consumer", "Reconciling", "consumer")
        assert [m["member_type"] for m in described(client, mixed)["members"]] == [0]
        assert leave(client, mixed, b)["members"][0]["error_code"] == E.NONE
        assert listed(client)[mixed] == ("consumer", "Empty", "consumer")


def test_a_mixed_group_survives_a_restart(tmp_path, topic):
    data = tmp_path / "data"
    with running_broker(data, group_properties=FAST) as served, served.client() as client:
        create_topic(client, topic, 2)
        group = f"restart-{topic}"
        assert cg_beat(client, group, "c1", 0, [topic])["member_epoch"] == 1
        b = join_known(client, group, subscription(topic))["member_id"]
    with running_broker(data, group_properties=FAST) as served, served.client() as client:
        d = described(client, group)
        assert {m["member_id"]: m["member_type"] for m in d["members"]} == {"c1": 1, b: 0}
        assert beat(client, group, b, 2) == E.NONE
        assert cg_beat(client, group, "c1", -1)["error_code"] == E.NONE   # the downgrade needs its metadata
        assert listed(client)[group] == ("classic", "PreparingRebalance", "consumer")
    with running_broker(data, group_properties=FAST) as served, served.client() as client:
        assert listed(client)[group] == ("classic", "Stable", "consumer")   # the downgrade's GroupMetadata
        assert beat(client, group, b, 2) == E.NONE


def test_a_classic_static_member_replacing_the_last_consumer_member_downgrades_the_group(fast, topic):
    """A rolling downgrade with static membership: the classic incarnation of the last
    consumer-protocol member takes its instance id and its partitions, and the group is a
    classic one again, Stable (same subscription: no rebalance), as Kafka's
    validateOnlineDowngradeWithReplacedMember."""
    with fast.client() as client:
        create_topic(client, topic, 2)
        group = f"static-{topic}"
        assert cg_beat(client, group, "s1", 0, [topic], instance="i1")["member_epoch"] == 1
        b = join_known(client, group, subscription(topic))["member_id"]
        kept = cg_beat(client, group, "s1", 1, owned=[])["assignment"]   # s1 gives a partition up to b
        [s1_parts] = [tp["partitions"] for tp in kept["topic_partitions"]]
        joined = join(client, group, "", subscription(topic), instance="i1")
        assert (joined["error_code"], joined["generation_id"]) == (E.NONE, 2)
        assert listed(client)[group] == ("classic", "Stable", "consumer")
        synced = sync(client, group, joined["member_id"], 2)
        assert synced["error_code"] == E.NONE
        assert partitions(synced["assignment"]) == {topic: s1_parts}      # the instance's partitions
        assert beat(client, group, b, 2) == E.NONE
