"""Group behaviour that the client libraries hide, checked with raw frames: JoinGroup's
MEMBER_ID_REQUIRED dance, Heartbeat errors, OffsetFetch of unknown groups, simple commits,
offsets of deleted topics, and offset expiry (what expires, and what a Stable group keeps)."""

from __future__ import annotations

import time

import pytest

from broker.testing import RawClient
from compat_tests.clients import create_topic
from compat_tests.group_clients import committed_offsets, describe_group, wait_until
from compat_tests.raw_groups import (
    ILLEGAL_GENERATION, MEMBER_ID_REQUIRED, NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, commit, heartbeat, join,
    stable_member, subscription, sync)
from kproto.messages import DELETE_TOPICS, JOIN_GROUP, LEAVE_GROUP, LIST_GROUPS, OFFSET_COMMIT

# --------------------------------------------------------------------------------------------- join


@pytest.mark.parametrize("version", [4, 5, 7, 9])
def test_join_v4_plus_requires_a_member_id(bootstrap, topic_name, version):
    group = f"g-{topic_name}"
    with RawClient(bootstrap, client_id="raw-joiner") as raw:
        first = join(raw, group, version=version, topics=(topic_name,))
        assert first["error_code"] == MEMBER_ID_REQUIRED
        member_id = first["member_id"]
        assert member_id.startswith("raw-joiner-") and len(member_id) > len("raw-joiner-")
        assert (first["generation_id"], first["leader"], first["members"]) == (-1, "", [])
        # the group holds the id as pending: not a member yet
        assert describe_group(bootstrap, group)["members"] == []

        joined = join(raw, group, member_id, version=version, topics=(topic_name,))
        assert joined["error_code"] == NONE
        assert (joined["member_id"], joined["leader"], joined["generation_id"]) == (member_id, member_id, 1)
        assert joined["protocol_name"] == "range"
        assert [(m["member_id"], m["metadata"]) for m in joined["members"]] == [(member_id, subscription(topic_name))]
        if version >= 7:
            assert joined["protocol_type"] == "consumer"
        # a second id-less join hands out another id
        other = join(raw, group, version=version, topics=(topic_name,))
        assert other["error_code"] == MEMBER_ID_REQUIRED and other["member_id"] not in ("", member_id)


def test_join_v3_joins_at_once(bootstrap, topic_name):
    with RawClient(bootstrap, client_id="old-client") as raw:
        joined = join(raw, f"g-{topic_name}", version=3, topics=(topic_name,))
    assert joined["error_code"] == NONE and joined["member_id"].startswith("old-client-")
    assert joined["leader"] == joined["member_id"] and joined["generation_id"] == 1


# ---------------------------------------------------------------------------------------- heartbeat


def test_heartbeat_errors(bootstrap, topic_name):
    group = f"g-{topic_name}"
    with RawClient(bootstrap) as raw:
        member_id, generation = stable_member(raw, group, topic_name, [0])
        assert heartbeat(raw, group, generation, member_id) == NONE
        assert heartbeat(raw, group, generation + 1, member_id) == ILLEGAL_GENERATION
        assert heartbeat(raw, group, generation - 1, member_id) == ILLEGAL_GENERATION
        assert heartbeat(raw, group, generation, "raw-test-not-a-member") == UNKNOWN_MEMBER_ID
        assert heartbeat(raw, f"{group}-unknown", 1, member_id) == UNKNOWN_MEMBER_ID
        # SyncGroup and OffsetCommit check the generation the same way
        assert sync(raw, group, generation + 1, member_id)["error_code"] == ILLEGAL_GENERATION
        assert commit(raw, group, {(topic_name, 0): 1}, generation=generation + 1,
                      member_id=member_id) == {(topic_name, 0): ILLEGAL_GENERATION}
        assert commit(raw, group, {(topic_name, 0): 1}, generation=generation,
                      member_id="raw-test-not-a-member") == {(topic_name, 0): UNKNOWN_MEMBER_ID}
        assert heartbeat(raw, group, generation, member_id) == NONE   # still fine


