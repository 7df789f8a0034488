"""The group service's door, called as the handlers call it: a caller (client id, host, api
version) and the request dict the codec decodes, a response dict back. Behind it, the shell: the
coordinator's records written before the answer and loaded back by a new service (a restart),
parked requests answered by later calls or by the timer task. No sockets; the log is in memory."""

from __future__ import annotations

import dataclasses
import logging
from types import SimpleNamespace

import anyio
import pytest

from broker.clock import now_ms
from broker.groups.config import GroupConfig
from broker.groups.offsets import OFFSETS_TOPIC, CommittedOffset, OffsetStore, partition_for
from broker.groups.service import GroupService
from broker.groups.snapshot import GroupSnapshot, MemberSnapshot
from kproto.coordinator_records import decode_group_metadata_value, encode_group_metadata_key
from kproto.errors import ErrorCode as E
from kproto.messages import (
    DELETE_GROUPS, DESCRIBE_GROUPS, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP, LIST_GROUPS, OFFSET_COMMIT, OFFSET_DELETE,
    OFFSET_FETCH, SYNC_GROUP)
from storage import Storage, decode_records, iter_batches

CONFIG = GroupConfig(group_initial_rebalance_delay_ms=0, offsets_topic_num_partitions=4)


def caller(version: int, client_id: str = "cli") -> SimpleNamespace:
    return SimpleNamespace(client_id=client_id, client_host="1.2.3.4", api_version=version)


def request(message, version: int, **fields) -> dict:
    """A request as the codec decodes it: every field of the version, defaults where not given."""
    return {**message.request.default(version), **fields}


def join_request(version: int = 3, member_id: str = "", *, group: str = "g", session: int = 10_000,
                 rebalance: int = 20_000, instance: str | None = None, ptype: str = "consumer") -> dict:
    return request(JOIN_GROUP, version, group_id=group, member_id=member_id, group_instance_id=instance,
                   session_timeout_ms=session, rebalance_timeout_ms=rebalance, protocol_type=ptype,
                   protocols=[{"name": "range", "metadata": b"meta"}])


def join(service: GroupService, version: int = 3, member_id: str = "", **options) -> dict:
    return anyio.run(service.join, caller(version), join_request(version, member_id, **options))


def sync(service: GroupService, member_id: str, generation: int, assignments=(), *, group: str = "g") -> dict:
    req = request(SYNC_GROUP, 3, group_id=group, generation_id=generation, member_id=member_id,
                  assignments=[{"member_id": m, "assignment": a} for m, a in assignments])
    return anyio.run(service.sync, caller(3), req)


def heartbeat(service: GroupService, member_id: str, generation: int) -> int:
    req = request(HEARTBEAT, 3, group_id="g", generation_id=generation, member_id=member_id)
    return service.heartbeat(caller(3), req)["error_code"]


def commit(service: GroupService, version: int, partitions: dict, *, group: str = "g", generation: int = -1,
           member_id: str = "", **fields) -> dict:
    """OffsetCommit of {(topic, partition): (offset, metadata)}: {(topic, partition): error code}."""
    topics: dict[str, list] = {}
    for (topic, index), (offset, metadata) in partitions.items():
        topics.setdefault(topic, []).append({
            "partition_index": index, "committed_offset": offset, "committed_leader_epoch": -1,
            "commit_timestamp": -1, "committed_metadata": metadata})
    req = request(OFFSET_COMMIT, version, group_id=group, generation_id_or_member_epoch=generation,
                  member_id=member_id, topics=[{"name": n, "partitions": p} for n, p in topics.items()], **fields)
    response = service.commit_offsets(caller(version), req)
    return {(t["name"], p["partition_index"]): p["error_code"] for t in response["topics"] for p in t["partitions"]}


def committed(service: GroupService, group: str = "g") -> dict:
    """Every committed offset of the group (OffsetFetch v7, topics null): {(topic, partition): offset}."""
    response = service.fetch_offsets(caller(7), request(OFFSET_FETCH, 7, group_id=group, topics=None))
    assert response["error_code"] == E.NONE
    return {(t["name"], p["partition_index"]): p["committed_offset"]
            for t in response["topics"] for p in t["partitions"]}


def listed(service: GroupService) -> list[dict]:
    return service.list_groups(caller(4), request(LIST_GROUPS, 4))["groups"]


def describe(service: GroupService, group: str = "g") -> dict:
    return service.describe(caller(5), request(DESCRIBE_GROUPS, 5, groups=[group]))["groups"][0]


