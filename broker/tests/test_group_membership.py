"""Membership over time: MEMBER_ID_REQUIRED, session expiry, rebalance timeout,
pending-sync expiry, static membership, LeaveGroup, leader change."""

from __future__ import annotations

import pytest

from broker.groups.coordinator import legacy_leave_error
from broker.tests.group_harness import E, Harness, S

# -- JoinGroup v4+: MEMBER_ID_REQUIRED --------------------------------------


def test_pending_member_expires_after_its_session_timeout():
    h = Harness()
    assert h.join("j1", v4=True, session=7000)["member_id"] == "c-1"
    assert h.gc.next_deadline_ms() == 7000
    h.advance(7000)
    assert h.join("j2", "c-1", at=7001, v4=True) == {
        "error_code": E.UNKNOWN_MEMBER_ID, "generation_id": -1, "protocol_type": None,
        "protocol_name": None, "leader": "", "skip_assignment": False, "member_id": "c-1",
        "members": []}
    assert h.state() is S.EMPTY  # the group created by the first join remains


def test_member_id_required_does_not_rebalance_but_the_pending_member_is_awaited():
    h = Harness()
    (a,) = h.stable_group("a")
    assert h.join("jn", at=7000, v4=True)["error_code"] == E.MEMBER_ID_REQUIRED
    assert h.state() is S.STABLE
    h.join("ja", a, at=7100)           # the leader rejoins: rebalance
    assert h.answer("ja") is None      # still waiting for the pending member
    h.join("jn2", "c-2", at=7200, v4=True)
    assert {h.answered_at["ja"], h.answered_at["jn2"]} == {7200}
    assert [m["member_id"] for m in h.answer("ja")["members"]] == [a, "c-2"]


def test_pending_member_expiry_lets_the_rebalance_complete():
    h = Harness()
    (a,) = h.stable_group("a")
    h.join("jn", at=7000, v4=True, session=10_000)
    h.join("ja", a, at=7100)
    h.advance(16_999)
    assert h.answer("ja") is None
    h.advance(17_000)
    assert h.answer("ja")["generation_id"] == 2 and len(h.answer("ja")["members"]) == 1


def test_join_before_v4_adds_the_member_at_once():
    h = Harness()
    assert h.join("j", v4=False) is None
    assert h.member_ids() == ["c-1"] and h.state() is S.PREPARING_REBALANCE


def test_static_member_never_gets_member_id_required():
    h = Harness()
    assert h.join("j", instance="i1", v4=True) is None
    h.advance(3000)
    assert (h.answer("j")["error_code"], h.answer("j")["member_id"]) == (E.NONE, "i1-1")


# -- session timeout ---------------------------------------------------------


def test_silent_member_expires_and_the_others_rebalance():
    h = Harness()
    a, b = h.stable_group("a", "b")          # stable at 6000; sessions end at 16000
    assert h.heartbeat(a, 1, at=15_000) == E.NONE
    h.advance(15_999)
    assert h.member_ids() == [a, b]
    h.advance(16_000)
    assert h.member_ids() == [a] and h.state() is S.PREPARING_REBALANCE
    assert h.heartbeat(a, 1, at=17_000) == E.REBALANCE_IN_PROGRESS
    assert h.heartbeat(b, 1, at=17_000) == E.UNKNOWN_MEMBER_ID
    h.join("ja", a, at=17_500)
    assert h.answered_at["ja"] == 17_500 and h.generation() == 2


@pytest.mark.parametrize("keepalive", ["heartbeat", "commit"])
def test_heartbeat_and_commit_reset_the_session(keepalive):
    h = Harness()
    (a,) = h.stable_group("a")               # stable at 3000; session ends at 13000
    for t in (12_000, 21_000):
        if keepalive == "heartbeat":
            assert h.heartbeat(a, 1, at=t) == E.NONE
        else:
            assert h.commit(a, 1, at=t) == E.NONE
    h.advance(30_999)
    assert h.state() is S.STABLE
    h.advance(31_000)
    assert (h.state(), h.generation()) == (S.EMPTY, 2)


