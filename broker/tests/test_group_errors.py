"""Error codes of JoinGroup, SyncGroup, Heartbeat and OffsetCommit validation, as tables
over a few group setups."""

from __future__ import annotations

import pytest

from broker.tests.group_harness import E, Harness, S

# Member ids in every setup: "a-1" (dynamic, leader) and "i-b-2" (static, instance "i-b").


def setup_stable(h):
    h.stable_group("a", "b", instances=[None, "i-b"])


def setup_preparing(h):
    setup_stable(h)
    h.join("rejoin-a", "a-1", at=h.now + 1)          # the leader rejoins


def setup_completing(h):
    h.join("ja", client="a")
    h.join("jb", client="b", instance="i-b")
    h.advance(6000)


def setup_empty(h):
    setup_stable(h)
    h.leave(("a-1", None), ("", "i-b"), at=h.now + 1)


SETUPS = {"stable": (setup_stable, S.STABLE, 1),
          "preparing": (setup_preparing, S.PREPARING_REBALANCE, 1),
          "completing": (setup_completing, S.COMPLETING_REBALANCE, 1),
          "empty": (setup_empty, S.EMPTY, 2)}


def harness(setup: str) -> Harness:
    h = Harness()
    function, state, generation = SETUPS[setup]
    function(h)
    assert (h.state(), h.generation()) == (state, generation)
    return h


@pytest.mark.parametrize("setup,group,member_id,generation,instance,error", [
    ("stable", "g", "a-1", 1, None, E.NONE),
    ("stable", "g", "i-b-2", 1, "i-b", E.NONE),
    ("stable", "g", "a-1", 0, None, E.ILLEGAL_GENERATION),
    ("stable", "g", "a-1", 2, None, E.ILLEGAL_GENERATION),
    ("stable", "g", "x", 1, None, E.UNKNOWN_MEMBER_ID),
    ("stable", "g", "a-1", 1, "i-b", E.FENCED_INSTANCE_ID),
    ("stable", "g", "i-b-2", 1, "i-zz", E.UNKNOWN_MEMBER_ID),
    ("stable", "nope", "a-1", 1, None, E.UNKNOWN_MEMBER_ID),
    ("stable", "", "a-1", 1, None, E.INVALID_GROUP_ID),
    ("stable", None, "a-1", 1, None, E.INVALID_GROUP_ID),
    ("preparing", "g", "a-1", 1, None, E.REBALANCE_IN_PROGRESS),
    ("preparing", "g", "i-b-2", 1, "i-b", E.REBALANCE_IN_PROGRESS),
    ("preparing", "g", "a-1", 2, None, E.ILLEGAL_GENERATION),
    ("completing", "g", "a-1", 1, None, E.NONE),
    ("empty", "g", "a-1", 2, None, E.UNKNOWN_MEMBER_ID),
])
def test_heartbeat_errors(setup, group, member_id, generation, instance, error):
    h = harness(setup)
    assert h.heartbeat(member_id, generation, group=group, instance=instance) == error


@pytest.mark.parametrize("kwargs,error,member_id", [
    (dict(group=""), E.INVALID_GROUP_ID, ""),
    (dict(group="", member_id="m"), E.INVALID_GROUP_ID, "m"),
    (dict(session=5999), E.INVALID_SESSION_TIMEOUT, ""),
    (dict(session=1_800_001), E.INVALID_SESSION_TIMEOUT, ""),
    (dict(member_id="m"), E.UNKNOWN_MEMBER_ID, "m"),   # a member id for a group that does not exist
    (dict(ptype=""), E.INCONSISTENT_GROUP_PROTOCOL, ""),
    (dict(protocols=()), E.INCONSISTENT_GROUP_PROTOCOL, ""),
])
def test_join_errors_on_a_new_group(kwargs, error, member_id):
    h = Harness()
    kwargs = {"member_id": "", **kwargs}
    response = h.join("j", kwargs.pop("member_id"), **kwargs)
    assert (response["error_code"], response["member_id"]) == (error, member_id)
    assert response["generation_id"] == -1


