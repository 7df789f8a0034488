"""Persistence of classic groups at the coordinator level: which calls queue a GroupMetadata
record (or tombstone) and with what, and how ``load_group`` restores a group from its last
record, as Kafka's GroupMetadataManager does (storeGroup / newGroupMetadataRecord when a
generation's assignment is stored, when a static member is replaced in a Stable group and when
the group becomes Empty; a tombstone when it is deleted; replay + onLoaded at load)."""

from __future__ import annotations

import dataclasses

import pytest

from broker.groups.consumer_protocol import PROTOCOL_TYPE
from broker.groups.coordinator import GroupCoordinator, OffsetExpiration
from broker.groups.snapshot import GroupSnapshot, MemberSnapshot
from broker.tests.group_harness import RANGE, E, Harness, S


def restart(h: Harness, at: int) -> Harness:
    """A new coordinator (same config) that loads what ``h`` stored, at time ``at``; member ids
    it hands out go on from ``h``'s."""
    fresh = Harness(**dataclasses.asdict(h.gc.config))
    fresh._seq = h._seq
    fresh.now = at
    fresh.stored = dict(h.stored)   # the log a restarted broker reads
    for snapshot in h.stored.values():
        fresh._record(fresh.gc.load_group(at, snapshot))
    assert fresh.changes == []   # loading writes nothing
    return fresh


def member(member_id, assignment, *, instance=None, client=None, session=10_000, rebalance=30_000,
           subscription=b"range-meta"):
    """A member as the harness makes them (client id: the member id's prefix unless given)."""
    client = client if client is not None else member_id.split("-")[0]
    return MemberSnapshot(member_id=member_id, group_instance_id=instance, client_id=client,
                          client_host="/127.0.0.1", rebalance_timeout_ms=rebalance,
                          session_timeout_ms=session, subscription=subscription, assignment=assignment)


def snapshot(generation, members=(), *, group="g", leader=None, ptype="consumer", protocol="range",
             at=None) -> GroupSnapshot:
    return GroupSnapshot(group_id=group, protocol_type=ptype, generation_id=generation,
                         protocol_name=protocol if members else None,
                         leader_id=leader if leader is not None else (members[0].member_id if members else None),
                         state_timestamp_ms=at, members=tuple(members))


# -- what is written, and when -------------------------------------------------------------

def test_the_leaders_sync_stores_the_generation_with_every_assignment():
    h = Harness()
    for token, client in [("ja", "a"), ("jb", "b"), ("jc", "c")]:
        h.join(token, client=client, session=10_000 + len(h.changes))
    # The initial delay, extended once for the members who joined in it: CompletingRebalance
    # at 6000, generation 1.
    h.advance(6000)
    assert [h.answer(t)["member_id"] for t in ("ja", "jb", "jc")] == ["a-1", "b-2", "c-3"]
    h.sync("sb", "b-2", 1, at=6500)
    assert h.changes == []                       # a follower's sync stores nothing
    h.sync("sa", "a-1", 1, [("a-1", b"A"), ("b-2", b"B")], at=7000)   # c-3 left out
    assert h.changes == [("g", snapshot(1, [member("a-1", b"A"), member("b-2", b"B"), member("c-3", b"")],
                                        at=6000))]
    assert h.state() is S.STABLE
    h.changes.clear()
    h.sync("sc", "c-3", 1, at=7100)
    assert h.heartbeat("a-1", 1, at=8000) == E.NONE
    assert h.commit("b-2", 1) == E.NONE
    assert h.join("ja2", "b-2", protocols=RANGE) is not None   # a follower's unchanged rejoin
    assert h.changes == []


