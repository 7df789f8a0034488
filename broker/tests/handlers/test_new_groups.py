"""KIP-848 and share-group APIs over real sockets, with raw kproto frames: the answers and
error shapes a client sees, how the group types share one namespace, and what survives a restart."""

from __future__ import annotations

import uuid

import pytest

from broker.tests.handlers.serving import batch, create_topic, produce, values_of
from kproto.errors import ErrorCode as E
from kproto.messages import (
    ALTER_SHARE_GROUP_OFFSETS, CONSUMER_GROUP_DESCRIBE, CONSUMER_GROUP_HEARTBEAT, DELETE_GROUPS,
    DELETE_SHARE_GROUP_OFFSETS, DESCRIBE_GROUPS, DESCRIBE_SHARE_GROUP_OFFSETS, JOIN_GROUP, LIST_GROUPS, OFFSET_COMMIT,
    OFFSET_FETCH, SHARE_ACKNOWLEDGE, SHARE_FETCH, SHARE_GROUP_DESCRIBE, SHARE_GROUP_HEARTBEAT)


def cg_beat(client, group, member, epoch, topics=None, *, regex=None, owned=None, version=1, instance=None):
    body = {"group_id": group, "member_id": member, "member_epoch": epoch, "instance_id": instance,
            "rack_id": None, "rebalance_timeout_ms": 30000 if epoch == 0 else -1,
            "subscribed_topic_names": topics, "subscribed_topic_regex": regex, "server_assignor": None,
            "topic_partitions": [] if epoch == 0 else owned}
    return client.request(CONSUMER_GROUP_HEARTBEAT, version, body)


def sg_beat(client, group, member, epoch, topics=None):
    return client.request(SHARE_GROUP_HEARTBEAT, 1, {"group_id": group, "member_id": member, "member_epoch": epoch,
                                                    "rack_id": None, "subscribed_topic_names": topics})


def share_fetch(client, group, member, epoch, topic_id, *, acks=None, max_records=500, wait_ms=0, version=1):
    part = {"partition_index": 0, "acknowledgement_batches": acks or []}
    return client.request(SHARE_FETCH, version, {
        "group_id": group, "member_id": member, "share_session_epoch": epoch, "max_wait_ms": wait_ms,
        "min_bytes": 1, "max_bytes": 1 << 20, "max_records": max_records, "batch_size": 500,
        "share_acquire_mode": 0, "is_renew_ack": False,
        "topics": [{"topic_id": topic_id, "partitions": [part]}], "forgotten_topics_data": []})


def share_ack(client, group, member, epoch, topic_id, acks, version=1):
    return client.request(SHARE_ACKNOWLEDGE, version, {
        "group_id": group, "member_id": member, "share_session_epoch": epoch, "is_renew_ack": False,
        "topics": [{"topic_id": topic_id, "partitions": [{"partition_index": 0, "acknowledgement_batches": acks}]}]})


def listed(client, types=()):
    return {g["group_id"]: (g["group_type"], g["group_state"], g["protocol_type"])
            for g in client.request(LIST_GROUPS, 5, {"states_filter": [], "types_filter": list(types)})["groups"]}