@pytest.mark.parametrize("session", [6000, 1_800_000])
def test_session_timeout_bounds_are_inclusive(session):
    h = Harness()
    assert h.join("j", session=session) is None


def test_failed_first_join_still_creates_the_empty_group():
    # Kafka creates the group before checking the protocols (and persists it empty).
    h = Harness()
    h.join("j", ptype="")
    assert h.state() is S.EMPTY


@pytest.mark.parametrize("member_id,kwargs", [
    ("", dict(ptype="connect")),
    ("", dict(protocols=[("roundrobin", b"")])),
    ("a-1", dict(protocols=[("roundrobin", b"")])),
    ("a-1", dict(ptype="connect")),
])
def test_join_with_inconsistent_protocol(member_id, kwargs):
    h = harness("stable")
    response = h.join("j", member_id, at=7000, **kwargs)
    assert (response["error_code"], response["member_id"]) == (
        E.INCONSISTENT_GROUP_PROTOCOL, member_id)
    assert h.state() is S.STABLE


def test_group_max_size():
    h = Harness(group_max_size=2)
    a, b = h.stable_group("a", "b")
    assert h.join("jc", at=7000) == {
        "error_code": E.GROUP_MAX_SIZE_REACHED, "generation_id": -1, "protocol_type": None,
        "protocol_name": None, "leader": "", "skip_assignment": False, "member_id": "",
        "members": []}
    assert h.state() is S.STABLE
    # During a rebalance members already waiting are accepted again; new ones are not.
    h.join("ja", a, at=7001)
    h.join("jb-new", "", at=7002)
    assert h.answer("jb-new") is None  # one awaiting (< 2): accepted, rebalance goes on
    assert h.join("jd", "", at=7003)["error_code"] == E.GROUP_MAX_SIZE_REACHED
    assert h.join("ja2", a, at=7004) is None      # a was awaiting: accepted again


def test_group_max_size_evicts_a_rejoining_member_beyond_the_limit():
    # Kafka counts *awaiting* members in PreparingRebalance: once the limit is reached
    # by others, a member that had not rejoined yet is refused and removed.
    h = Harness(group_max_size=2)
    a, b = h.stable_group("a", "b")
    h.join("ja", a, at=7000)                      # awaiting: 1
    h.join("jn", "", at=7001)                     # new member, awaiting: 2
    response = h.join("jb", b, at=7002)
    assert (response["error_code"], response["member_id"]) == (E.GROUP_MAX_SIZE_REACHED, "")
    assert h.member_ids() == [a, "c-3"]


@pytest.mark.parametrize("setup,args,error", [
    ("stable", dict(group=""), E.INVALID_GROUP_ID),
    ("stable", dict(group="nope"), E.UNKNOWN_MEMBER_ID),
    ("empty", dict(member_id="a-1", generation=2), E.UNKNOWN_MEMBER_ID),
    ("stable", dict(member_id="x"), E.UNKNOWN_MEMBER_ID),
    ("stable", dict(generation=2), E.ILLEGAL_GENERATION),
    ("stable", dict(ptype="connect"), E.INCONSISTENT_GROUP_PROTOCOL),
    ("stable", dict(pname="roundrobin"), E.INCONSISTENT_GROUP_PROTOCOL),
    ("stable", dict(ptype="consumer", pname="range"), E.NONE),
    ("stable", dict(member_id="a-1", instance="i-b"), E.FENCED_INSTANCE_ID),
    ("preparing", dict(), E.REBALANCE_IN_PROGRESS),
    ("completing", dict(ptype="connect"), E.INCONSISTENT_GROUP_PROTOCOL),
])
def test_sync_errors(setup, args, error):
    h = harness(setup)
    args = {"member_id": "a-1", "generation": 1, **args}
    response = h.sync("s", args.pop("member_id"), args.pop("generation"), at=h.now + 1, **args)
    assert response["error_code"] == error
    if error:
        assert response == {"error_code": error, "protocol_type": None, "protocol_name": None,
                            "assignment": b""}