def test_member_parked_in_join_is_not_expired_by_its_session_timeout():
    h = Harness()
    a, b = h.stable_group("a", "b", rebalance=60_000)  # sessions end at 16000
    h.join("ja", a, at=7000)
    h.advance(16_000)
    # a's session lapsed while parked: kept; b's lapsed while silent: removed.
    assert h.answered_at["ja"] == 16_000
    assert h.answer("ja")["members"] == [
        {"member_id": a, "group_instance_id": None, "metadata": b"range-meta"}]
    # Once answered, a's session runs again from the join response.
    h.advance(25_999)
    assert h.member_ids() == [a]
    h.advance(26_000)  # the last member expired: the group is Empty, generation bumped
    assert (h.state(), h.generation(), h.member_ids()) == (S.EMPTY, 3, [])


def test_new_member_parked_in_join_expires_after_the_new_member_timeout():
    h = Harness(group_new_member_join_timeout_ms=8000)
    (a,) = h.stable_group("a", session=30_000, rebalance=60_000)
    h.join("jn", at=7000)                    # a new member: rebalance, a must rejoin
    h.advance(14_999)
    assert h.answer("jn") is None
    h.advance(15_000)
    assert h.answer("jn")["error_code"] == E.UNKNOWN_MEMBER_ID
    assert h.answer("jn")["member_id"] == ""
    assert h.state() is S.PREPARING_REBALANCE and h.member_ids() == [a]
    h.join("ja", a, at=16_000)
    assert h.answer("ja")["members"] == [
        {"member_id": a, "group_instance_id": None, "metadata": b"range-meta"}]


# -- rebalance timeout -------------------------------------------------------


def test_rebalance_timeout_removes_members_that_did_not_rejoin():
    h = Harness()
    a, b, c = h.stable_group("a", "b", "c", session=30_000, rebalance=20_000)
    h.join("ja", a, at=7000, rebalance=20_000)
    h.join("jb", b, at=8000, rebalance=20_000)
    assert h.heartbeat(c, 1, at=20_000) == E.REBALANCE_IN_PROGRESS
    h.advance(26_999)
    assert h.answer("ja") is None
    h.advance(27_000)
    assert [m["member_id"] for m in h.answer("ja")["members"]] == [a, b]
    assert h.answer("jb")["generation_id"] == 2
    assert h.heartbeat(c, 1, at=27_001) == E.UNKNOWN_MEMBER_ID


def test_leader_that_does_not_rejoin_is_replaced_by_a_member_that_did():
    h = Harness()
    a, b = h.stable_group("a", "b", session=60_000, rebalance=20_000)
    # A follower with changed metadata starts the rebalance (same metadata would
    # just get the current generation back).
    h.join("jb", b, at=7000, rebalance=20_000, protocols=[("range", b"v2")])
    assert h.answer("jb") is None
    h.advance(27_000)
    assert (h.answer("jb")["leader"], h.answer("jb")["members"][0]["member_id"]) == (b, b)
    assert h.member_ids() == [b]


def test_rebalance_timeout_is_the_largest_of_the_members():
    h = Harness()
    a, b = h.stable_group("a", "b", session=60_000, rebalance=20_000)
    h.join("ja", a, at=7000, rebalance=45_000)
    assert h.gc.next_deadline_ms() == 7000 + 45_000


def test_static_member_that_does_not_rejoin_is_kept():
    h = Harness()
    a, b = h.stable_group("a", "b", session=60_000, rebalance=20_000,
                          instances=["i-a", "i-b"])
    h.join("ja", a, at=7000, instance="i-a", rebalance=20_000)
    h.advance(27_000)
    assert h.answer("ja")["members"] == [
        {"member_id": a, "group_instance_id": "i-a", "metadata": b"range-meta"},
        {"member_id": b, "group_instance_id": "i-b", "metadata": b"range-meta"}]
    assert h.state() is S.COMPLETING_REBALANCE


# -- pending sync --------------------------------------------------------------


@pytest.mark.parametrize("syncers,expect_members,expect_state", [
    (["a"], ["a-1"], S.PREPARING_REBALANCE),           # b never synced
    (["b"], ["b-2"], S.PREPARING_REBALANCE),           # the leader never synced
    ([], [], S.EMPTY),                                 # nobody synced
    (["a", "b"], ["a-1", "b-2"], S.STABLE),
])
def test_members_that_never_sync_are_removed_after_the_rebalance_timeout(
        syncers, expect_members, expect_state):
    h = Harness()
    h.join("ja", client="a", rebalance=30_000)
    h.join("jb", client="b", rebalance=30_000)
    h.advance(6000)                                    # generation 1; sync due by 36000
    for member_id in ["b-2", "a-1"]:                   # follower first
        if member_id[0] in syncers:
            h.sync(f"s-{member_id}", member_id, 1, at=6100)
    for t in range(10_000, 36_000, 5000):              # both stay alive
        h.heartbeat("a-1", 1, at=t)
        h.heartbeat("b-2", 1, at=t)
    h.advance(35_999)
    assert h.member_ids() == ["a-1", "b-2"]
    h.advance(36_000)
    assert h.member_ids() == expect_members and h.state() is expect_state
    if syncers == ["b"]:                               # b was parked in sync: released
        assert h.answer("s-b-2")["error_code"] == E.REBALANCE_IN_PROGRESS


