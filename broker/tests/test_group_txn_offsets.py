"""Offsets committed inside transactions, in the group wing: pending until the transaction's marker,
the later append winning, replay of transactional batches and markers at start, and a group
holding only pending offsets kept by offset expiry. No sockets; the log is in memory."""

from __future__ import annotations

from types import SimpleNamespace

from broker.groups.config import GroupConfig
from broker.groups.offsets import OFFSETS_TOPIC, CommittedOffset, OffsetStore, partition_for
from broker.groups.service import GroupService
from kproto.errors import ErrorCode as E
from kproto.messages import TXN_OFFSET_COMMIT
from storage import Storage

PARTITIONS = 3
A, B = 7, 8   # producer ids


def offset(value: int) -> CommittedOffset:
    return CommittedOffset(value, -1, "", 1000)


def marker(storage: Storage, store: OffsetStore, producer_id: int, group: str, committed: bool) -> None:
    """The transaction's marker reaches the group's partition, as the coordinator writes it."""
    partition = partition_for(group, PARTITIONS)
    storage.partition(OFFSETS_TOPIC, partition).append_marker(producer_id, 0, 0, committed, 2000)
    store.complete_transaction(producer_id, partition, committed)


def test_pending_offsets_become_visible_on_commit_and_go_on_abort():
    storage = Storage.open(None)
    store = OffsetStore(storage, PARTITIONS)
    store.commit_transactional("g", A, 0, {("t", 0): offset(5)}, 1000)
    store.commit_transactional("h", B, 0, {("t", 0): offset(9)}, 1000)
    assert store.get("g", "t", 0) is None and store.has_pending("g", "t", 0) and store.has_pending("g")
    marker(storage, store, A, "g", committed=True)
    marker(storage, store, B, "h", committed=False)
    assert store.get("g", "t", 0) == offset(5) and not store.has_pending("g")
    assert store.get("h", "t", 0) is None and not store.has_pending("h")
    again = OffsetStore(storage, PARTITIONS)   # the replay finds the same
    assert again.get("g", "t", 0) == offset(5) and again.get("h", "t", 0) is None and not again.has_pending("g")


def test_the_later_append_wins():
    storage = Storage.open(None)
    store = OffsetStore(storage, PARTITIONS)
    store.commit_transactional("g", A, 0, {("t", 0): offset(5)}, 1000)     # appended first
    store.commit_transactional("g", B, 0, {("t", 0): offset(3)}, 1000)     # appended later
    marker(storage, store, B, "g", committed=True)
    marker(storage, store, A, "g", committed=True)                         # older: does not overwrite
    assert store.get("g", "t", 0) == offset(3)
    store.commit_transactional("g", A, 0, {("t", 1): offset(50)}, 1000)
    store.commit("g", {("t", 1): offset(60)}, 1000)                        # a plain commit after it
    marker(storage, store, A, "g", committed=True)
    assert store.get("g", "t", 1) == offset(60)
    again = OffsetStore(storage, PARTITIONS)
    assert (again.get("g", "t", 0), again.get("g", "t", 1)) == (offset(3), offset(60))


def test_pending_offsets_survive_a_restart_until_their_marker():
    storage = Storage.open(None)
    OffsetStore(storage, PARTITIONS).commit_transactional("g", A, 0, {("t", 0): offset(5)}, 1000)
    store = OffsetStore(storage, PARTITIONS)
    assert store.has_pending("g", "t", 0) and store.get("g", "t", 0) is None
    marker(storage, store, A, "g", committed=True)
    assert store.get("g", "t", 0) == offset(5)


def test_a_deleted_groups_pending_offsets_go_with_it():
    storage = Storage.open(None)
    store = OffsetStore(storage, PARTITIONS)
    store.commit_transactional("g", A, 0, {("t", 0): offset(5)}, 1000)
    store.delete_group("g", 1500)
    marker(storage, store, A, "g", committed=True)
    assert store.get("g", "t", 0) is None


def test_offset_expiry_keeps_a_group_with_only_pending_offsets():
    storage = Storage.open(None)
    storage.create_topic("t", 1)
    service = GroupService(GroupConfig(offsets_topic_num_partitions=PARTITIONS, offsets_retention_minutes=0),
                           storage, verify_txn_offsets=lambda *args: E.NONE)
    req = {**TXN_OFFSET_COMMIT.request.default(3), "transactional_id": "tx", "group_id": "g", "producer_id": A,
           "producer_epoch": 0, "topics": [{"name": "t", "partitions": [
               {"partition_index": 0, "committed_offset": 4, "committed_leader_epoch": -1,
                "committed_metadata": None}]}]}
    caller = SimpleNamespace(client_id="c", client_host="h", api_version=3)
    assert service.txn_commit_offsets(caller, req)["topics"][0]["partitions"][0]["error_code"] == 0
    service._expire_offsets()
    assert "g" in service._coordinator.group_ids()
    service.complete_transaction(A, partition_for("g", PARTITIONS), True)
    assert service._offsets.get("g", "t", 0).offset == 4