def test_a_rebalance_stores_only_the_new_generation():
    h = Harness()
    a, b = h.stable_group("a", "b")
    h.changes.clear()
    h.leave((b, None), at=7000)                  # rebalance: a must rejoin
    assert h.state() is S.PREPARING_REBALANCE and h.changes == []
    h.join("ra", a, at=7100)
    assert h.state() is S.COMPLETING_REBALANCE and h.changes == []
    h.sync("sa", a, 2, [(a, b"only-a")], at=7200)
    assert h.changes == [("g", snapshot(2, [member(a, b"only-a")], at=7100))]


def test_the_group_becoming_empty_is_stored_with_its_protocol_type():
    h = Harness()
    (a,) = h.stable_group("a")
    h.changes.clear()
    h.leave((a, None), at=7000)
    assert h.state() is S.EMPTY
    assert h.changes == [("g", GroupSnapshot(group_id="g", protocol_type="consumer", generation_id=2,
                                             protocol_name=None, leader_id=None, state_timestamp_ms=7000,
                                             members=()))]


def test_session_expiry_emptying_the_group_is_stored():
    h = Harness()
    (a,) = h.stable_group("a", session=10_000)   # Stable at 3000, session restarted by the sync
    h.changes.clear()
    h.advance(12_999)
    assert h.changes == []
    h.advance(13_000)
    assert h.state() is S.EMPTY
    assert h.changes == [("g", snapshot(2, at=13_000))]


def test_deleting_a_group_writes_a_tombstone():
    h = Harness()
    (a,) = h.stable_group("a")
    h.stable_group("x", group="other")
    h.leave((a, None), at=7000)
    h.changes.clear()
    assert h.delete("g", "other", "unknown", at=8000) == [
        ("g", E.NONE), ("other", E.NON_EMPTY_GROUP), ("unknown", E.GROUP_ID_NOT_FOUND)]
    assert h.changes == [("g", None)]
    assert "g" not in h.stored and "other" in h.stored


def test_offset_expiry_deleting_an_empty_group_writes_a_tombstone():
    h = Harness()
    (a,) = h.stable_group("a")
    h.stable_group("x", group="live")
    h.leave((a, None), at=7000)
    h.changes.clear()
    assert h.gc.maybe_delete_group(8000, "live") == (False, [])
    assert h.gc.take_group_changes() == []
    assert h.gc.maybe_delete_group(8000, "g") == (True, [])
    assert h.gc.take_group_changes() == [("g", None)]
    assert h.gc.take_group_changes() == []


def test_a_static_member_replaced_in_a_stable_group_is_stored():
    h = Harness()
    a, b = h.stable_group("a", "b", instances=["ia", "ib"])
    h.changes.clear()
    # ib comes back with a new member id (restarted client), same protocols: no rebalance.
    response = h.join("rb", "", instance="ib", client="b", session=12_000, at=7000)
    assert response["error_code"] == E.NONE and response["member_id"] == "ib-3"
    assert h.state() is S.STABLE and h.generation() == 1
    assert h.changes == [("g", snapshot(1, [member(a, b"a", instance="ia", client="a"),
                                            member("ib-3", b"b", instance="ib", client="b", session=12_000)],
                                        at=6000))]


def test_groups_that_never_had_a_generation_store_nothing():
    h = Harness()
    assert h.commit("", -1, group="simple") == E.NONE                  # a simple group
    assert h.join("j", "", group="pending", v4=True)["error_code"] == E.MEMBER_ID_REQUIRED
    h.advance(60_000)                                                  # the pending member expires
    assert h.state("simple") is S.EMPTY and h.state("pending") is S.EMPTY
    assert h.changes == []


# -- loading ---------------------------------------------------------------------------------

