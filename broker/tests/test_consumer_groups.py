"""KIP-848 consumer groups: the pure coordinator driven with a fake clock, as the shell drives it.

Each test plays heartbeats in order and checks what the members would see: epochs, their
assignments, errors, and that the records it queued rebuild the same group after a restart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from broker.groups.consumer.assignors import range_, uniform
from broker.groups.consumer.coordinator import ConsumerGroupCoordinator, ConsumerGroupSettings
from broker.groups.consumer.member import MemberState
from kproto.errors import ErrorCode as E

T1, T2 = uuid.UUID(int=1), uuid.UUID(int=2)


@dataclass
class Topic:
    topic_id: uuid.UUID
    num_partitions: int
    internal: bool = False


class Group:
    """One consumer group's members heartbeating into a coordinator at a fake time."""

    def __init__(self, topics=None, **settings):
        self.c = ConsumerGroupCoordinator(ConsumerGroupSettings(**settings))
        self.topics = topics if topics is not None else {"a": Topic(T1, 4), "b": Topic(T2, 2)}
        self.version = 1
        self.now = 1000
        self.records = []
        self.owned: dict[str, dict] = {}   # member -> what it holds (as it reports it)
        self.epochs: dict[str, int] = {}

    def beat(self, member: str, epoch: int | None = None, *, topics=("a",), regex=None, instance=None,
             owned: bool = True, full: bool = False, assignor=None, version=1) -> dict:
        epoch = self.epochs.get(member, 0) if epoch is None else epoch
        joining = epoch == 0
        req = {"group_id": "g", "member_id": member, "member_epoch": epoch, "instance_id": instance,
               "rack_id": None, "rebalance_timeout_ms": 30000 if joining or full else -1,
               "subscribed_topic_names": (list(topics) if regex is None else None) if joining or full else None,
               "subscribed_topic_regex": regex if joining else None, "server_assignor": assignor,
               "topic_partitions": [] if joining else (self._reported(member) if owned else None)}
        response = self.c.heartbeat(self.now, req, "client", "/127.0.0.1", version, self.topics, self.version)
        self.records += self.c.take_changes()
        if response["error_code"] == E.NONE:
            self.epochs[member] = response["member_epoch"]
            if response["assignment"] is not None:
                self.owned[member] = {uuid.UUID(bytes=tp["topic_id"]): sorted(tp["partitions"])
                                      for tp in response["assignment"]["topic_partitions"]}
        return response

    def _reported(self, member: str) -> list[dict]:
        return [{"topic_id": t.bytes, "partitions": p} for t, p in self.owned.get(member, {}).items()]

    def settle(self, *members: str, rounds: int = 6) -> None:
        for _ in range(rounds):
            for m in members:
                assert self.beat(m)["error_code"] == E.NONE

    def held(self, member: str) -> dict:
        return {t: sorted(p) for t, p in self.owned.get(member, {}).items() if p}

    def advance(self, ms: int) -> None:
        self.now += ms
        self.c.tick(self.now)
        self.records += self.c.take_changes()


def all_partitions(g: Group, *members: str) -> list:
    return sorted((t, p) for m in members for t, parts in g.held(m).items() for p in parts)


def test_first_member_gets_every_subscribed_partition_at_epoch_1():
    g = Group()
    r = g.beat("m1")
    assert (r["error_code"], r["member_epoch"], r["heartbeat_interval_ms"]) == (E.NONE, 1, 5000)
    assert g.held("m1") == {T1: [0, 1, 2, 3]}
    assert g.c.describe(["g"], g.topics, 1)[0]["group_state"] == "Stable"


def test_second_member_waits_for_the_first_to_revoke_before_it_gets_partitions():
    g = Group()
    g.beat("m1")
    r2 = g.beat("m2")
    assert r2["member_epoch"] == 2 and g.held("m2") == {}          # its partitions are still m1's
    r1 = g.beat("m1", owned=True)
    assert r1["member_epoch"] == 1                                   # revoke first, same epoch
    assert len(g.held("m1")[T1]) == 2
    assert g.c.groups["g"].members["m1"].state is MemberState.UNREVOKED_PARTITIONS
    g.beat("m1")                                                     # reports the revocation done
    assert g.epochs["m1"] == 2
    g.beat("m2")
    assert all_partitions(g, "m1", "m2") == [(T1, p) for p in range(4)]
    assert len(g.held("m2")[T1]) == 2
    assert g.c.describe(["g"], g.topics, 1)[0]["group_state"] == "Stable"


