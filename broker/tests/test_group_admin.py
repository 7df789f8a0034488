"""DescribeGroups, ListGroups, DeleteGroups, the deletion hook, and what the offsets layer
asks of the coordinator (offset expiration, subscribed topics)."""

from __future__ import annotations

import struct

import pytest

from broker.groups.coordinator import OffsetExpiration
from broker.groups.consumer_protocol import SubscriptionParseError, subscribed_topics
from broker.tests.group_harness import E, Harness, S


def subscription(*topics: str, version: int = 0, user_data: bytes | None = None,
                 tail: bytes = b"") -> bytes:
    out = struct.pack(">hi", version, len(topics))
    for topic in topics:
        out += struct.pack(">h", len(topic)) + topic.encode()
    out += struct.pack(">i", -1) if user_data is None else \
        struct.pack(">i", len(user_data)) + user_data
    return out + tail


def test_describe_stable_group():
    h = Harness()
    h.stable_group("a", "b", instances=[None, "i-b"])
    assert h.gc.describe(["g"]) == [{
        "error_code": E.NONE, "group_id": "g", "group_state": "Stable",
        "protocol_type": "consumer", "protocol_data": "range",
        "members": [
            {"member_id": "a-1", "group_instance_id": None, "client_id": "a",
             "client_host": "/127.0.0.1", "member_metadata": b"range-meta",
             "member_assignment": b"a"},
            {"member_id": "i-b-2", "group_instance_id": "i-b", "client_id": "b",
             "client_host": "/127.0.0.1", "member_metadata": b"range-meta",
             "member_assignment": b"b"}]}]


def test_describe_rebalancing_unknown_and_invalid_groups():
    h = Harness()
    h.stable_group("a", "b")
    h.join("j", "a-1", at=7000)                      # b has not rejoined yet
    rebalancing, unknown, invalid = h.gc.describe(["g", "nope", None])
    assert (rebalancing["group_state"], rebalancing["protocol_data"]) == ("PreparingRebalance", "")
    assert rebalancing["members"][0]["member_metadata"] == b""
    assert rebalancing["members"][0]["member_assignment"] == b"a"
    assert unknown == {"error_code": E.NONE, "group_id": "nope", "group_state": "Dead",
                       "protocol_type": "", "protocol_data": "", "members": []}
    assert invalid["error_code"] == E.INVALID_GROUP_ID


@pytest.fixture
def three_groups():
    h = Harness()
    h.stable_group("a", group="g1")
    h.commit("", -1, group="g2")                       # simple group, Empty
    h.join("j", client="c", group="g3", ptype="connect", at=h.now + 1)  # PreparingRebalance
    return h


@pytest.mark.parametrize("states,types,expected", [
    ((), (), ["g1", "g2", "g3"]),
    (["Stable"], (), ["g1"]),
    (["STABLE ", "empty"], (), ["g1", "g2"]),
    (["preparingrebalance"], ["Classic"], ["g3"]),
    (["dead"], (), []),
    ((), ["consumer"], []),
    ((), ["no-such-type"], []),
])
def test_list_groups_filters(three_groups, states, types, expected):
    listed = three_groups.gc.list_groups(states, types)
    assert [g["group_id"] for g in listed] == expected


def test_list_groups_entries(three_groups):
    assert three_groups.gc.list_groups() == [
        {"group_id": "g1", "protocol_type": "consumer", "group_state": "Stable",
         "group_type": "classic"},
        {"group_id": "g2", "protocol_type": "", "group_state": "Empty", "group_type": "classic"},
        {"group_id": "g3", "protocol_type": "connect", "group_state": "PreparingRebalance",
         "group_type": "classic"}]


def test_delete_groups(three_groups):
    h = three_groups
    assert h.delete("g1", "g2", "g3", "zzz", "", None) == [
        ("g1", E.NON_EMPTY_GROUP), ("g2", E.NONE), ("g3", E.NON_EMPTY_GROUP),
        ("zzz", E.GROUP_ID_NOT_FOUND), ("", E.GROUP_ID_NOT_FOUND), (None, E.INVALID_GROUP_ID)]
    assert h.deleted == ["g2"]
    assert not h.gc.group_exists("g2") and h.gc.group_ids() == ["g1", "g3"]
    assert h.describe("g2")["group_state"] == "Dead"
    assert h.delete("g2") == [("g2", E.GROUP_ID_NOT_FOUND)]


def test_deleting_an_empty_group_forgets_its_pending_members():
    h = Harness()
    h.join("j", v4=True)                              # pending member c-1, group Empty
    assert h.delete("g", at=10) == [("g", E.NONE)]
    assert h.gc.next_deadline_ms() is None
    assert h.join("j2", "c-1", at=20, v4=True)["error_code"] == E.UNKNOWN_MEMBER_ID


def test_maybe_delete_group():
    h = Harness()
    h.stable_group("a", group="live")
    h.commit("", -1, group="idle")
    assert h.gc.maybe_delete_group(h.now, "live") == (False, [])
    assert h.gc.maybe_delete_group(h.now, "idle") == (True, [])
    assert h.gc.maybe_delete_group(h.now, "idle") == (False, [])
    assert h.deleted == ["idle"]