# -- static membership -----------------------------------------------------------


def static_pair(h):
    return h.stable_group("a", "b", instances=["i-a", "i-b"])


def test_static_member_rejoins_without_rebalance_and_keeps_its_assignment():
    h = Harness()
    a, b = static_pair(h)
    assert (a, b) == ("i-a-1", "i-b-2")
    response = h.join("jb", "", at=7000, instance="i-b", v4=True)
    assert response == {"error_code": E.NONE, "generation_id": 1, "protocol_type": "consumer",
                        "protocol_name": "range", "leader": a, "skip_assignment": False,
                        "member_id": "i-b-3", "members": []}
    assert (h.state(), h.generation()) == (S.STABLE, 1)
    assert h.sync("sb", "i-b-3", 1, at=7001, instance="i-b")["assignment"] == b"b"
    # The old member id is fenced.
    assert h.heartbeat(b, 1, at=7002, instance="i-b") == E.FENCED_INSTANCE_ID
    assert h.sync("sb-old", b, 1, at=7003, instance="i-b")["error_code"] == E.FENCED_INSTANCE_ID
    assert h.commit(b, 1, at=7004, instance="i-b") == E.FENCED_INSTANCE_ID
    assert h.heartbeat(b, 1, at=7005) == E.UNKNOWN_MEMBER_ID


@pytest.mark.parametrize("v9,expected", [
    # Before v9 the leader is told the old leader id: it acts as a follower.
    (False, {"leader": "i-a-1", "skip_assignment": False, "members": []}),
    # From v9 it is told it leads, with the members, but must skip the assignment.
    (True, {"leader": "i-a-3", "skip_assignment": True, "members": [
        {"member_id": "i-b-2", "group_instance_id": "i-b", "metadata": b"range-meta"},
        {"member_id": "i-a-3", "group_instance_id": "i-a", "metadata": b"range-meta"}]}),
])
def test_static_leader_rejoin(v9, expected):
    h = Harness()
    static_pair(h)
    response = h.join("ja", "", at=7000, instance="i-a", v4=True, v9=v9)
    assert {k: response[k] for k in expected} == expected
    assert (response["member_id"], response["generation_id"]) == ("i-a-3", 1)
    assert h.state() is S.STABLE


def test_static_rejoin_that_changes_the_selected_protocol_rebalances():
    h = Harness()
    both = [("range", b"r"), ("rr", b"x")]
    a, b = h.stable_group("a", "b", instances=["i-a", "i-b"], protocols=both)
    assert h.join("jb", "", at=7000, instance="i-b", protocols=[("rr", b"x")]) is None
    assert h.state() is S.PREPARING_REBALANCE
    h.join("ja", a, at=7001, instance="i-a", protocols=both)
    assert h.answer("jb")["protocol_name"] == "rr" and h.answer("jb")["member_id"] == "i-b-3"


def test_static_rejoin_with_same_protocol_choice_does_not_rebalance():
    h = Harness()
    both = [("range", b"r"), ("rr", b"x")]
    h.stable_group("a", "b", instances=["i-a", "i-b"], protocols=both)
    response = h.join("jb", "", at=7000, instance="i-b", protocols=[("rr", b"x"), ("range", b"r")])
    assert response["error_code"] == E.NONE and h.state() is S.STABLE  # votes tie: range stays


def test_static_replacement_fences_the_old_parked_join():
    h = Harness()
    a, b = static_pair(h)
    h.join("ja-old", a, at=7000, instance="i-a")             # the leader rejoins: rebalance
    h.join("ja-new", "", at=7100, instance="i-a")            # a restarted instance
    assert h.answer("ja-old") == {
        "error_code": E.FENCED_INSTANCE_ID, "generation_id": -1, "protocol_type": None,
        "protocol_name": None, "leader": "", "skip_assignment": False, "member_id": a,
        "members": []}
    assert h.answer("ja-new") is None
    h.join("jb", b, at=7200, instance="i-b")
    assert h.answer("ja-new")["leader"] == "i-a-3" and h.answer("ja-new")["generation_id"] == 2