def test_a_loaded_stable_group_is_as_it_was():
    h = Harness()
    a, b = h.stable_group("a", "b", instances=[None, "ib"], session=20_000)
    assert h.commit(a, 1, at=7000) == E.NONE
    before = h.describe()
    r = restart(h, at=1_000_000)
    assert r.describe() == before
    assert (r.state(), r.generation()) == (S.STABLE, 1)
    group = r.gc._groups["g"]
    assert (group.protocol_type, group.protocol_name, group.leader_id) == ("consumer", "range", a)
    assert group.static_members == {"ib": b}
    assert [(m.member_id, m.group_instance_id, m.session_timeout_ms, m.rebalance_timeout_ms, m.protocols,
             m.assignment, m.is_new) for m in group.members.values()] == [
        (a, None, 20_000, 30_000, RANGE, b"a", False), (b, "ib", 20_000, 30_000, RANGE, b"b", False)]
    assert group.subscribed_topics is None          # b"range-meta" is not a subscription
    assert r.gc.list_groups() == [{"group_id": "g", "protocol_type": "consumer", "group_state": "Stable",
                                   "group_type": "classic"}]
    # Members carry on with the generation: heartbeats, commits, a follower's sync.
    assert r.heartbeat(a, 1) == E.NONE
    assert r.heartbeat(b, 1, instance="ib") == E.NONE
    assert r.heartbeat(a, 2) == E.ILLEGAL_GENERATION
    assert r.heartbeat("a-99", 1) == E.UNKNOWN_MEMBER_ID
    assert r.heartbeat(b, 1, instance="other") == E.UNKNOWN_MEMBER_ID
    assert r.commit(b, 1, instance="ib") == E.NONE
    assert r.sync("s", b, 1, instance="ib") == {"error_code": E.NONE, "protocol_type": "consumer",
                                                "protocol_name": "range", "assignment": b"b"}
    assert r.state() is S.STABLE and r.changes == []


def test_loaded_sessions_start_at_load_time():
    h = Harness()
    a, b = h.stable_group("a", "b", session=10_000)
    r = restart(h, at=500_000)                      # long after the sessions would have run out
    assert r.state() is S.STABLE
    assert r.heartbeat(a, 1, at=509_000) == E.NONE   # a's session now runs to 519_000
    r.advance(509_999)
    assert r.state() is S.STABLE and r.member_ids() == [a, b]
    r.advance(510_000)                               # b never came back
    assert r.state() is S.PREPARING_REBALANCE and r.member_ids() == [a]
    assert r.heartbeat(a, 1, at=511_000) == E.REBALANCE_IN_PROGRESS
    joined = r.join("ra", a, at=512_000)
    assert (joined["error_code"], joined["generation_id"], joined["leader"]) == (E.NONE, 2, a)
    r.sync("sa", a, 2, [(a, b"all")], at=512_500)
    assert r.changes == [("g", snapshot(2, [member(a, b"all")], at=512_000))]


def test_a_loaded_group_whose_members_never_return_becomes_empty():
    h = Harness()
    h.stable_group("a", "b", session=10_000)
    r = restart(h, at=100_000)
    r.advance(110_000)
    assert r.state() is S.EMPTY and r.generation() == 2
    assert r.changes == [("g", snapshot(2, at=110_000))]
    assert restart(r, at=200_000).describe() == r.describe()


def test_members_rejoining_after_load():
    h = Harness()
    a, b = h.stable_group("a", "b")
    r = restart(h, at=100_000)
    # A follower's join with its protocols unchanged: the current generation, no rebalance.
    again = r.join("jb", b)
    assert (again["error_code"], again["generation_id"], again["leader"], again["members"]) == (E.NONE, 1, a, [])
    assert r.state() is S.STABLE
    # A follower now supporting more protocols: its metadata differs from the loaded one.
    r.join("jb2", b, protocols=(("roundrobin", b"rr"), ("range", b"range-meta")), at=100_100)
    assert r.state() is S.PREPARING_REBALANCE and r.answer("jb2") is None
    assert r.heartbeat(a, 1) == E.REBALANCE_IN_PROGRESS
    led = r.join("ja", a, at=100_200)
    assert (led["error_code"], led["generation_id"], led["leader"], led["protocol_name"]) == (E.NONE, 2, a, "range")
    assert [m["member_id"] for m in led["members"]] == [a, b]
    assert r.answer("jb2")["generation_id"] == 2