def test_a_consumer_group_over_the_wire(client, topic):
    topic_id = create_topic(client, topic, 2)
    group = f"cg-{topic}"
    r = cg_beat(client, group, "m1", 0, [topic])
    assert (r["error_code"], r["member_id"], r["member_epoch"]) == (E.NONE, "m1", 1)
    assert r["assignment"] == {"topic_partitions": [{"topic_id": topic_id, "partitions": [0, 1]}]}
    assert cg_beat(client, group, "m1", 7)["error_code"] == E.FENCED_MEMBER_EPOCH
    assert cg_beat(client, group, "ghost", 3)["error_code"] == E.UNKNOWN_MEMBER_ID
    bad = cg_beat(client, group, "m2", 0, regex="(")
    assert bad["error_code"] == E.INVALID_REGULAR_EXPRESSION and "regular expression" in bad["error_message"]
    [described] = client.request(CONSUMER_GROUP_DESCRIBE, 1, {"group_ids": [group],
                                                             "include_authorized_operations": False})["groups"]
    assert (described["group_state"], described["group_epoch"], described["assignor_name"]) == ("Stable", 1, "uniform")
    [member] = described["members"]
    assert member["assignment"]["topic_partitions"][0]["topic_name"] == topic and member["member_type"] == 1
    assert listed(client, ["consumer"])[group] == ("consumer", "Stable", "consumer")
    assert group not in listed(client, ["classic"])
    # offsets with member epochs
    commit = {"group_id": group, "generation_id_or_member_epoch": 0, "member_id": "m1", "group_instance_id": None,
              "retention_time_ms": -1, "topics": [{"name": topic, "partitions": [
                  {"partition_index": 0, "committed_offset": 5, "committed_leader_epoch": -1,
                   "committed_metadata": ""}]}]}
    [[code]] = [[p["error_code"] for p in t["partitions"]] for t in client.request(OFFSET_COMMIT, 9, commit)["topics"]]
    assert code == E.STALE_MEMBER_EPOCH
    commit["generation_id_or_member_epoch"] = 1
    # a KIP-848 member commits with v9 or later: older versions cannot carry its epoch
    assert client.request(OFFSET_COMMIT, 8, commit)["topics"][0]["partitions"][0]["error_code"] == E.UNSUPPORTED_VERSION
    assert client.request(OFFSET_COMMIT, 9, commit)["topics"][0]["partitions"][0]["error_code"] == E.NONE
    fetched = client.request(OFFSET_FETCH, 9, {"groups": [{"group_id": group, "member_id": "m1", "member_epoch": 1,
                                                           "topics": None}], "require_stable": False})
    assert fetched["groups"][0]["topics"][0]["partitions"][0]["committed_offset"] == 5
    # a classic JoinGroup of another protocol type cannot join a consumer group with members (a
    # "consumer" one can: test_group_migration.py); DescribeGroups says Dead as Kafka does
    join = client.request(JOIN_GROUP, 9, {"group_id": group, "session_timeout_ms": 10000, "rebalance_timeout_ms": 10000,
                                          "member_id": "", "group_instance_id": None, "protocol_type": "connect",
                                          "protocols": [{"name": "range", "metadata": b""}], "reason": None})
    assert join["error_code"] == E.INCONSISTENT_GROUP_PROTOCOL
    assert client.request(DESCRIBE_GROUPS, 5, {"groups": [group], "include_authorized_operations": False}
                          )["groups"][0]["group_state"] == "Dead"
    # admin delete: refused while the member is there
    assert client.request(DELETE_GROUPS, 2, {"groups_names": [group]})["results"][0]["error_code"] == E.NON_EMPTY_GROUP
    assert cg_beat(client, group, "m1", -1)["member_epoch"] == -1
    assert client.request(DELETE_GROUPS, 2, {"groups_names": [group]})["results"][0]["error_code"] == E.NONE
    assert group not in listed(client)


@pytest.mark.parametrize("version", [5, 6])
def test_describe_groups_describes_classic_groups_and_v6_says_why_not(client, topic, version):
    """Up to v5 a group id no classic group has is Dead with no error; v6 (KIP-1043) answers it
    GROUP_ID_NOT_FOUND, still Dead, with Kafka's message for an unknown group and for another type."""
    create_topic(client, topic)
    simple, consumer, share, unknown = (f"{kind}-{topic}" for kind in ("simple", "cg", "sg", "none"))
    commit = {"group_id": simple, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
              "retention_time_ms": -1, "topics": [{"name": topic, "partitions": [
                  {"partition_index": 0, "committed_offset": 3, "committed_leader_epoch": -1,
                   "committed_metadata": ""}]}]}
    assert client.request(OFFSET_COMMIT, 8, commit)["topics"][0]["partitions"][0]["error_code"] == E.NONE
    assert cg_beat(client, consumer, "m1", 0, [topic])["error_code"] == E.NONE
    assert sg_beat(client, share, "s1", 0, [topic])["error_code"] == E.NONE
    groups = client.request(DESCRIBE_GROUPS, version, {"groups": [simple, consumer, share, unknown],
                                                       "include_authorized_operations": True})["groups"]
    described = [(g["group_id"], g["error_code"], g["error_message"], g["group_state"]) for g in groups]
    # authorized operations (all, without an authorizer) only for a group described without error
    omitted = [g["group_id"] for g in groups if g["authorized_operations"] == -2**31]
    assert omitted == ([] if version < 6 else [consumer, share, unknown])
    if version < 6:
        assert described == [(simple, E.NONE, None, "Empty"), (consumer, E.NONE, None, "Dead"),
                             (share, E.NONE, None, "Dead"), (unknown, E.NONE, None, "Dead")]
    else:
        assert described == [
            (simple, E.NONE, None, "Empty"),
            (consumer, E.GROUP_ID_NOT_FOUND, f"Group {consumer} is not a classic group.", "Dead"),
            (share, E.GROUP_ID_NOT_FOUND, f"Group {share} is not a classic group.", "Dead"),
            (unknown, E.GROUP_ID_NOT_FOUND, f"Group {unknown} not found.", "Dead")]