@pytest.mark.parametrize("setup,member_id,generation,instance,transactional,error", [
    ("stable", "a-1", 1, None, False, E.NONE),
    ("stable", "i-b-2", 1, "i-b", False, E.NONE),
    ("stable", "a-1", 0, None, False, E.ILLEGAL_GENERATION),
    ("stable", "a-1", -1, None, False, E.ILLEGAL_GENERATION),
    ("stable", "x", 1, None, False, E.UNKNOWN_MEMBER_ID),
    ("stable", "", -1, None, False, E.UNKNOWN_MEMBER_ID),   # simple commit to a live group
    ("stable", "", -1, None, True, E.NONE),                 # ...allowed when transactional
    ("stable", "a-1", 1, "i-b", False, E.FENCED_INSTANCE_ID),
    ("preparing", "a-1", 1, None, False, E.NONE),          # the previous generation commits
    ("completing", "a-1", 1, None, False, E.REBALANCE_IN_PROGRESS),
    ("completing", "a-1", 1, None, True, E.NONE),
    ("empty", "", -1, None, False, E.NONE),
    ("empty", "whoever", -1, None, False, E.NONE),
    ("empty", "a-1", 2, None, False, E.UNKNOWN_MEMBER_ID),
])
def test_commit_validation(setup, member_id, generation, instance, transactional, error):
    h = harness(setup)
    assert h.commit(member_id, generation, instance=instance,
                    transactional=transactional) == error


@pytest.mark.parametrize("group,generation,member_id,api_version,transactional,error,created", [
    ("new", -1, "", 9, False, E.NONE, True),
    ("", -1, "", 9, False, E.NONE, True),                 # "" is a legal group id here
    ("new", 1, "m", 9, False, E.GROUP_ID_NOT_FOUND, False),
    ("new", 1, "m", 8, False, E.ILLEGAL_GENERATION, False),
    ("new", 1, "m", 9, True, E.ILLEGAL_GENERATION, False),
    (None, -1, "", 9, False, E.INVALID_GROUP_ID, False),
])
def test_commit_to_unknown_group(group, generation, member_id, api_version, transactional,
                                 error, created):
    h = Harness()
    assert h.commit(member_id, generation, group=group, api_version=api_version,
                    transactional=transactional) == error
    assert h.gc.group_exists(group) is created
    if created:  # a "simple" group: Empty, no protocol type
        assert h.gc.list_groups() == [{"group_id": group, "protocol_type": "",
                                       "group_state": "Empty", "group_type": "classic"}]


def test_offset_fetch_validation():
    h = Harness()
    assert h.gc.validate_offset_fetch("unknown") == E.NONE
    assert h.gc.validate_offset_fetch(None) == E.INVALID_GROUP_ID


def test_group_max_size_with_pending_members():
    # After Kafka's testDynamicMembersJoinGroupWithMaxSizeAndRequiredKnownMember.
    h = Harness(group_max_size=3, group_initial_rebalance_delay_ms=50)
    ids = [h.join(f"j1-{i}", v4=True)["member_id"] for i in range(4)]
    assert ids == ["c-1", "c-2", "c-3", "c-4"] and h.state() is S.EMPTY
    for member_id in ids:                       # all four come back with their ids
        h.join(f"j2-{member_id}", member_id, v4=True)
    assert h.error("j2-c-4") == E.GROUP_MAX_SIZE_REACHED
    assert h.gc._groups["g"].pending_join_members == set()
    h.advance(100)                              # delay, one extension, done
    assert [h.error(f"j2-{m}") for m in ids[:3]] == [E.NONE] * 3
    assert h.state() is S.COMPLETING_REBALANCE
    for member_id in ids:                       # accepted ones may rejoin, not the other
        h.join(f"j3-{member_id}", member_id, v4=True)
    assert [h.error(f"j3-{m}") for m in ids] == [E.NONE] * 3 + [E.GROUP_MAX_SIZE_REACHED]