def test_four_members_split_the_partitions_and_one_leaving_gives_them_back():
    g = Group()
    for m in ("m1", "m2", "m3", "m4"):
        g.beat(m)
    g.settle("m1", "m2", "m3", "m4")
    assert [len(g.held(m).get(T1, [])) for m in ("m1", "m2", "m3", "m4")] == [1, 1, 1, 1]
    assert g.beat("m4", -1)["member_epoch"] == -1
    g.settle("m1", "m2", "m3")
    assert all_partitions(g, "m1", "m2", "m3") == [(T1, p) for p in range(4)]


@pytest.mark.parametrize("epoch, owned, code", [
    (9, True, E.FENCED_MEMBER_EPOCH),           # ahead of the coordinator
    (1, False, E.NONE),                          # the previous epoch, owning nothing unknown
])
def test_member_epochs(epoch, owned, code):
    g = Group()
    g.beat("m1")
    g.beat("m2")
    g.settle("m1", "m2")
    assert g.epochs["m1"] == 2
    assert g.beat("m1", epoch, owned=owned)["error_code"] == code


def test_a_smaller_epoch_that_is_not_the_previous_one_is_fenced():
    g = Group()
    g.beat("m1")
    for m in ("m2", "m3"):
        g.beat(m)
        g.settle("m1", "m2", "m3")
    assert g.epochs["m1"] == 3
    r = g.beat("m1", 1)
    assert r["error_code"] == E.FENCED_MEMBER_EPOCH and "smaller member epoch" in r["error_message"]


@pytest.mark.parametrize("member, epoch, code", [
    ("nobody", 1, E.UNKNOWN_MEMBER_ID),
    ("nobody", -1, E.UNKNOWN_MEMBER_ID),
    ("", 1, E.INVALID_REQUEST),
    ("m1", -3, E.INVALID_REQUEST),
])
def test_unknown_and_invalid_members(member, epoch, code):
    g = Group()
    g.beat("m1")
    r = g.beat(member, epoch)
    assert r["error_code"] == code and r["member_epoch"] == -1 and r["error_message"]


def test_an_unknown_group_is_group_id_not_found_unless_joining():
    g = Group()
    assert g.beat("m1", 5)["error_code"] == E.GROUP_ID_NOT_FOUND


@pytest.mark.parametrize("regex", ["a(", "(?=a)", "x\\1", "[z-a]"])
def test_malformed_regex_is_invalid_regular_expression(regex):
    r = Group().beat("m1", regex=regex)
    assert r["error_code"] == E.INVALID_REGULAR_EXPRESSION


def test_regex_subscription_follows_topics_as_they_come():
    g = Group()
    g.beat("m1", regex="a|c.*")
    assert g.held("m1") == {T1: [0, 1, 2, 3]}
    t3 = uuid.UUID(int=3)
    g.topics = {**g.topics, "cats": Topic(t3, 1), "__internal": Topic(uuid.UUID(int=4), 1, True)}
    g.version += 1
    g.beat("m1")
    assert g.held("m1") == {T1: [0, 1, 2, 3], t3: [0]}


def test_unsupported_assignor():
    assert Group().beat("m1", assignor="sticky")["error_code"] == E.UNSUPPORTED_ASSIGNOR


def test_range_assignor_when_members_ask_for_it():
    g = Group()
    g.beat("m1", topics=("a", "b"), assignor="range")
    g.beat("m2", topics=("a", "b"), assignor="range")
    g.settle("m1", "m2")
    assert g.held("m1") == {T1: [0, 1], T2: [0]} and g.held("m2") == {T1: [2, 3], T2: [1]}


def test_static_member_leaves_for_a_while_and_comes_back_with_its_partitions():
    g = Group()
    g.beat("s1", instance="i1")
    g.beat("m2")
    g.settle("s1", "m2")
    held, epoch = g.held("s1"), g.c.groups["g"].group_epoch
    assert g.beat("s1", -2, instance="i1")["member_epoch"] == -2
    r = g.beat("s1b", 0, instance="i1")                   # a new process, the same instance id
    assert r["error_code"] == E.NONE and g.held("s1b") == held
    assert g.c.groups["g"].group_epoch == epoch           # no rebalance
    assert "s1" not in g.c.groups["g"].members