def test_an_empty_classic_group_becomes_a_consumer_group_and_keeps_its_offsets(client, topic):
    create_topic(client, topic)
    group = f"up-{topic}"
    commit = {"group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
              "retention_time_ms": -1, "topics": [{"name": topic, "partitions": [
                  {"partition_index": 0, "committed_offset": 3, "committed_leader_epoch": -1,
                   "committed_metadata": "m"}]}]}
    assert client.request(OFFSET_COMMIT, 8, commit)["topics"][0]["partitions"][0]["error_code"] == E.NONE
    assert listed(client)[group][0] == "classic"
    assert cg_beat(client, group, "m1", 0, [topic])["error_code"] == E.NONE
    assert listed(client)[group][0] == "consumer"
    fetched = client.request(OFFSET_FETCH, 8, {"groups": [{"group_id": group, "topics": None}],
                                               "require_stable": False})
    assert fetched["groups"][0]["topics"][0]["partitions"][0]["committed_offset"] == 3


@pytest.mark.parametrize("version", [0, 1])
def test_consumer_group_heartbeat_errors_in_its_shape(client, version):
    r = cg_beat(client, "", "m", 0, ["x"], version=version)
    assert (r["error_code"], r["member_epoch"], r["assignment"]) == (E.INVALID_REQUEST, -1, None)
    r = cg_beat(client, "g-no-topics", "m", 0, None, version=version)
    assert r["error_code"] == E.INVALID_REQUEST


def test_a_share_group_over_the_wire(client, topic):
    topic_id = create_topic(client, topic)
    group = f"sg-{topic}"
    r = sg_beat(client, group, "a", 0, [topic])
    assert (r["error_code"], r["member_epoch"]) == (E.NONE, 1)
    assert r["assignment"]["topic_partitions"] == [{"topic_id": topic_id, "partitions": [0]}]
    assert sg_beat(client, group, "b", 0, [topic])["member_epoch"] == 2
    assert listed(client, ["share"])[group] == ("share", "Stable", "share")
    [d] = client.request(SHARE_GROUP_DESCRIBE, 1, {"group_ids": [group], "include_authorized_operations": False}
                         )["groups"]
    assert (d["group_state"], d["assignor_name"], len(d["members"])) == ("Stable", "simple", 2)

    # share.auto.offset.reset is latest: what is there before the first fetch is not delivered
    assert share_fetch(client, group, "a", 0, topic_id)["responses"][0]["partitions"][0]["acquired_records"] == []
    produce(client, topic, batch(b"r0", b"r1", b"r2"))
    produce(client, topic, batch(b"r3", b"r4"))
    got = share_fetch(client, group, "a", 1, topic_id, max_records=3)
    [part] = got["responses"][0]["partitions"]
    assert got["acquisition_lock_timeout_ms"] == 30000
    assert part["acquired_records"] == [{"first_offset": 0, "last_offset": 2, "delivery_count": 1}]
    assert [v for _, v in values_of(part["records"])] == [b"r0", b"r1", b"r2"]
    with_b = share_fetch(client, group, "b", 0, topic_id)
    assert with_b["responses"][0]["partitions"][0]["acquired_records"][0]["first_offset"] == 3
    # acknowledgements: b cannot ack a's records; a releases one, which comes back to b
    bad = share_ack(client, group, "b", 1, topic_id, [{"first_offset": 0, "last_offset": 0, "acknowledge_types": [1]}])
    assert bad["responses"][0]["partitions"][0]["error_code"] == E.INVALID_RECORD_STATE
    ok = share_ack(client, group, "a", 2, topic_id, [{"first_offset": 0, "last_offset": 2,
                                                      "acknowledge_types": [1, 2, 3]}])
    assert ok["responses"][0]["partitions"][0]["error_code"] == E.NONE
    again = share_fetch(client, group, "b", 2, topic_id)["responses"][0]["partitions"][0]
    assert again["acquired_records"] == [{"first_offset": 1, "last_offset": 1, "delivery_count": 2}]
    # sessions
    assert share_fetch(client, group, "b", 9, topic_id)["error_code"] == E.INVALID_SHARE_SESSION_EPOCH
    assert share_fetch(client, group, "c", 3, topic_id)["error_code"] == E.SHARE_SESSION_NOT_FOUND
    assert share_ack(client, group, "a", 0, topic_id, [])["error_code"] == E.INVALID_SHARE_SESSION_EPOCH
    acks_on_open = share_fetch(client, group, "c", 0, topic_id,
                               acks=[{"first_offset": 0, "last_offset": 0, "acknowledge_types": [1]}])
    assert acks_on_open["error_code"] == E.INVALID_REQUEST
    assert share_fetch(client, group, "z", 0, bytes(16))["responses"][0]["partitions"][0]["error_code"] == \
        E.UNKNOWN_TOPIC_ID
    # offsets admin: refused while members remain
    offsets = client.request(DESCRIBE_SHARE_GROUP_OFFSETS, 1, {"groups": [{"group_id": group, "topics": None}]})
    [p] = offsets["groups"][0]["topics"][0]["partitions"]
    assert (p["start_offset"], p["lag"]) == (1, 3)   # 1, 3 and 4 not yet delivered for good
    alter = {"group_id": group, "topics": [{"topic_name": topic, "partitions": [
        {"partition_index": 0, "start_offset": 4}]}]}
    assert client.request(ALTER_SHARE_GROUP_OFFSETS, 0, alter)["error_code"] == E.NON_EMPTY_GROUP
    assert client.request(DELETE_GROUPS, 2, {"groups_names": [group]})["results"][0]["error_code"] == E.NON_EMPTY_GROUP
    for member, epoch in (("a", 2), ("b", 2)):
        assert sg_beat(client, group, member, -1)["member_epoch"] == -1
    assert client.request(ALTER_SHARE_GROUP_OFFSETS, 0, alter)["responses"][0]["partitions"][0]["error_code"] == 0
    offsets = client.request(DESCRIBE_SHARE_GROUP_OFFSETS, 0, {"groups": [{"group_id": group, "topics": [
        {"topic_name": topic, "partitions": [0]}]}]})
    assert offsets["groups"][0]["topics"][0]["partitions"][0]["start_offset"] == 4
    deleted = client.request(DELETE_SHARE_GROUP_OFFSETS, 0, {"group_id": group, "topics": [{"topic_name": topic}]})
    assert deleted["responses"][0]["error_code"] == E.NONE
    assert client.request(DELETE_GROUPS, 2, {"groups_names": [group]})["results"][0]["error_code"] == E.NONE


