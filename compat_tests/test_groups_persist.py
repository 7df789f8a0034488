"""Classic groups are persisted as Kafka persists them (GroupMetadata records in __consumer_offsets)
and reloaded at start, after a clean stop or a crash: a Stable group keeps its generation, members
and assignments (a running client notices nothing), an Empty group keeps its protocol type and
generation, a deleted group stays deleted, and loaded members' sessions run from the load."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from broker.testing import RawClient
from compat_tests.clients import Out, create_topic, produce
from compat_tests.group_clients import GroupMember, committed_offsets, describe_group, wait_settled, wait_until
from compat_tests.raw_groups import (
    ILLEGAL_GENERATION, MEMBER_ID_REQUIRED, NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, assignment, commit,
    heartbeat, join, stable_member, sync)
from kproto.messages import DELETE_GROUPS, LEAVE_GROUP, LIST_GROUPS

PARTITIONS = 3


def bounce(broker, how: str) -> None:
    """Stop the broker cleanly (SIGTERM) or crash it (SIGKILL), and start it again."""
    if how == "restart":
        broker.restart()
    else:
        broker.kill()
        broker.start()


def listed(bootstrap: str) -> dict[str, tuple[str, str]]:
    with RawClient(bootstrap) as raw:
        return {g["group_id"]: (g["protocol_type"], g["group_state"])
                for g in raw.request(LIST_GROUPS, 4, {"states_filter": []})["groups"]}


def leave(raw: RawClient, group: str, member_id: str) -> int:
    response = raw.request(LEAVE_GROUP, 3, {"group_id": group, "members": [
        {"member_id": member_id, "group_instance_id": None}]})
    assert response["error_code"] == NONE, response
    (member,) = response["members"]
    return member["error_code"]


@pytest.mark.parametrize("how", ["restart", "crash"])
def test_confluent_member_keeps_its_membership_across_a_broker_restart(own_broker, topic_name, tmp_path, how):
    """librdkafka reconnects and goes on heartbeating with its member id and generation: no
    rebalance (no revoke/assign callback), its commits after the restart are accepted (they carry
    the generation), and every record is consumed exactly once."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    member = GroupMember("confluent", bootstrap, topic_name, group, log_dir=tmp_path, session_ms=30000, max_poll_ms=60000,
                         heartbeat_ms=500, commit="manual")
    try:
        wait_settled([member], PARTITIONS, [PARTITIONS])
        before = [f"before-{i:03d}" for i in range(30)]
        assert [d.error for d in produce("confluent", bootstrap, topic_name, [
            Out(None, v.encode(), partition=i % PARTITIONS) for i, v in enumerate(before)])] == [None] * 30
        wait_until(lambda: set(before) <= set(member.values()), 30, "not consumed before the restart")
        wait_until(lambda: member.commits() == {p: 10 for p in range(PARTITIONS)}, 20, "not committed")
        described = describe_group(bootstrap, group)
        assert (described["group_state"], described["protocol_type"], described["protocol_data"]) == (
            "Stable", "consumer", "range")
        (old,) = described["members"]
        rebalances = member.rebalance_events()
        assert [e["ev"] for e in rebalances] == ["assign"]

        bounce(own_broker, how)
        # Loaded as it was: same member, same assignment.
        described = describe_group(bootstrap, group)
        assert (described["group_state"], described["protocol_type"], described["protocol_data"]) == (
            "Stable", "consumer", "range")
        assert described["members"] == [old]

        after = [f"after-{i:03d}" for i in range(30)]
        assert [d.error for d in produce("confluent", bootstrap, topic_name, [
            Out(None, v.encode(), partition=i % PARTITIONS) for i, v in enumerate(after)])] == [None] * 30
        wait_until(lambda: set(after) <= set(member.values()), 60,
                   lambda: f"after the restart: {len(set(after) & set(member.values()))} of 30 consumed, "
                           f"errors {member.errors()}")
        wait_until(lambda: member.commits() == {p: 20 for p in range(PARTITIONS)}, 30,
                   lambda: f"commits after the restart: {member.commits()}, errors {member.errors()}")
        assert committed_offsets(bootstrap, group, topic_name, PARTITIONS) == {
            (topic_name, p): (20, "") for p in range(PARTITIONS)}
        assert member.errors() == []
        assert member.rebalance_events() == rebalances
        assert Counter(member.values()) == Counter(before + after)
        described = describe_group(bootstrap, group)
        assert described["group_state"] == "Stable" and described["members"] == [old]
        assert member.alive()
    finally:
        member.close()