def test_removed_listener_is_not_called():
    h = Harness()
    seen = []
    h.gc.add_group_deleted_listener(seen.append)
    h.gc.remove_group_deleted_listener(seen.append)
    h.commit("", -1)
    h.delete("g")
    assert seen == [] and h.deleted == ["g"]


def test_offsets_of_an_empty_group_age_from_when_it_became_empty():
    h = Harness()
    (a,) = h.stable_group("a")
    assert h.gc.offset_expiration("g") is None        # Stable, subscription unparseable
    h.leave((a, None), at=4000)
    assert h.gc.offset_expiration("g") == OffsetExpiration(empty_since_ms=4000)


def test_late_tick_acts_at_the_deadline():
    h = Harness()
    (a,) = h.stable_group("a")                        # session ends at 13000
    h._record(h.gc.tick(50_000))                      # the shell was late
    assert h.state() is S.EMPTY
    assert h.gc.offset_expiration("g") == OffsetExpiration(empty_since_ms=13_000)


def test_simple_group_offsets_age_from_their_commit():
    h = Harness()
    h.commit("", -1, at=500)
    assert h.gc.offset_expiration("g") == OffsetExpiration(empty_since_ms=None)
    assert h.gc.is_subscribed_to_topic("g", "t") is False
    assert h.gc.offset_expiration("unknown") is None


def test_stable_consumer_group_knows_its_subscribed_topics():
    h = Harness()
    h.stable_group("a", "b", protocols=[("range", subscription("t1", "t2"))])
    h.join("jb", "b-2", at=7000, protocols=[("range", subscription("t3", version=3,
                                                                    tail=b"\x00\x00"))])
    h.join("ja", "a-1", at=7001, protocols=[("range", subscription("t1", "t2"))])
    h.sync("sa", "a-1", 2, at=7002)
    assert h.state() is S.STABLE
    assert h.gc.offset_expiration("g") == OffsetExpiration(empty_since_ms=None)
    assert [h.gc.is_subscribed_to_topic("g", t) for t in ("t1", "t2", "t3", "t4")] == [
        True, True, True, False]


def test_rebalancing_or_unparseable_consumer_group_keeps_its_offsets():
    h = Harness()
    h.stable_group("a", "b")                          # metadata b"range-meta": unparseable
    assert h.gc.offset_expiration("g") is None
    assert h.gc.is_subscribed_to_topic("g", "anything") is True
    h.join("j", "a-1", at=7000, protocols=[("range", subscription("t1"))])
    assert h.state() is S.PREPARING_REBALANCE and h.gc.offset_expiration("g") is None


def test_only_consumer_groups_have_subscriptions():
    consumer = Harness()                              # protocol type "consumer", any name
    consumer.stable_group("a", protocols=[("x", subscription("t1"))])
    assert consumer.gc.is_subscribed_to_topic("g", "t1") is True
    assert consumer.gc.offset_expiration("g") == OffsetExpiration(empty_since_ms=None)
    connect = Harness()
    connect.join("j", ptype="connect", protocols=[("x", subscription("t1"))])
    connect.advance(3000)
    connect.sync("s", "c-1", 1)
    assert connect.state() is S.STABLE
    assert connect.gc.is_subscribed_to_topic("g", "t1") is False
    assert connect.gc.offset_expiration("g") is None


def test_listeners_must_not_reenter_and_a_failed_call_leaves_the_coordinator_usable():
    h = Harness()
    h.gc.add_group_deleted_listener(lambda group_id: h.gc.tick(h.now))
    h.commit("", -1)
    with pytest.raises(RuntimeError, match="re-entrantly"):
        h.gc.delete_groups(h.now, ["g"])
    assert h.heartbeat("m", 1) == E.UNKNOWN_MEMBER_ID


@pytest.mark.parametrize("data,expected", [
    (subscription(), []),
    (subscription("a", "bb"), ["a", "bb"]),
    (subscription("a", user_data=b"xyz"), ["a"]),
    (subscription("a", version=3, tail=b"\x00\x00\x00\x00more"), ["a"]),
    (b"", SubscriptionParseError),
    (b"\x00\x00", SubscriptionParseError),
    (subscription("abc")[:-6], SubscriptionParseError),   # cut inside the topic name
    (subscription("a")[:-1], SubscriptionParseError),     # cut inside user data length
    (struct.pack(">hi", 0, -1), SubscriptionParseError),
    (subscription("a", user_data=b"xyz")[:-1], SubscriptionParseError),
])
def test_subscription_parsing(data, expected):
    if expected is SubscriptionParseError:
        with pytest.raises(SubscriptionParseError):
            subscribed_topics(data)
    else:
        assert subscribed_topics(data) == expected


def test_next_deadline_tracks_the_earliest_timer():
    h = Harness()
    assert h.gc.next_deadline_ms() is None
    h.join("j", v4=True, session=8000)               # pending member: expires at 8000
    assert h.gc.next_deadline_ms() == 8000
    h.join("j2", "c-1", at=100, v4=True, session=8000)             # joined: initial delay ends at 3100
    assert h.gc.next_deadline_ms() == 3100
    h.advance(3100)                                  # generation 1; session ends at 11100
    assert h.gc.next_deadline_ms() == 3100 + 8000