def test_one_namespace_for_every_group_type(client, topic):
    create_topic(client, topic)
    group = f"ns-{topic}"
    assert sg_beat(client, group, "a", 0, [topic])["error_code"] == E.NONE
    r = cg_beat(client, group, "m", 0, [topic])
    assert r["error_code"] == E.GROUP_ID_NOT_FOUND and "not a consumer group" in r["error_message"]
    [d] = client.request(CONSUMER_GROUP_DESCRIBE, 0, {"group_ids": [group], "include_authorized_operations": False}
                         )["groups"]
    assert d["error_code"] == E.GROUP_ID_NOT_FOUND
    commit = {"group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
              "retention_time_ms": -1, "topics": [{"name": topic, "partitions": [
                  {"partition_index": 0, "committed_offset": 1, "committed_leader_epoch": -1,
                   "committed_metadata": ""}]}]}
    assert client.request(OFFSET_COMMIT, 9, commit)["topics"][0]["partitions"][0]["error_code"] == \
        E.GROUP_ID_NOT_FOUND
    assert listed(client)[group][0] == "share"


def test_share_state_and_consumer_groups_survive_a_restart(own_broker, topic):
    with own_broker() as served, served.client() as client:
        topic_id = create_topic(client, topic)
        assert cg_beat(client, "cg", "m1", 0, [topic])["member_epoch"] == 1
        sg_beat(client, "sg", "a", 0, [topic])
        share_fetch(client, "sg", "a", 0, topic_id)
        produce(client, topic, batch(b"x", b"y", b"z"))
        share_fetch(client, "sg", "a", 1, topic_id)
        share_ack(client, "sg", "a", 2, topic_id, [{"first_offset": 0, "last_offset": 0, "acknowledge_types": [1]}])
        sg_beat(client, "sg", "a", -1)
        share_ack(client, "sg", "a", -1, topic_id, [])   # closing the share session releases 1 and 2
    with own_broker() as served, served.client() as client:
        r = cg_beat(client, "cg", "m1", 1, owned=[{"topic_id": topic_id, "partitions": [0]}])
        assert (r["error_code"], r["member_epoch"]) == (E.NONE, 1)
        offsets = client.request(DESCRIBE_SHARE_GROUP_OFFSETS, 0, {"groups": [{"group_id": "sg", "topics": None}]})
        assert offsets["groups"][0]["topics"][0]["partitions"][0]["start_offset"] == 1
        sg_beat(client, "sg", "b", 0, [topic])
        got = share_fetch(client, "sg", "b", 0, topic_id)["responses"][0]["partitions"][0]
        assert got["acquired_records"] == [{"first_offset": 1, "last_offset": 2, "delivery_count": 2}]