def test_static_replacement_during_completing_rebalance_rebalances():
    h = Harness()
    h.join("ja", instance="i-a")
    h.join("jb", instance="i-b")
    h.advance(6000)
    assert h.sync("sb", "i-b-2", 1, at=6001, instance="i-b") is None
    assert h.join("jb2", "", at=6002, instance="i-b") is None
    assert h.answer("sb")["error_code"] == E.FENCED_INSTANCE_ID
    assert h.state() is S.PREPARING_REBALANCE


@pytest.mark.parametrize("member_id,instance,error", [
    ("i-a-1", "i-unknown", E.UNKNOWN_MEMBER_ID),
    ("wrong", "i-a", E.FENCED_INSTANCE_ID),
    ("wrong", None, E.UNKNOWN_MEMBER_ID),
])
def test_join_with_bad_static_identity(member_id, instance, error):
    h = Harness()
    static_pair(h)
    response = h.join("j", member_id, at=7000, instance=instance)
    assert (response["error_code"], response["member_id"]) == (error, member_id)
    assert response["protocol_name"] is None


# -- LeaveGroup ------------------------------------------------------------------


def test_leader_leaves_and_the_next_member_leads():
    h = Harness()
    a, b, c = h.stable_group("a", "b", "c")
    h.leave((a, None), at=7000)
    assert h.state() is S.PREPARING_REBALANCE
    h.join("jc", c, at=7100)
    h.join("jb", b, at=7200)
    assert h.answer("jb")["leader"] == b and h.answer("jc")["leader"] == b
    assert [m["member_id"] for m in h.answer("jb")["members"]] == [b, c]
    assert h.answer("jc")["members"] == []


def test_leave_batch_reports_each_member():
    h = Harness()
    a, b = static_pair(h)
    response = h.leave(("", "i-b"), ("", "i-zz"), ("nobody", None), (a, "i-b"), at=7000)
    assert response == {"error_code": E.NONE, "members": [
        {"member_id": "", "group_instance_id": "i-b", "error_code": E.NONE},
        {"member_id": "", "group_instance_id": "i-zz", "error_code": E.UNKNOWN_MEMBER_ID},
        {"member_id": "nobody", "group_instance_id": None, "error_code": E.UNKNOWN_MEMBER_ID},
        {"member_id": a, "group_instance_id": "i-b", "error_code": E.UNKNOWN_MEMBER_ID}]}
    assert h.member_ids() == [a] and h.state() is S.PREPARING_REBALANCE


def test_leave_without_any_valid_member_does_not_rebalance():
    h = Harness()
    a, b = static_pair(h)
    response = h.leave(("i-b-9", "i-b"), at=7000)
    assert response["members"][0]["error_code"] == E.FENCED_INSTANCE_ID
    assert h.state() is S.STABLE


@pytest.mark.parametrize("group,response", [
    ("nope", {"error_code": E.NONE, "members": [
        {"member_id": "m", "group_instance_id": None, "error_code": E.UNKNOWN_MEMBER_ID}]}),
    ("", {"error_code": E.INVALID_GROUP_ID, "members": []}),
])
def test_leave_unknown_or_invalid_group(group, response):
    h = Harness()
    assert h.leave(("m", None), group=group) == response


def test_leaving_member_parked_in_join_is_answered_and_others_complete():
    h = Harness()
    a, b, c = h.stable_group("a", "b", "c")
    h.join("ja", a, at=7000)
    h.join("jb", b, at=7001)
    h.leave((b, None), at=7002)
    assert h.answer("jb")["error_code"] == E.UNKNOWN_MEMBER_ID
    assert h.answer("ja") is None                # c has not rejoined
    h.leave((c, None), at=7003)                  # now everyone left has joined
    assert h.answered_at["ja"] == 7003
    assert [m["member_id"] for m in h.answer("ja")["members"]] == [a]


def test_pending_member_can_leave():
    h = Harness()
    h.join("j", v4=True)
    assert h.leave(("c-1", None), at=10)["members"][0]["error_code"] == E.NONE
    assert h.join("j2", "c-1", at=20, v4=True)["error_code"] == E.UNKNOWN_MEMBER_ID
    assert h.gc.next_deadline_ms() is None