@pytest.mark.parametrize("how", ["restart", "crash"])
def test_stable_group_is_reloaded_as_it_was(own_broker, topic_name, how):
    """Two raw members, leader and follower: after the restart DescribeGroups shows the same group,
    heartbeats of the generation are accepted (others are not), SyncGroup hands back the stored
    assignment, and a member joining starts the next generation from the stored one."""
    # Both first joins must land in the initial rebalance's delay (the fixture's is 0).
    own_broker.overrides["group.initial.rebalance.delay.ms"] = "3000"
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 2)
    group = f"g-{topic_name}"
    with RawClient(bootstrap, client_id="leader") as a, RawClient(bootstrap, client_id="follower") as b:
        a_id = join(a, group, topics=(topic_name,), session_ms=30000)["member_id"]
        b_id = join(b, group, topics=(topic_name,), session_ms=30000)["member_id"]
        # JoinGroup parks until both are in: the two joins go from threads, the leader's
        # first (the first member in the group leads), then the follower's.
        with ThreadPoolExecutor(2) as pool:
            fa = pool.submit(join, a, group, a_id, topics=(topic_name,), session_ms=30000)
            wait_until(lambda: [m["member_id"] for m in describe_group(bootstrap, group)["members"]] == [a_id], 20,
                       "the leader's join did not arrive")
            fb = pool.submit(join, b, group, b_id, topics=(topic_name,), session_ms=30000)
            ja, jb = fa.result(30), fb.result(30)
        assert (ja["error_code"], jb["error_code"]) == (NONE, NONE)
        generation = ja["generation_id"]
        assert jb["generation_id"] == generation and ja["leader"] == jb["leader"] == a_id
        with ThreadPoolExecutor(2) as pool:
            fb = pool.submit(sync, b, group, generation, b_id)
            sa = sync(a, group, generation, a_id, [(a_id, assignment(topic_name, [0])),
                                                   (b_id, assignment(topic_name, [1]))])
            sb = fb.result(30)
        assert (sa["error_code"], sb["error_code"]) == (NONE, NONE)
        assert commit(a, group, {(topic_name, 0): 7}, generation=generation, member_id=a_id) == {
            (topic_name, 0): NONE}
    before = describe_group(bootstrap, group)
    assert before["group_state"] == "Stable"
    assert [(m["member_id"], m["client_id"]) for m in before["members"]] == [(a_id, "leader"), (b_id, "follower")]

    bounce(own_broker, how)
    assert describe_group(bootstrap, group) == before
    assert listed(bootstrap)[group] == ("consumer", "Stable")
    assert committed_offsets(bootstrap, group, topic_name, 2) == {(topic_name, 0): (7, ""), (topic_name, 1): (-1, "")}
    with RawClient(bootstrap) as raw:
        assert heartbeat(raw, group, generation, a_id) == NONE
        assert heartbeat(raw, group, generation, b_id) == NONE
        assert heartbeat(raw, group, generation + 1, a_id) == ILLEGAL_GENERATION
        assert heartbeat(raw, group, generation, "not-a-member") == UNKNOWN_MEMBER_ID
        # SyncGroup in Stable answers the stored assignment.
        assert sync(raw, group, generation, b_id)["assignment"] == assignment(topic_name, [1])
        assert commit(raw, group, {(topic_name, 1): 3}, generation=generation, member_id=b_id) == {
            (topic_name, 1): NONE}
        # A follower's join with its unchanged protocol just gets the current generation back.
        rejoined = join(raw, group, b_id, topics=(topic_name,), session_ms=30000)
        assert (rejoined["error_code"], rejoined["generation_id"], rejoined["leader"]) == (NONE, generation, a_id)
    # A new member rebalances the group, from the stored generation to the next.
    with RawClient(bootstrap) as a, RawClient(bootstrap) as b, RawClient(bootstrap) as c:
        first = join(c, group, topics=(topic_name,), session_ms=30000)
        assert first["error_code"] == MEMBER_ID_REQUIRED
        with ThreadPoolExecutor(3) as pool:
            fc = pool.submit(join, c, group, first["member_id"], topics=(topic_name,), session_ms=30000)
            wait_until(lambda: heartbeat(a, group, generation, a_id) == REBALANCE_IN_PROGRESS, 20,
                       "the others were not told of the rebalance")
            fa = pool.submit(join, a, group, a_id, topics=(topic_name,), session_ms=30000)
            fb = pool.submit(join, b, group, b_id, topics=(topic_name,), session_ms=30000)
            joined = [f.result(30) for f in (fa, fb, fc)]
    assert [(j["error_code"], j["generation_id"], j["leader"]) for j in joined] == [(NONE, generation + 1, a_id)] * 3
    assert [j["member_id"] for j in joined] == [a_id, b_id, first["member_id"]]