def test_heartbeat_tells_of_a_rebalance(bootstrap, topic_name):
    group = f"g-{topic_name}"
    with RawClient(bootstrap) as first, RawClient(bootstrap) as second:
        member_id, generation = stable_member(first, group, topic_name, [0])
        # a second member's join parks until the first rejoins: send it without waiting
        pending = join(second, group, topics=(topic_name,))
        assert pending["error_code"] == MEMBER_ID_REQUIRED
        second.send(JOIN_GROUP, 5, {
            "group_id": group, "session_timeout_ms": 10000, "rebalance_timeout_ms": 10000,
            "member_id": pending["member_id"], "group_instance_id": None, "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": subscription(topic_name)}]})
        wait_until(lambda: heartbeat(first, group, generation, member_id) == REBALANCE_IN_PROGRESS, 10,
                   "no REBALANCE_IN_PROGRESS")
        rejoined = join(first, group, member_id, topics=(topic_name,))
        assert rejoined["error_code"] == NONE and rejoined["generation_id"] == generation + 1
        _, other = second.receive(JOIN_GROUP, 5)
        assert other["error_code"] == NONE and other["generation_id"] == generation + 1
        assert {rejoined["leader"], other["leader"]} == {member_id}


# ------------------------------------------------------------------------------------------ offsets


@pytest.mark.parametrize("version", [1, 2, 5, 7, 8, 9])
def test_offset_fetch_of_unknown_group(bootstrap, topic_name, version):
    create_topic("confluent", bootstrap, topic_name, 2)
    group = f"never-seen-{topic_name}"
    assert committed_offsets(bootstrap, group, topic_name, 2, version=version) == {
        (topic_name, 0): (-1, ""), (topic_name, 1): (-1, "")}
    if version >= 2:
        assert committed_offsets(bootstrap, group, None, version=version) == {}


def test_simple_commit_generation_minus_one(bootstrap, topic_name):
    """No membership: generation -1 and an empty member id commit to an Empty group."""
    create_topic("confluent", bootstrap, topic_name, 3)
    group = f"g-{topic_name}"
    with RawClient(bootstrap) as raw:
        assert commit(raw, group, {(topic_name, 0): 11, (topic_name, 2): 22}, metadata="simple") == {
            (topic_name, 0): NONE, (topic_name, 2): NONE}
        assert commit(raw, group, {(topic_name, 5): 1}) == {(topic_name, 5): 3}   # UNKNOWN_TOPIC_OR_PARTITION
        # v0 (no generation at all) commits the same way; null metadata reads back as ""
        assert commit(raw, group, {(topic_name, 1): 7}, metadata=None, version=0) == {(topic_name, 1): NONE}
        groups = raw.request(LIST_GROUPS, 4, {"states_filter": []})["groups"]
    assert {g["group_id"]: (g["protocol_type"], g["group_state"]) for g in groups}[group] == ("", "Empty")
    assert committed_offsets(bootstrap, group, topic_name, 3) == {
        (topic_name, 0): (11, "simple"), (topic_name, 1): (7, ""), (topic_name, 2): (22, "simple")}
    assert committed_offsets(bootstrap, group, None) == {
        (topic_name, 0): (11, "simple"), (topic_name, 1): (7, ""), (topic_name, 2): (22, "simple")}
    assert describe_group(bootstrap, group)["group_state"] == "Empty"


def test_offsets_of_a_deleted_topic_disappear(bootstrap, topic_name):
    group = f"g-{topic_name}"
    keep, gone = f"{topic_name}-keep", f"{topic_name}-gone"
    create_topic("confluent", bootstrap, keep, 1)
    create_topic("confluent", bootstrap, gone, 2)
    with RawClient(bootstrap) as raw:
        assert set(commit(raw, group, {(keep, 0): 4, (gone, 0): 5, (gone, 1): 6}).values()) == {NONE}
        assert committed_offsets(bootstrap, group, None) == {(keep, 0): (4, ""), (gone, 0): (5, ""), (gone, 1): (6, "")}
        deleted = raw.request(DELETE_TOPICS, 4, {"topic_names": [gone], "timeout_ms": 10000})
        assert [r["error_code"] for r in deleted["responses"]] == [NONE]
    assert committed_offsets(bootstrap, group, None) == {(keep, 0): (4, "")}
    # asked for by name, the deleted topic's partitions answer -1
    assert committed_offsets(bootstrap, group, gone, 2) == {(gone, 0): (-1, ""), (gone, 1): (-1, "")}