@pytest.mark.parametrize("response,error", [
    ({"error_code": E.NONE, "members": [{"error_code": E.NONE}]}, E.NONE),
    ({"error_code": E.NONE, "members": [{"error_code": E.UNKNOWN_MEMBER_ID}]},
     E.UNKNOWN_MEMBER_ID),
    ({"error_code": E.INVALID_GROUP_ID, "members": []}, E.INVALID_GROUP_ID),
])
def test_legacy_leave_error(response, error):
    assert legacy_leave_error(response) == error


def test_duplicate_join_answers_the_superseded_request():
    h = Harness()
    a, b = h.stable_group("a", "b")
    h.join("ja1", a, at=7000)
    h.join("ja2", a, at=7001)
    assert h.answer("ja1")["error_code"] == E.REBALANCE_IN_PROGRESS
    h.join("jb", b, at=7002)
    assert h.answer("ja2")["generation_id"] == 2


def test_join_phase_is_extended_while_only_unjoined_static_members_remain():
    # After Kafka's testGroupStuckInRebalanceTimeoutDueToNonjoinedStaticMember.
    h = Harness()
    a, b = h.stable_group("a", "b", instances=["i-a", "i-b"], rebalance=5000)
    assert h.now == 5000                                 # delay cut to the rebalance timeout
    h.join("jn", at=5000, rebalance=5000)                # a new dynamic member
    h.advance(10_000)
    # Neither static member rejoined: both kept; the new member leads generation 2.
    response = h.answer("jn")
    assert (response["leader"], response["member_id"], response["generation_id"]) == (
        "c-3", "c-3", 2)
    assert [m["member_id"] for m in response["members"]] == [a, b, "c-3"]
    h.leave((b, "i-b"), at=10_000)
    assert h.state() is S.PREPARING_REBALANCE
    h.advance(15_000)
    # The dynamic member did not rejoin: removed. The static one left did not either:
    # nobody to lead, so the join phase waits another rebalance timeout.
    assert (h.state(), h.generation(), h.member_ids()) == (S.PREPARING_REBALANCE, 2, [a])
    assert h.gc.next_deadline_ms() == 20_000
    h.advance(20_000)                                    # a's session (from 10000) ends
    assert (h.state(), h.generation(), h.member_ids()) == (S.EMPTY, 3, [])


def test_pending_member_timing_out_leaves_a_stable_group_alone():
    # After Kafka's testSecondMemberPartiallyJoinAndTimeout.
    h = Harness()
    (a,) = h.stable_group("a", session=6000)
    assert h.join("jn", at=3000, v4=True, session=6000)["error_code"] == E.MEMBER_ID_REQUIRED
    for t in (5000, 8000, 11_000):
        assert h.heartbeat(a, 1, at=t) == E.NONE
    assert (h.state(), h.generation(), h.member_ids()) == (S.STABLE, 1, [a])
    assert h.join("jn2", "c-2", at=11_001, v4=True)["error_code"] == E.UNKNOWN_MEMBER_ID


def test_static_replacement_while_its_sync_is_pending_owes_the_sync_under_the_new_id():
    """A static member restarted after the leader's SyncGroup but before its own: the new
    member id must sync, and once it has, the pending-sync timer finds nobody to expire.
    (Kafka keeps the old id pending and rebalances when the timer runs out; we move it.)"""
    h = Harness()
    h.join("ja", instance="i-a", rebalance=8000)
    h.join("jb", instance="i-b", rebalance=8000)
    h.advance(6000)
    leader = h.answer("ja")["member_id"]
    old_b = h.answer("jb")["member_id"]
    h.sync("sa", leader, 1, [(leader, b"a"), (old_b, b"b")], at=6001, instance="i-a")
    assert h.state() is S.STABLE
    new_b = h.join("jb2", "", at=6002, instance="i-b", rebalance=8000)["member_id"]
    assert new_b != old_b and h.state() is S.STABLE
    assert h.sync("sb", new_b, 1, at=6003, instance="i-b")["assignment"] == b"b"
    for at in (9000, 12000, 15000):   # past the sync deadline (6000 + 8000), heartbeating
        assert h.heartbeat(leader, 1, at=at, instance="i-a") == E.NONE
        assert h.heartbeat(new_b, 1, at=at, instance="i-b") == E.NONE
    assert (h.state(), h.generation(), h.member_ids()) == (S.STABLE, 1, [leader, new_b])