def test_the_loaded_leaders_rejoin_rebalances():
    h = Harness()
    a, b = h.stable_group("a", "b")
    r = restart(h, at=100_000)
    assert r.join("ja", a) is None and r.state() is S.PREPARING_REBALANCE
    r.join("jb", b, at=100_050)
    assert [r.answer(t)["generation_id"] for t in ("ja", "jb")] == [2, 2]


def test_a_new_member_joining_a_loaded_group():
    h = Harness()
    (a,) = h.stable_group("a")
    r = restart(h, at=100_000)
    assert r.join("jn", "", client="n") is None    # rebalance: a is told by its heartbeat
    assert r.heartbeat(a, 1) == E.REBALANCE_IN_PROGRESS
    r.join("ja", a, at=100_100)
    assert [(r.answer(t)["member_id"], r.answer(t)["generation_id"]) for t in ("ja", "jn")] == [
        (a, 2), ("n-2", 2)]


def test_a_loaded_static_member_is_replaced_without_rebalance():
    h = Harness()
    a, b = h.stable_group("a", "b", instances=["ia", "ib"])
    r = restart(h, at=100_000)
    replaced = r.join("rb", "", instance="ib", client="b", v9=True)
    assert (replaced["error_code"], replaced["member_id"], replaced["generation_id"]) == (E.NONE, "ib-3", 1)
    assert r.state() is S.STABLE
    assert r.heartbeat(b, 1, instance="ib") == E.FENCED_INSTANCE_ID
    assert r.heartbeat("ib-3", 1, instance="ib") == E.NONE
    assert [c[1].members[1].member_id for c in r.changes] == ["ib-3"]


def test_a_loaded_empty_group_keeps_protocol_type_generation_and_empty_time():
    h = Harness()
    (a,) = h.stable_group("a")
    h.leave((a, None), at=8000)
    r = restart(h, at=100_000)
    assert r.describe() == {"error_code": E.NONE, "group_id": "g", "group_state": "Empty",
                            "protocol_type": "consumer", "protocol_data": "", "members": []}
    assert r.gc.list_groups(states_filter=["empty"]) == [
        {"group_id": "g", "protocol_type": "consumer", "group_state": "Empty", "group_type": "classic"}]
    assert r.generation() == 2
    assert r.gc.offset_expiration("g") == OffsetExpiration(empty_since_ms=8000)   # not the load time
    assert r.gc.is_subscribed_to_topic("g", "t") is False
    assert r.heartbeat(a, 2) == E.UNKNOWN_MEMBER_ID
    assert r.commit("", -1) == E.NONE                # an admin commit to an Empty group
    assert r.commit(a, 2) == E.UNKNOWN_MEMBER_ID
    joined = r.join("jn", "", client="n", at=100_000)
    assert joined is None                            # the initial delay again
    r.advance(103_000)
    assert (r.answer("jn")["generation_id"], r.answer("jn")["member_id"]) == (3, "n-2")


def test_a_loaded_empty_group_takes_another_protocol_type():
    h = Harness()
    (a,) = h.stable_group("a")
    h.leave((a, None), at=8000)
    r = restart(h, at=100_000)
    r.join("j", "", ptype="connect", protocols=(("v1", b"m"),), at=100_000)
    r.advance(103_000)
    assert r.answer("j")["error_code"] == E.NONE and r.describe()["protocol_type"] == "connect"


def test_a_group_over_the_max_size_rebalances_at_load():
    h = Harness()
    a, b, c = h.stable_group("a", "b", "c")
    fresh = Harness(group_max_size=2)
    fresh.now = 100_000
    assert fresh.gc.load_group(100_000, h.stored["g"]) == []
    assert fresh.state() is S.PREPARING_REBALANCE and fresh.generation() == 1
    assert fresh.heartbeat(a, 1) == E.REBALANCE_IN_PROGRESS
    fresh.join("ja", a)
    fresh.join("jb", b)
    fresh.join("jc", c)
    assert fresh.error("jc") == E.GROUP_MAX_SIZE_REACHED
    fresh.advance(100_000 + 30_000)                    # rebalance timeout: c did not make it
    assert fresh.member_ids() == [a, b] and fresh.generation() == 2
    assert fresh.changes == []