def test_a_static_member_that_did_not_leave_cannot_be_replaced_until_its_session_ends():
    g = Group(session_timeout_ms=6000)
    g.beat("s1", instance="i1")
    assert g.beat("s2", 0, instance="i1")["error_code"] == E.UNRELEASED_INSTANCE_ID
    g.advance(6001)
    assert g.beat("s2", 0, instance="i1")["error_code"] == E.NONE


def test_a_silent_member_is_removed_after_the_session_timeout():
    g = Group(session_timeout_ms=6000)
    g.beat("m1")
    g.beat("m2")
    g.settle("m1", "m2")
    g.advance(3000)
    g.beat("m1")
    g.advance(3001)                        # m2 silent for 6001 ms
    assert set(g.c.groups["g"].members) == {"m1"}
    g.settle("m1")
    assert g.held("m1") == {T1: [0, 1, 2, 3]}


def test_a_member_that_does_not_revoke_in_its_rebalance_timeout_is_removed():
    g = Group(session_timeout_ms=60000)
    g.beat("m1")
    g.beat("m2")
    g.beat("m1", owned=False)              # told to revoke; never reports it done
    assert g.c.groups["g"].members["m1"].state is MemberState.UNREVOKED_PARTITIONS
    g.advance(30001)
    assert "m1" not in g.c.groups["g"].members


def test_commits_check_the_member_epoch():
    g = Group()
    g.beat("m1")
    assert g.c.validate_commit(g.now, "g", "m1", 1) == E.NONE
    assert g.c.validate_commit(g.now, "g", "m1", 0) == E.STALE_MEMBER_EPOCH
    assert g.c.validate_commit(g.now, "g", "zz", 1) == E.UNKNOWN_MEMBER_ID
    assert g.c.validate_commit(g.now, "g", "", -1) == E.UNKNOWN_MEMBER_ID   # admin commit to a live group
    assert g.c.validate_commit(g.now, "g", "m1", 1, api_version=8) == E.UNSUPPORTED_VERSION
    assert g.c.validate_commit(g.now, "g", "m1", 1, api_version=8, transactional=True) == E.NONE
    assert g.c.validate_commit(g.now, "g", "", -1, transactional=True) == E.NONE   # a TxnOffsetCommit naming no member
    assert g.c.validate_commit(g.now, "g", "", -1, transactional=True, group_instance_id="i") == E.UNKNOWN_MEMBER_ID


def test_records_rebuild_the_group_after_a_restart():
    g = Group()
    g.beat("m1")
    g.beat("s2", instance="i2")
    g.beat("m1")
    g.beat("m1")
    g.beat("s2")
    before = g.c.groups["g"]
    restarted = ConsumerGroupCoordinator()
    from kproto import group_records as R
    # through the bytes, as they are in __consumer_offsets
    records = [(t, R.decode_key(R.encode_key(t, k))[1], None if v is None else R.decode_value(t, R.encode_value(t, v)))
               for _, t, k, v in g.records]
    restarted.load(g.now, records)
    after = restarted.groups["g"]
    assert (after.group_epoch, after.assignment_epoch) == (before.group_epoch, before.assignment_epoch)
    assert after.members == before.members and after.target == before.target
    assert after.static_members == {"i2": "s2"}
    # the restarted coordinator goes on from there
    g.c = restarted
    assert g.beat("m1")["error_code"] == E.NONE


def test_deleting_a_group_with_members_is_refused_then_allowed():
    g = Group()
    g.beat("m1")
    assert g.c.delete(g.now, "g") == E.NON_EMPTY_GROUP
    g.beat("m1", -1)
    assert g.c.delete(g.now, "g") == E.NONE
    assert "g" not in g.c.groups