def read_partition(storage: Storage, partition: int) -> list:
    plog = storage.partition(OFFSETS_TOPIC, partition)
    raw = plog.read(plog.log_start_offset, 1 << 24).read_bytes()
    return [r for batch in iter_batches(raw) for r in decode_records(batch)]


def group_records(storage: Storage, group_id: str) -> list[bytes | None]:
    key = encode_group_metadata_key(group_id)
    if storage.topic(OFFSETS_TOPIC) is None:
        return []
    return [r.value for r in read_partition(storage, partition_for(group_id, 4)) if r.key == key]


def make_stable(service: GroupService, storage: Storage, group: str = "g") -> str:
    """One member (JoinGroup v3: no member id round), synced: its member id."""
    joined = join(service, group=group)
    assert joined["error_code"] == E.NONE and joined["generation_id"] == 1
    member_id = joined["member_id"]
    assert group_records(storage, group) == []
    synced = sync(service, member_id, 1, [(member_id, b"mine")], group=group)
    assert (synced["error_code"], synced["assignment"]) == (E.NONE, b"mine")
    return member_id


@pytest.fixture
def storage() -> Storage:
    return Storage.open(None)


@pytest.fixture
def service(storage) -> GroupService:
    storage.create_topic("t", 2, {})
    return GroupService(CONFIG, storage)


# -- the shell: writes before it answers, loads at start ------------------------------------

def test_the_shell_writes_records_and_a_new_one_loads_them(storage, service):
    member_id = make_stable(service, storage)
    (written,) = group_records(storage, "g")
    assert decode_group_metadata_value(written)["members"][0]["assignment"] == b"mine"
    assert heartbeat(service, member_id, 1) == E.NONE
    assert len(group_records(storage, "g")) == 1              # heartbeats write nothing

    before = now_ms()
    restarted = GroupService(CONFIG, storage)
    after = now_ms()
    assert describe(restarted) == describe(service)
    # the member's session starts at the load
    assert before + 10_000 <= restarted._coordinator.next_deadline_ms() <= after + 10_000
    assert heartbeat(restarted, member_id, 1) == E.NONE


def test_the_shell_writes_the_empty_group_and_the_tombstone(storage, service):
    member_id = make_stable(service, storage)
    assert commit(service, 8, {("t", 0): (5, "")}, generation=1, member_id=member_id) == {("t", 0): E.NONE}
    response = service.leave(caller(3), request(LEAVE_GROUP, 3, group_id="g", members=[
        {"member_id": member_id, "group_instance_id": None}]))
    assert response["members"][0]["error_code"] == E.NONE
    assert [decode_group_metadata_value(v)["members"] for v in group_records(storage, "g")] == [
        [{"member_id": member_id, "group_instance_id": None, "client_id": "cli", "client_host": "/1.2.3.4",
          "rebalance_timeout": 20_000, "session_timeout": 10_000, "subscription": b"meta", "assignment": b"mine"}],
        []]
    loaded = GroupService(CONFIG, storage)
    assert listed(loaded) == [{"group_id": "g", "protocol_type": "consumer", "group_state": "Empty",
                               "group_type": "classic"}]
    assert loaded._coordinator.group_generation_id("g") == 2
    assert committed(loaded) == {("t", 0): 5}

    response = service.delete(caller(2), request(DELETE_GROUPS, 2, groups_names=["g"]))
    assert response["results"] == [{"group_id": "g", "error_code": E.NONE}]
    assert group_records(storage, "g")[-1] is None
    reloaded = GroupService(CONFIG, storage)
    assert listed(reloaded) == [] and committed(reloaded) == {}


def test_a_group_with_offsets_only_is_a_simple_group(storage):
    OffsetStore(storage, 4).commit("simple", {("t", 0): CommittedOffset(5, -1, "", 1)}, 1)
    assert listed(GroupService(CONFIG, storage)) == [
        {"group_id": "simple", "protocol_type": "", "group_state": "Empty", "group_type": "classic"}]


def test_an_inconsistent_record_falls_back_to_the_offsets(storage, caplog):
    store = OffsetStore(storage, 4)
    store.commit("g", {("t", 0): CommittedOffset(5, -1, "", 1)}, 1)
    member = MemberSnapshot("m-1", None, "client", "/10.0.0.1", 45_000, 10_000, b"sub", b"asg")
    store.store_groups([("g", GroupSnapshot("g", "consumer", 7, "range", "nobody", 1234, (member,)))], 2)
    with caplog.at_level(logging.WARNING, logger="kbroker.groups"):
        loaded = GroupService(CONFIG, storage)
    assert "not loading the metadata of group g" in caplog.text
    assert listed(loaded) == [{"group_id": "g", "protocol_type": "", "group_state": "Empty", "group_type": "classic"}]