def test_empty_group_keeps_its_generation_and_protocol_type(own_broker, topic_name):
    """The member leaves: the group is Empty with the next generation and protocol type "consumer",
    and so it is loaded; the next member to join starts the generation after that."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    with RawClient(bootstrap) as raw:
        member_id, generation = stable_member(raw, group, topic_name, [0])
        assert commit(raw, group, {(topic_name, 0): 5}, generation=generation, member_id=member_id) == {
            (topic_name, 0): NONE}
        assert leave(raw, group, member_id) == NONE
    assert listed(bootstrap)[group] == ("consumer", "Empty")
    own_broker.restart()
    described = describe_group(bootstrap, group)
    assert (described["group_state"], described["protocol_type"], described["members"]) == ("Empty", "consumer", [])
    with RawClient(bootstrap) as raw:
        assert heartbeat(raw, group, generation, member_id) == UNKNOWN_MEMBER_ID
        # Empty "consumer" group: only group-managed commits would have members; a simple commit is fine.
        assert commit(raw, group, {(topic_name, 0): 6}) == {(topic_name, 0): NONE}
        new_id, new_generation = stable_member(raw, group, topic_name, [0])
    assert new_id != member_id
    assert new_generation == generation + 2   # +1 for the Empty generation, +1 for this one


@pytest.mark.parametrize("how", ["restart", "crash"])
def test_deleted_group_stays_deleted(own_broker, topic_name, how):
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    group, other = f"g-{topic_name}", f"h-{topic_name}"
    with RawClient(bootstrap) as raw:
        for g in (group, other):
            member_id, generation = stable_member(raw, g, topic_name, [0])
            assert commit(raw, g, {(topic_name, 0): 5}, generation=generation, member_id=member_id) == {
                (topic_name, 0): NONE}
            assert leave(raw, g, member_id) == NONE
        deleted = raw.request(DELETE_GROUPS, 2, {"groups_names": [group]})
        assert [(r["group_id"], r["error_code"]) for r in deleted["results"]] == [(group, NONE)]
    bounce(own_broker, how)
    groups = listed(bootstrap)
    assert group not in groups and groups[other] == ("consumer", "Empty")
    assert describe_group(bootstrap, group)["group_state"] == "Dead"
    assert committed_offsets(bootstrap, group, topic_name, 1) == {(topic_name, 0): (-1, "")}
    assert committed_offsets(bootstrap, other, topic_name, 1) == {(topic_name, 0): (5, "")}


def test_loaded_members_sessions_start_at_load_and_expire(own_broker, topic_name):
    """A loaded member that never comes back is removed when its session (started at load)
    runs out; the group is Empty, and stays so across the next restart."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    with RawClient(bootstrap) as raw:
        member_id, generation = stable_member(raw, group, topic_name, [0], session_ms=6000)
    own_broker.restart()
    assert describe_group(bootstrap, group)["group_state"] == "Stable"
    wait_until(lambda: describe_group(bootstrap, group)["group_state"] == "Empty", 60,
               "the loaded member's session never expired")
    own_broker.restart()
    described = describe_group(bootstrap, group)
    assert (described["group_state"], described["protocol_type"], described["members"]) == ("Empty", "consumer", [])
    with RawClient(bootstrap) as raw:
        assert heartbeat(raw, group, generation, member_id) == UNKNOWN_MEMBER_ID
        assert stable_member(raw, group, topic_name, [0])[1] == generation + 2


def test_simple_group_is_loaded_without_protocol_type(own_broker, topic_name):
    """A group that only committed offsets (no membership) has no GroupMetadata record: it comes
    back from its offsets as Kafka's simple group, Empty with protocol type ""."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    with RawClient(bootstrap) as raw:
        assert commit(raw, group, {(topic_name, 0): 4}) == {(topic_name, 0): NONE}
    assert listed(bootstrap)[group] == ("", "Empty")
    own_broker.restart()
    assert listed(bootstrap)[group] == ("", "Empty")
    assert committed_offsets(bootstrap, group, topic_name, 1) == {(topic_name, 0): (4, "")}
