"""Group states and the join/sync flow: transitions, generations, leader, protocol vote,
initial rebalance delay, assignment delivery."""

from __future__ import annotations

import itertools

import pytest

from broker.groups.group import ClassicGroup, IllegalStateTransition
from broker.tests.group_harness import RANGE, E, Harness, S

# Kafka's ClassicGroupState: target -> valid previous states (copied by hand, on purpose
# independent of broker.groups.group.VALID_PREVIOUS_STATES).
KAFKA_VALID_PREVIOUS = {
    S.EMPTY: {S.PREPARING_REBALANCE},
    S.PREPARING_REBALANCE: {S.STABLE, S.COMPLETING_REBALANCE, S.EMPTY},
    S.COMPLETING_REBALANCE: {S.PREPARING_REBALANCE},
    S.STABLE: {S.COMPLETING_REBALANCE},
    S.DEAD: {S.STABLE, S.PREPARING_REBALANCE, S.COMPLETING_REBALANCE, S.EMPTY, S.DEAD},
}


@pytest.mark.parametrize("source,target", list(itertools.product(S, S)))
def test_transition_table(source, target):
    group = ClassicGroup("g", now_ms=0)
    group.state = source
    if source in KAFKA_VALID_PREVIOUS[target]:
        group.transition_to(target, now_ms=42)
        assert (group.previous_state, group.state, group.state_timestamp_ms) == (source, target, 42)
    else:
        with pytest.raises(IllegalStateTransition):
            group.transition_to(target, now_ms=42)
        assert group.state is source


def test_state_names_are_kafkas():
    assert [str(s) for s in S] == ["Empty", "PreparingRebalance", "CompletingRebalance",
                                   "Stable", "Dead"]


def test_single_member_full_flow_v4():
    h = Harness()
    # JoinGroup v4+ without member id: MEMBER_ID_REQUIRED with a generated id.
    assert h.join("j1", v4=True) == {
        "error_code": E.MEMBER_ID_REQUIRED, "generation_id": -1, "protocol_type": None,
        "protocol_name": None, "leader": "", "skip_assignment": False, "member_id": "c-1",
        "members": []}
    assert h.state() is S.EMPTY
    # Rejoin with it: parked for the initial rebalance delay.
    assert h.join("j2", "c-1", at=10, v4=True) is None
    assert h.state() is S.PREPARING_REBALANCE
    assert h.gc.next_deadline_ms() == 10 + 3000
    h.advance(3009)
    assert h.answer("j2") is None
    h.advance(3010)
    assert h.answer("j2") == {
        "error_code": E.NONE, "generation_id": 1, "protocol_type": "consumer",
        "protocol_name": "range", "leader": "c-1", "skip_assignment": False,
        "member_id": "c-1",
        "members": [{"member_id": "c-1", "group_instance_id": None, "metadata": b"range-meta"}]}
    assert h.state() is S.COMPLETING_REBALANCE
    assert h.sync("s1", "c-1", 1, [("c-1", b"A")], at=3100) == {
        "error_code": E.NONE, "protocol_type": "consumer", "protocol_name": "range",
        "assignment": b"A"}
    assert h.state() is S.STABLE
    assert h.heartbeat("c-1", 1, at=3200) == E.NONE


def test_three_members_each_get_their_assignment():
    h = Harness()
    for client in "abc":
        h.join(f"j-{client}", client=client)
    h.advance(5999)
    assert [h.answer(f"j-{c}") for c in "abc"] == [None, None, None]
    h.advance(6000)  # 3000 + one extension of 3000: b and c joined during the delay
    a, b, c = (h.answer(f"j-{x}") for x in "abc")
    assert [r["member_id"] for r in (a, b, c)] == ["a-1", "b-2", "c-3"]
    assert {r["leader"] for r in (a, b, c)} == {"a-1"}
    assert {r["generation_id"] for r in (a, b, c)} == {1}
    assert [m["member_id"] for m in a["members"]] == ["a-1", "b-2", "c-3"]
    assert b["members"] == [] and c["members"] == []
    # Followers that sync before the leader wait.
    assert h.sync("s-b", "b-2", 1, at=6010) is None
    assert h.sync("s-c", "c-3", 1, at=6020) is None
    assert h.state() is S.COMPLETING_REBALANCE
    h.sync("s-a", "a-1", 1, [("a-1", b"pa"), ("b-2", b"pb"), ("c-3", b"pc")], at=6030)
    assert {t: h.answer(t)["assignment"] for t in ("s-a", "s-b", "s-c")} == {
        "s-a": b"pa", "s-b": b"pb", "s-c": b"pc"}
    assert {h.answered_at[t] for t in ("s-a", "s-b", "s-c")} == {6030}
    assert h.state() is S.STABLE
    # A follower syncing after the leader gets its assignment at once (Stable).
    assert h.sync("s-b2", "b-2", 1, at=6040)["assignment"] == b"pb"