# -- the door reads each version ------------------------------------------------------------

@pytest.mark.parametrize("version, protocol_name", [(6, ""), (7, None)])
def test_join_answers_no_protocol_name_as_its_version_can(service, version, protocol_name):
    refused = join(service, version, session=1)                  # below group.min.session.timeout.ms
    assert (refused["error_code"], refused["protocol_name"], refused["throttle_time_ms"]) == (
        E.INVALID_SESSION_TIMEOUT, protocol_name, 0)


def test_join_v0_takes_the_session_timeout_as_rebalance_timeout_and_v4_asks_for_a_member_id(storage, service):
    joined = join(service, 0, group="old", session=7_000)
    sync(service, joined["member_id"], 1, [(joined["member_id"], b"a")], group="old")
    (record,) = group_records(storage, "old")
    assert decode_group_metadata_value(record)["members"][0]["rebalance_timeout"] == 7_000

    first = join(service, 4, group="new")
    assert first["error_code"] == E.MEMBER_ID_REQUIRED and first["member_id"].startswith("cli-")
    again = join(service, 4, first["member_id"], group="new")
    assert (again["error_code"], again["member_id"], again["leader"]) == (E.NONE, first["member_id"],
                                                                         first["member_id"])
    members = describe(service, "new")["members"]
    assert [(m["client_id"], m["client_host"]) for m in members] == [("cli", "/1.2.3.4")]


def test_leave_v0_answers_one_error_v3_one_per_member(service):
    member_id = make_stable(service, service._storage)
    assert service.leave(caller(0), request(LEAVE_GROUP, 0, group_id="g", member_id="nobody")) == {
        "throttle_time_ms": 0, "error_code": E.UNKNOWN_MEMBER_ID}
    response = service.leave(caller(3), request(LEAVE_GROUP, 3, group_id="g", members=[
        {"member_id": "nobody", "group_instance_id": None}, {"member_id": member_id, "group_instance_id": None}]))
    assert (response["error_code"], [m["error_code"] for m in response["members"]]) == (
        E.NONE, [E.UNKNOWN_MEMBER_ID, E.NONE])


def test_commit_checks_the_group_then_each_partition(storage):
    storage.create_topic("t", 2, {})
    service = GroupService(dataclasses.replace(CONFIG, offset_metadata_max_bytes=4), storage)
    offsets = {("t", 0): (5, "four"), ("t", 1): (6, "fives"), ("t", 2): (7, ""), ("nope", 0): (8, "")}
    # a generation for a group that does not exist: the group's error on every partition
    assert commit(service, 9, offsets, generation=3) == dict.fromkeys(offsets, E.GROUP_ID_NOT_FOUND)
    assert commit(service, 8, offsets, generation=3) == dict.fromkeys(offsets, E.ILLEGAL_GENERATION)
    assert committed(service) == {}
    assert commit(service, 8, offsets) == {("t", 0): E.NONE, ("t", 1): E.OFFSET_METADATA_TOO_LARGE,
                                           ("t", 2): E.UNKNOWN_TOPIC_OR_PARTITION,
                                           ("nope", 0): E.UNKNOWN_TOPIC_OR_PARTITION}
    assert committed(service) == {("t", 0): 5}


def test_commit_v2_retention_gives_an_expire_time_that_survives_a_restart(storage, service):
    assert commit(service, 2, {("t", 0): (5, "")}, retention_time_ms=60_000) == {("t", 0): E.NONE}
    assert commit(service, 2, {("t", 1): (6, "")}) == {("t", 1): E.NONE}     # -1: the broker's retention
    stored = OffsetStore(storage, 4)
    kept, default = stored.get("g", "t", 0), stored.get("g", "t", 1)
    assert kept.expire_timestamp == kept.commit_timestamp + 60_000 and default.expire_timestamp == -1


def test_fetch_many_groups_at_v8_and_unknown_ones_as_minus_one(service):
    commit(service, 8, {("t", 0): (5, "m")}, group="a")
    req = request(OFFSET_FETCH, 8, groups=[
        {"group_id": "a", "topics": None},
        {"group_id": "b", "topics": [{"name": "t", "partition_indexes": [1]}]}])
    assert service.fetch_offsets(caller(8), req)["groups"] == [
        {"group_id": "a", "error_code": E.NONE, "topics": [{"name": "t", "partitions": [
            {"partition_index": 0, "error_code": E.NONE, "committed_offset": 5, "committed_leader_epoch": -1,
             "metadata": "m"}]}]},
        {"group_id": "b", "error_code": E.NONE, "topics": [{"name": "t", "partitions": [
            {"partition_index": 1, "error_code": E.NONE, "committed_offset": -1, "committed_leader_epoch": -1,
             "metadata": ""}]}]}]