def test_offsets_of_a_deleted_topic_stay_gone_after_restart(own_broker, topic_name):
    own_broker.start()
    bootstrap = own_broker.bootstrap
    group = f"g-{topic_name}"
    create_topic("confluent", bootstrap, topic_name, 1)
    with RawClient(bootstrap) as raw:
        assert commit(raw, group, {(topic_name, 0): 9}) == {(topic_name, 0): NONE}
        raw.request(DELETE_TOPICS, 4, {"topic_names": [topic_name], "timeout_ms": 10000})
    own_broker.restart()
    assert committed_offsets(bootstrap, group, None) == {}


def test_offset_expiry_spares_stable_groups(own_broker, topic_name):
    """Kafka's offset retention, made fast with offsets.retention.minutes=0 (below Kafka's
    minimum of 1: every offset that may expire does so at the next check, every 100 ms).
    An Empty simple group loses its offsets (and the group goes); a Stable consumer group keeps
    the offsets of topics it subscribes to and loses those of other topics; once it is Empty
    its offsets go too."""
    own_broker.overrides.update({"offsets.retention.minutes": "0", "offsets.retention.check.interval.ms": "100"})
    own_broker.start()
    bootstrap = own_broker.bootstrap
    subscribed, other = f"{topic_name}-sub", f"{topic_name}-other"
    create_topic("confluent", bootstrap, subscribed, 1)
    create_topic("confluent", bootstrap, other, 1)
    stable, simple = f"stable-{topic_name}", f"simple-{topic_name}"

    def listed():
        with RawClient(bootstrap) as raw:
            return {g["group_id"]: g["group_state"] for g in raw.request(LIST_GROUPS, 4, {"states_filter": []})["groups"]}

    with RawClient(bootstrap) as raw:
        member_id, generation = stable_member(raw, stable, subscribed, [0])
        assert commit(raw, stable, {(subscribed, 0): 3, (other, 0): 4}, generation=generation,
                      member_id=member_id) == {(subscribed, 0): NONE, (other, 0): NONE}
        assert commit(raw, simple, {(subscribed, 0): 5}) == {(subscribed, 0): NONE}

        wait_until(lambda: committed_offsets(bootstrap, simple, None) == {}, 10, "simple group's offsets kept")
        wait_until(lambda: simple not in listed(), 10, "empty group without offsets not deleted")
        wait_until(lambda: committed_offsets(bootstrap, stable, None) == {(subscribed, 0): (3, "")}, 10,
                   lambda: f"stable group: {committed_offsets(bootstrap, stable, None)}")
        for _ in range(5):   # several checks later, still there
            time.sleep(0.2)
            assert heartbeat(raw, stable, generation, member_id) == NONE
            assert committed_offsets(bootstrap, stable, None) == {(subscribed, 0): (3, "")}
        assert listed()[stable] == "Stable"

        left = raw.request(LEAVE_GROUP, 3, {"group_id": stable, "members": [
            {"member_id": member_id, "group_instance_id": None}]})
        assert left["error_code"] == NONE and [m["error_code"] for m in left["members"]] == [NONE]
    wait_until(lambda: committed_offsets(bootstrap, stable, None) == {}, 10, "empty group's offsets kept")
    wait_until(lambda: stable not in listed(), 10, "expired empty group not deleted")