@pytest.mark.parametrize("members, partitions", [(1, 4), (3, 10), (4, 4), (5, 3)])
def test_uniform_is_balanced_and_sticky(members, partitions):
    subs = {f"m{i}": frozenset({T1}) for i in range(members)}
    first = uniform(subs, {T1: partitions}, {})
    counts = sorted(len(a.get(T1, ())) for a in first.values())
    assert counts[-1] - counts[0] <= 1 and sum(counts) == partitions
    subs[f"m{members}"] = frozenset({T1})
    second = uniform(subs, {T1: partitions}, first)
    moved = sum(len(first[m].get(T1, frozenset()) - second[m].get(T1, frozenset())) for m in first)
    assert moved <= -(-partitions // (members + 1)) + 1


def test_range_gives_contiguous_ranges_in_member_order():
    out = range_({"b": frozenset({T1}), "a": frozenset({T1})}, {T1: 5}, {})
    assert out == {"a": {T1: frozenset({0, 1, 2})}, "b": {T1: frozenset({3, 4})}}


# -- classic members (KIP-848's online migration; over the wire: handlers/test_group_migration.py)

def _subscription(*topics: str) -> bytes:
    import struct
    out = struct.pack(">hi", 1, len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    return out + struct.pack(">ii", -1, 0)   # no user data, no owned partitions


def _classic_join(g: Group, member: str, *, rebalance_timeout_ms: int = 20000) -> dict:
    response = g.c.classic_join(g.now, "g", member, None, "client", "/127.0.0.1", 10000, rebalance_timeout_ms,
                                "consumer", [("range", _subscription("a"))], True, g.topics, g.version)
    g.records += g.c.take_changes()
    return response


def test_a_classic_member_that_does_not_sync_or_rejoin_in_time_is_fenced():
    g = Group()
    g.beat("m1")
    joined = _classic_join(g, "k1", rebalance_timeout_ms=5000)
    assert (joined["error_code"], joined["generation_id"]) == (E.NONE, 2)
    g.advance(5001)                                   # no SyncGroup within the rebalance timeout
    assert "k1" not in g.c.groups["g"].members
    _classic_join(g, "k2", rebalance_timeout_ms=5000)
    assert g.c.classic_sync(g.now, "g", 4, "k2", None, "consumer", "range")["error_code"] == E.NONE
    g.beat("m3", 0)                                   # the group moves on: k2 must rejoin
    assert g.c.classic_heartbeat(g.now, "g", 4, "k2", None) == E.REBALANCE_IN_PROGRESS
    g.advance(4000)
    assert g.c.classic_heartbeat(g.now, "g", 4, "k2", None) == E.REBALANCE_IN_PROGRESS   # the first timer holds
    g.advance(1001)
    assert "k2" not in g.c.groups["g"].members


def test_the_last_consumer_member_timing_out_hands_the_group_to_the_classic_coordinator():
    g = Group(session_timeout_ms=45000)
    g.beat("m1")
    epoch = _classic_join(g, "k1")["generation_id"]
    assert g.c.classic_sync(g.now, "g", epoch, "k1", None, "consumer", "range")["error_code"] == E.NONE
    for _ in range(4):                                # k1 keeps its (10 s) session; m1 falls silent
        g.advance(9000)
        assert g.c.classic_heartbeat(g.now, "g", epoch, "k1", None) == E.NONE
    assert "g" in g.c.groups
    g.advance(9000)                                   # m1's 45 s session ends
    assert "g" not in g.c.groups
    [handed] = g.c.take_handovers()
    assert (handed.group_id, [m.member_id for m in handed.members]) == ("g", ["k1"])
    assert handed.members[0].session_timeout_ms == 10000 and handed.generation_id == 2
    assert handed.members[0].target == (("a", (2, 3)),)   # its target as it was: the classic rebalance follows


def test_a_classic_member_survives_a_restart_with_its_session_and_protocols():
    g = Group()
    g.beat("m1")
    _classic_join(g, "k1")
    from kproto import group_records as R
    records = [(t, R.decode_key(R.encode_key(t, k))[1], None if v is None else R.decode_value(t, R.encode_value(t, v)))
               for _, t, k, v in g.records]
    restarted = ConsumerGroupCoordinator()
    restarted.load(g.now, records)
    assert restarted.groups["g"].members == g.c.groups["g"].members
    assert restarted.groups["g"].members["k1"].classic.protocols == (("range", _subscription("a")),)