def test_delete_offsets_spares_what_a_live_group_consumes(storage, service):
    member_id = make_stable(service, storage)
    commit(service, 8, {("t", 0): (5, ""), ("t", 1): (6, "")}, generation=1, member_id=member_id)

    def delete(*partitions) -> dict:
        req = request(OFFSET_DELETE, 0, group_id="g", topics=[
            {"name": name, "partitions": [{"partition_index": i}]} for name, i in partitions])
        response = service.delete_offsets(caller(0), req)
        if response["error_code"]:
            return response["error_code"]
        return {(t["name"], p["partition_index"]): p["error_code"] for t in response["topics"] for p in t["partitions"]}

    # a consumer group whose subscription is unknown counts as subscribed to every topic
    assert delete(("t", 0), ("gone", 0)) == {("t", 0): E.GROUP_SUBSCRIBED_TO_TOPIC,
                                             ("gone", 0): E.UNKNOWN_TOPIC_OR_PARTITION}
    service.leave(caller(3), request(LEAVE_GROUP, 3, group_id="g", members=[
        {"member_id": member_id, "group_instance_id": None}]))
    assert delete(("t", 0)) == {("t", 0): E.NONE}
    assert committed(service) == {("t", 1): 6}
    assert delete(("t", 0)) == {("t", 0): E.NONE}                   # nothing left to delete is fine
    response = service.delete_offsets(caller(0), request(OFFSET_DELETE, 0, group_id="unknown"))
    assert response["error_code"] == E.GROUP_ID_NOT_FOUND


def test_a_live_group_of_another_protocol_keeps_its_offsets(storage, service):
    joined = join(service, ptype="connect")
    commit(service, 8, {("t", 0): (5, "")}, generation=1, member_id=joined["member_id"])
    response = service.delete_offsets(caller(0), request(OFFSET_DELETE, 0, group_id="g", topics=[
        {"name": "t", "partitions": [{"partition_index": 0}]}]))
    assert (response["error_code"], response["topics"]) == (E.NON_EMPTY_GROUP, [])


def test_a_deleted_topic_takes_its_offsets(storage, service):
    storage.create_topic("u", 1, {})
    commit(service, 8, {("t", 0): (5, ""), ("u", 0): (6, "")})
    service.topic_deleted("t")
    assert committed(service) == {("u", 0): 6}
    assert committed(GroupService(CONFIG, storage)) == {("u", 0): 6}


# -- parked requests ------------------------------------------------------------------------

def test_a_parked_join_is_answered_by_another_members_call(storage, service):
    first = make_stable(service, storage)
    answers = {}

    async def second():
        answers["second"] = await service.join(caller(3, "other"), join_request())

    async def scenario():
        with anyio.fail_after(10):   # a guard against a hang, not a measure: it all happens at once
            async with anyio.create_task_group() as tg:
                tg.start_soon(second)
                await anyio.wait_all_tasks_blocked()
                assert "second" not in answers                       # parked: the group rebalances
                assert heartbeat(service, first, 1) == E.REBALANCE_IN_PROGRESS
                answers["first"] = await service.join(caller(3), join_request(member_id=first))

    anyio.run(scenario)
    assert {name: (a["error_code"], a["generation_id"]) for name, a in answers.items()} == {
        "first": (E.NONE, 2), "second": (E.NONE, 2)}
    assert len(answers["first"]["members"]) == 2 and answers["second"]["members"] == []   # the leader's list
    assert not service._parked


def test_the_timer_task_answers_a_join_when_the_initial_delay_ends(storage):
    service = GroupService(dataclasses.replace(CONFIG, group_initial_rebalance_delay_ms=20), storage)
    answers = {}

    async def scenario():
        with anyio.fail_after(10):   # a guard against a hang: the join is answered after 20 ms
            async with anyio.create_task_group() as tg:
                tg.start_soon(service.run)
                answers["join"] = await service.join(caller(3), join_request())
                tg.cancel_scope.cancel()

    anyio.run(scenario)
    assert (answers["join"]["error_code"], answers["join"]["generation_id"]) == (E.NONE, 1)