def test_load_group_by_id_makes_a_simple_group():
    gc = GroupCoordinator()
    assert gc.load_group(5000, "s") == []
    assert (gc.group_state("s"), gc.group_generation_id("s")) == (S.EMPTY, 0)
    assert gc.list_groups() == [{"group_id": "s", "protocol_type": "", "group_state": "Empty",
                                 "group_type": "classic"}]
    assert gc.offset_expiration("s") == OffsetExpiration(empty_since_ms=None)
    loaded = snapshot(4, group="c", at=1000)
    gc.load_group(5000, loaded)
    gc.load_group(5000, "c")                         # a group with metadata is left alone
    assert gc.group_generation_id("c") == 4 and gc.describe(["c"])[0]["protocol_type"] == "consumer"
    assert gc.take_group_changes() == []


def test_a_record_without_timestamp_or_rebalance_timeout():
    """GroupMetadataValue v0 has neither: the rebalance timeout is the session timeout, and an
    Empty group's offsets expire from their commit time (Kafka: currentStateTimestamp absent)."""
    gc = GroupCoordinator()
    gc.load_group(0, snapshot(3, [member("m", b"x", session=7000, rebalance=-1)], at=None))
    assert gc._groups["g"].members["m"].rebalance_timeout_ms == 7000
    gc.load_group(0, snapshot(3, group="e", at=None))
    assert gc.offset_expiration("e") == OffsetExpiration(empty_since_ms=None)


def test_a_loaded_consumer_group_knows_its_subscriptions():
    sub = b"\x00\x00" + b"\x00\x00\x00\x02" + b"\x00\x02t1" + b"\x00\x02t2" + b"\xff\xff\xff\xff"
    gc = GroupCoordinator()
    gc.load_group(0, snapshot(1, [member("m", b"", subscription=sub)]))
    assert [gc.is_subscribed_to_topic("g", t) for t in ("t1", "t2", "t3")] == [True, True, False]
    assert gc.offset_expiration("g") == OffsetExpiration(empty_since_ms=None)


@pytest.mark.parametrize("bad", [
    pytest.param(snapshot(1, [member("m", b"")], ptype=None), id="members-without-protocol-type"),
    pytest.param(dataclasses.replace(snapshot(1, [member("m", b"")]), protocol_name=None),
                 id="members-without-protocol"),
    pytest.param(snapshot(1, [member("m", b"")], leader="x"), id="leader-not-a-member"),
    pytest.param(snapshot(1, [member("m", b""), member("m", b"")]), id="member-twice"),
    pytest.param(snapshot(1, [member("m", b"", instance="i"), member("n", b"", instance="i")]),
                 id="instance-twice"),
])
def test_inconsistent_records_are_refused(bad):
    gc = GroupCoordinator()
    with pytest.raises(ValueError):
        gc.load_group(0, bad)
    assert not gc.group_exists("g") and gc.next_deadline_ms() is None


def test_a_group_is_loaded_once():
    gc = GroupCoordinator()
    gc.load_group(0, snapshot(1, [member("m", b"")]))
    with pytest.raises(ValueError):
        gc.load_group(0, snapshot(2))
    assert gc.group_generation_id("g") == 1
    assert gc.heartbeat(1, "g", 1, "m", None) == (E.NONE, [])   # not left half-called


def test_an_empty_consumer_group_records_its_protocol_type():
    h = Harness()
    (a,) = h.stable_group("a")
    h.leave((a, None), at=5000)
    assert h.stored["g"].protocol_type == PROTOCOL_TYPE