def test_group_configs_door(own_broker):
    with own_broker() as served:
        groups = served.call(lambda: served.broker.groups)
        assert groups.alter_group_configs("sg", [("share.record.lock.duration.ms", 0, "15000")]) == (E.NONE, None)
        assert groups.alter_group_configs("sg", [("share.record.lock.duration.ms", 0, "5")])[0] == E.INVALID_CONFIG
        assert groups.alter_group_configs("sg", [("no.such.key", 0, "1")])[0] == E.INVALID_CONFIG
        [lock] = groups.describe_group_configs("sg", ["share.record.lock.duration.ms"])
        assert lock == {"name": "share.record.lock.duration.ms", "value": "15000", "is_default": False}
        [reset] = groups.describe_group_configs("sg", ["share.auto.offset.reset"])
        assert reset["value"] == "latest" and reset["is_default"]
    with own_broker() as served:
        groups = served.call(lambda: served.broker.groups)
        assert groups.describe_group_configs("sg", ["share.record.lock.duration.ms"])[0]["value"] == "15000"
        with served.client() as client:
            topic_id = create_topic(client, "cfg")
            sg_beat(client, "sg", "a", 0, ["cfg"])
            assert share_fetch(client, "sg", "a", 0, topic_id)["acquisition_lock_timeout_ms"] == 15000


@pytest.mark.parametrize("isolation", ["read_committed", "read_uncommitted"])
def test_share_isolation_level(client, topic, isolation):
    """share.isolation.level: a read_committed share group gets nothing of an open transaction
    (the last stable offset bounds it) and never an aborted one's records (archived, as Kafka's
    share partition does); read_uncommitted gets everything as written."""
    from broker.tests.handlers.test_alter_configs import incremental, ok
    from broker.tests.handlers.txn_requests import Txn
    topic_id = create_topic(client, topic)
    group = f"sg-{topic}"
    assert ok(incremental(client, 32, group, ("share.auto.offset.reset", 0, "earliest"),
                          ("share.isolation.level", 0, isolation)))
    assert sg_beat(client, group, "a", 0, [topic])["member_epoch"] == 1
    produce(client, topic, batch(b"plain"))                         # 0
    txn = Txn(client, f"tx-{topic}-{isolation}")
    assert txn.add(topic, 0) == [(0, E.NONE)]
    assert txn.produce(topic, 0, b"aborted-1", b"aborted-2")["error_code"] == E.NONE   # 1-2
    assert txn.end(False) == E.NONE                                  # marker 3
    assert txn.add(topic, 0) == [(0, E.NONE)]
    assert txn.produce(topic, 0, b"committed")["error_code"] == E.NONE               # 4, open

    def delivered(epoch: int) -> tuple[list, list]:
        [part] = share_fetch(client, group, "a", epoch, topic_id)["responses"][0]["partitions"]
        ranges = [(r["first_offset"], r["last_offset"]) for r in part["acquired_records"]]
        values = [v for offset, v in values_of(part["records"])
                  if any(f <= offset <= l for f, l in ranges) and offset not in (3, 5)]   # not the markers
        return ranges, values

    ranges, values = delivered(0)
    if isolation == "read_committed":
        assert values == [b"plain"] and all(l < 4 for _, l in ranges) and not any(f <= 1 <= l for f, l in ranges)
        assert txn.end(True) == E.NONE                               # marker 5: 4 is committed now
        assert delivered(1)[1] == [b"committed"]
    else:
        assert values == [b"plain", b"aborted-1", b"aborted-2", b"committed"]
    assert sg_beat(client, group, "a", -1)["member_epoch"] == -1