def test_member_missing_from_leader_assignment_gets_empty_bytes():
    h = Harness()
    a, b = h.stable_group("a", "b")
    h.join("ja", a, at=10_000)  # leader rejoin: rebalance, b must rejoin
    h.join("jb", b, at=10_001)
    assert h.answer("ja")["generation_id"] == 2
    h.sync("sb", b, 2, at=10_002)
    h.sync("sa", a, 2, [(a, b"only-a"), ("ghost", b"x")], at=10_003)
    assert (h.answer("sa")["assignment"], h.answer("sb")["assignment"]) == (b"only-a", b"")
    assert h.describe()["members"][1]["member_assignment"] == b""


@pytest.mark.parametrize("protocols,expected", [
    ([["range", "rr"], ["rr", "range"], ["rr", "range"]], "rr"),
    ([["range", "rr"], ["range", "rr"], ["rr", "range"]], "range"),
    ([["a", "b", "c"], ["c", "b"], ["b", "c"]], "b"),   # a is not common; votes b, c, b
    ([["a", "b"], ["b", "a"], ["b"]], "b"),             # only b is common
    ([["x", "y"], ["y", "x"]], "x"),                    # tie: the first vote cast wins
    ([["y", "x"], ["x", "y"]], "y"),
])
def test_protocol_selected_by_vote(protocols, expected):
    h = Harness()
    for i, names in enumerate(protocols):
        h.join(f"j{i}", client=f"m{i}", protocols=[(n, n.encode()) for n in names])
    h.advance(30_000)
    responses = [h.answer(f"j{i}") for i in range(len(protocols))]
    assert {r["protocol_name"] for r in responses} == {expected}
    # The leader receives each member's metadata for the chosen protocol.
    assert [m["metadata"] for m in responses[0]["members"]] == [expected.encode()] * len(protocols)


def test_initial_delay_waits_even_when_everyone_joined():
    h = Harness(group_initial_rebalance_delay_ms=5000)
    h.join("j", client="a")
    # All members joined, but the initial rebalance waits its delay.
    assert h.answer("j") is None and h.gc.next_deadline_ms() == 5000
    h.advance(5000)
    assert h.answer("j")["generation_id"] == 1


@pytest.mark.parametrize("rebalance_ms,join_times,completed_at", [
    (10_000, [0], 3000),
    (10_000, [0, 1000], 6000),
    (10_000, [0, 1000, 5000], 9000),
    (10_000, [0, 1000, 5000, 8000], 10_000),       # last extension cut to the timeout
    (10_000, [0, 1000, 5000, 8000, 9500], 10_000),  # never beyond the rebalance timeout
    (10_000, [0, 4000], 3000),                     # joined after the first delay: next rebalance
    (2000, [0, 1000], 3000),                       # timeout below the delay: no extension
])
def test_initial_rebalance_delay_extended_by_new_members(rebalance_ms, join_times, completed_at):
    h = Harness()
    for i, t in enumerate(join_times):
        h.join(f"j{i}", client=f"m{i}", at=t, rebalance=rebalance_ms)
    h.advance(20_000)
    assert h.answered_at["j0"] == completed_at
    joined = [t for t in join_times if t < completed_at]
    assert len(h.answer("j0")["members"]) == len(joined)


def test_generation_increments_per_rebalance_and_leader_is_kept():
    h = Harness()
    a, b = h.stable_group("a", "b")
    assert h.generation() == 1
    h.join("jb", b, at=10_000, protocols=[("range", b"new")])  # follower metadata changed
    assert h.state() is S.PREPARING_REBALANCE
    h.join("ja", a, at=10_001)
    assert (h.answer("jb")["generation_id"], h.answer("jb")["leader"]) == (2, a)
    assert h.generation() == 2