def test_offset_commit_v2_to_v4_retention_time_sets_an_expire_timestamp(own_broker, topic_name):
    """OffsetCommit v2-4 carry retention_time_ms; Kafka keeps an explicit expire timestamp
    (commit time + retention) for such offsets and expires them by it, whatever
    offsets.retention.minutes says (OffsetCommitValue v1). -1 means the broker's retention."""
    own_broker.overrides.update({"offsets.retention.check.interval.ms": "100"})
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 3)
    group = f"g-{topic_name}"

    def commit_v(version, partition, offset, retention_ms):
        with RawClient(bootstrap) as raw:
            response = raw.request(OFFSET_COMMIT, version, {
                "group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
                "retention_time_ms": retention_ms, "topics": [{"name": topic_name, "partitions": [
                    {"partition_index": partition, "committed_offset": offset, "committed_leader_epoch": -1,
                     "commit_timestamp": -1, "committed_metadata": "r"}]}]})
        assert response["topics"][0]["partitions"][0]["error_code"] == NONE

    commit_v(2, 0, 10, 600)          # expires 0.6 s from now
    commit_v(4, 1, 11, -1)           # the broker's retention (a week)
    commit_v(3, 2, 12, 3_600_000)    # an hour
    assert committed_offsets(bootstrap, group, None) == {
        (topic_name, 0): (10, "r"), (topic_name, 1): (11, "r"), (topic_name, 2): (12, "r")}
    wait_until(lambda: (topic_name, 0) not in committed_offsets(bootstrap, group, None), 10,
               "an offset committed with retention_time_ms=600 did not expire")
    time.sleep(0.3)
    assert committed_offsets(bootstrap, group, None) == {(topic_name, 1): (11, "r"), (topic_name, 2): (12, "r")}
    # the expire timestamp is durable: after a restart the hour-long one is still there, and
    # a short one committed before the restart expires after it
    commit_v(2, 0, 13, 1500)
    own_broker.restart()
    assert committed_offsets(bootstrap, group, None) == {
        (topic_name, 0): (13, "r"), (topic_name, 1): (11, "r"), (topic_name, 2): (12, "r")}
    wait_until(lambda: (topic_name, 0) not in committed_offsets(bootstrap, group, None), 10,
               "the expire timestamp was lost in the restart")
    assert committed_offsets(bootstrap, group, None) == {(topic_name, 1): (11, "r"), (topic_name, 2): (12, "r")}


def test_offset_expiry_in_consumer_and_share_groups(own_broker, topic_name):
    """KIP-848 consumer groups: offsets of topics the group does not subscribe to expire after
    offsets.retention.minutes from their commit; those of subscribed topics stay while the
    group subscribes; an empty group without offsets goes. Share groups never expire."""
    from broker.tests.handlers.test_new_groups import cg_beat, sg_beat
    own_broker.overrides.update({"offsets.retention.minutes": "0", "offsets.retention.check.interval.ms": "100"})
    own_broker.start()
    bootstrap = own_broker.bootstrap
    subscribed, other = f"{topic_name}-sub", f"{topic_name}-other"
    create_topic("confluent", bootstrap, subscribed, 1)
    create_topic("confluent", bootstrap, other, 1)
    group, share = f"cg-{topic_name}", f"sg-{topic_name}"

    def listed():
        with RawClient(bootstrap) as raw:
            return {g["group_id"] for g in raw.request(LIST_GROUPS, 5, {"states_filter": [],
                                                                        "types_filter": []})["groups"]}

    with RawClient(bootstrap) as raw:
        assert cg_beat(raw, group, "m1", 0, [subscribed])["member_epoch"] == 1
        assert sg_beat(raw, share, "s1", 0, [subscribed])["error_code"] == NONE
        response = raw.request(OFFSET_COMMIT, 9, {
            "group_id": group, "generation_id_or_member_epoch": 1, "member_id": "m1", "group_instance_id": None,
            "topics": [{"name": t, "partitions": [{"partition_index": 0, "committed_offset": o,
                                                   "committed_leader_epoch": -1, "committed_metadata": ""}]}
                       for t, o in ((subscribed, 3), (other, 4))]})
        assert [p["error_code"] for t in response["topics"] for p in t["partitions"]] == [NONE, NONE]
        wait_until(lambda: committed_offsets(bootstrap, group, None) == {(subscribed, 0): (3, "")}, 10,
                   lambda: f"consumer group: {committed_offsets(bootstrap, group, None)}")
        for _ in range(3):   # several checks later, the subscribed topic's offset is still there
            time.sleep(0.2)
            assert cg_beat(raw, group, "m1", 1)["error_code"] == NONE
        assert committed_offsets(bootstrap, group, None) == {(subscribed, 0): (3, "")}
        assert group in listed()
        assert cg_beat(raw, group, "m1", -1)["member_epoch"] == -1     # leaves: nothing subscribed any more
        assert sg_beat(raw, share, "s1", -1)["error_code"] == NONE
    wait_until(lambda: committed_offsets(bootstrap, group, None) == {}, 10, "empty consumer group's offsets kept")
    wait_until(lambda: group not in listed(), 10, "expired empty consumer group not deleted")
    time.sleep(0.5)
    assert share in listed()