def test_join_in_completing_rebalance_with_same_metadata_gets_current_generation():
    h = Harness()
    h.join("ja", client="a")
    h.join("jb", client="b")
    h.advance(6000)
    assert h.state() is S.COMPLETING_REBALANCE
    again_b = h.join("jb2", "b-2", at=6100)
    assert again_b == {**h.answer("jb"), "members": []}
    again_a = h.join("ja2", "a-1", at=6200)
    assert again_a == h.answer("ja")  # the leader gets the member list again
    assert h.state() is S.COMPLETING_REBALANCE


def test_leader_sync_without_assignments_stabilizes_with_empty_assignments():
    h = Harness()
    h.join("ja", client="a")
    h.join("jb", client="b")
    h.advance(6000)
    assert h.sync("sb", "b-2", 1, at=6001) is None
    h.sync("sa", "a-1", 1, at=6002)
    assert (h.answer("sa")["assignment"], h.answer("sb")["assignment"]) == (b"", b"")
    assert h.state() is S.STABLE


def test_follower_parked_in_sync_is_released_by_a_rebalance():
    h = Harness()
    h.join("ja", client="a")
    h.join("jb", client="b")
    h.advance(6000)
    assert h.sync("sb", "b-2", 1, at=6001) is None
    h.join("ja2", "a-1", at=6002, protocols=[("range", b"changed")])
    assert h.state() is S.PREPARING_REBALANCE
    assert h.answer("sb") == {"error_code": E.REBALANCE_IN_PROGRESS, "protocol_type": None,
                              "protocol_name": None, "assignment": b""}


@pytest.mark.parametrize("who,protocols,rebalances", [
    ("follower", RANGE, False),
    ("follower", [("range", b"other")], True),
    ("follower", [("rr", b"x"), ("range", b"range-meta")], True),
    ("leader", RANGE, True),
])
def test_join_in_stable(who, protocols, rebalances):
    h = Harness()
    a, b = h.stable_group("a", "b")
    member = a if who == "leader" else b
    response = h.join("j", member, at=7000, protocols=protocols)
    if rebalances:
        assert response is None and h.state() is S.PREPARING_REBALANCE
    else:
        assert response == {"error_code": E.NONE, "generation_id": 1,
                            "protocol_type": "consumer", "protocol_name": "range",
                            "leader": a, "skip_assignment": False, "member_id": b,
                            "members": []}
        assert h.state() is S.STABLE


def test_rebalance_completes_as_soon_as_all_members_rejoined():
    h = Harness()
    a, b, c = h.stable_group("a", "b", "c")
    h.join("ja", a, at=7000)
    h.join("jb", b, at=7100)
    assert h.answer("ja") is None
    h.join("jc", c, at=7200)
    assert {h.answered_at[t] for t in ("ja", "jb", "jc")} == {7200}
    assert h.state() is S.COMPLETING_REBALANCE and h.generation() == 2


def test_last_member_leaving_empties_group_and_bumps_generation():
    h = Harness()
    (a,) = h.stable_group("a")
    assert h.leave((a, None), at=4000) == {
        "error_code": E.NONE,
        "members": [{"member_id": a, "group_instance_id": None, "error_code": E.NONE}]}
    assert (h.state(), h.generation()) == (S.EMPTY, 2)
    assert h.describe() == {"error_code": E.NONE, "group_id": "g", "group_state": "Empty",
                            "protocol_type": "consumer", "protocol_data": "", "members": []}
    # The group is Empty: a new first member gets the initial delay again, generation 3.
    h.join("j", client="z", at=5000)
    h.advance(8000)
    assert h.answer("j")["generation_id"] == 3


def test_only_member_leaving_during_the_initial_delay():
    # The initial rebalance does not complete early: the group waits out the delay
    # with no members, then becomes Empty with generation 1 (Kafka's initNextGeneration).
    h = Harness()
    h.join("j", client="a")
    h.leave(("a-1", None), at=1000)
    assert h.answer("j")["error_code"] == E.UNKNOWN_MEMBER_ID
    assert (h.state(), h.generation(), h.member_ids()) == (S.PREPARING_REBALANCE, 0, [])
    h.advance(3000)
    assert (h.state(), h.generation()) == (S.EMPTY, 1)
