"""Offsets committed inside transactions over a real socket: AddOffsetsToTxn, TxnOffsetCommit, and
what OffsetFetch answers before (UNSTABLE_OFFSET_COMMIT with require_stable) and after the
transaction ends, also across a restart."""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import create_topic
from broker.tests.handlers.txn_requests import Txn
from kproto.errors import ErrorCode as E
from kproto.messages import OFFSET_COMMIT, OFFSET_FETCH, TXN_OFFSET_COMMIT


def txn_commit(txn: Txn, group: str, topic: str, offsets: dict[int, int], *, version: int = 3,
               generation_id: int = -1, member_id: str = "") -> list[tuple[int, int]]:
    """TxnOffsetCommit: [(partition, error code)]."""
    response = txn.client.request(TXN_OFFSET_COMMIT, version, {
        "transactional_id": txn.transactional_id, "group_id": group, "producer_id": txn.producer_id,
        "producer_epoch": txn.epoch, "generation_id": generation_id, "member_id": member_id,
        "group_instance_id": None, "topics": [{"name": topic, "partitions": [
            {"partition_index": p, "committed_offset": o, "committed_leader_epoch": -1, "committed_metadata": "m"}
            for p, o in offsets.items()]}]})
    return [(p["partition_index"], p["error_code"]) for t in response["topics"] for p in t["partitions"]]


def committed(client, group: str, topic: str, partitions=(0,), *, require_stable: bool = True,
              version: int = 8) -> list[tuple[int, int]]:
    """OffsetFetch: [(error code, offset)] per partition."""
    topics = [{"name": topic, "partition_indexes": list(partitions)}]
    if version >= 8:
        response = client.request(OFFSET_FETCH, version, {"groups": [{"group_id": group, "topics": topics}],
                                                          "require_stable": require_stable})
        parts = response["groups"][0]["topics"][0]["partitions"]
    else:
        response = client.request(OFFSET_FETCH, version, {"group_id": group, "topics": topics,
                                                          "require_stable": require_stable})
        parts = response["topics"][0]["partitions"]
    return [(p["error_code"], p["committed_offset"]) for p in parts]


@pytest.mark.parametrize("committed_at_end", [True, False])
def test_transactional_offsets_are_visible_only_once_committed(client, topic, committed_at_end):
    create_topic(client, topic, partitions=2)
    group = f"{topic}-group"
    txn = Txn(client, topic)
    assert txn.add_offsets(group) == 0
    assert txn_commit(txn, group, topic, {0: 5, 1: 7}) == [(0, 0), (1, 0)]
    assert committed(client, group, topic, (0, 1)) == [(E.UNSTABLE_OFFSET_COMMIT, -1)] * 2
    assert committed(client, group, topic, (0, 1), version=7) == [(E.UNSTABLE_OFFSET_COMMIT, -1)] * 2
    assert committed(client, group, topic, (0, 1), require_stable=False) == [(0, -1), (0, -1)]
    assert txn.end(committed_at_end) == 0
    expected = [(0, 5), (0, 7)] if committed_at_end else [(0, -1), (0, -1)]
    assert committed(client, group, topic, (0, 1)) == expected
    assert committed(client, group, topic, (0, 1), version=5) == expected


@pytest.mark.parametrize("version,error", [(0, E.INVALID_TXN_STATE), (3, E.INVALID_TXN_STATE),
                                           (4, E.TRANSACTION_ABORTABLE)])
def test_txn_offset_commit_needs_add_offsets_to_txn_first(client, topic, version, error):
    create_topic(client, topic)
    txn = Txn(client, topic)
    assert txn_commit(txn, f"{topic}-group", topic, {0: 1}, version=version) == [(0, error)]
    assert committed(client, f"{topic}-group", topic) == [(0, -1)]


def test_txn_offset_commit_refusals(client, topic):
    create_topic(client, topic)
    group = f"{topic}-group"
    txn = Txn(client, topic)
    txn.add_offsets(group)
    assert txn_commit(txn, group, topic, {0: 1, 3: 1}) == [(0, 0), (3, E.UNKNOWN_TOPIC_OR_PARTITION)]
    assert txn_commit(txn, group, topic, {0: 1}, generation_id=4, member_id="nobody") == [
        (0, E.UNKNOWN_MEMBER_ID)]
    txn.epoch -= 1
    assert txn_commit(txn, group, topic, {0: 2}) == [(0, E.INVALID_PRODUCER_EPOCH)]
    txn.epoch += 1
    assert txn_commit(txn, "", topic, {0: 2}) == [(0, E.INVALID_GROUP_ID)]
    assert txn.end(True) == 0
    assert committed(client, group, topic) == [(0, 1)]


def test_a_plain_commit_after_the_transactions_offsets_wins(client, topic):
    create_topic(client, topic)
    group = f"{topic}-group"
    txn = Txn(client, topic)
    txn.add_offsets(group)
    txn_commit(txn, group, topic, {0: 10})
    response = client.request(OFFSET_COMMIT, 8, {
        "group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
        "topics": [{"name": topic, "partitions": [
            {"partition_index": 0, "committed_offset": 20, "committed_leader_epoch": -1,
             "committed_metadata": ""}]}]})
    assert response["topics"][0]["partitions"][0]["error_code"] == 0
    assert txn.end(True) == 0
    assert committed(client, group, topic) == [(0, 20)]


@pytest.mark.parametrize("restart_before_end", [True, False])
def test_pending_offsets_survive_a_restart(own_broker, topic, restart_before_end):
    group = f"{topic}-group"
    with own_broker() as served, served.client() as client:
        create_topic(client, topic)
        txn = Txn(client, topic)
        txn.add_offsets(group)
        txn_commit(txn, group, topic, {0: 3})
        if not restart_before_end:
            assert txn.end(True) == 0
    with own_broker() as served, served.client() as client:
        if restart_before_end:
            assert committed(client, group, topic) == [(E.UNSTABLE_OFFSET_COMMIT, -1)]
            txn.client = client
            assert txn.end(True) == 0
        assert committed(client, group, topic) == [(0, 3)]


def test_committed_aborted_and_open_transactional_offsets_across_restarts(own_broker, topic):
    """The replay at start restores what Kafka materializes: a committed transaction's offsets,
    not an aborted one's, and an open one's as pending (UNSTABLE_OFFSET_COMMIT), which the
    transaction's end after the restart then applies or drops."""
    group = f"{topic}-group"
    with own_broker() as served, served.client() as client:
        create_topic(client, topic, partitions=2)
        first = Txn(client, f"{topic}-first")
        first.add_offsets(group)
        txn_commit(first, group, topic, {0: 5})
        assert first.end(True) == 0
        first.add_offsets(group)
        txn_commit(first, group, topic, {0: 9, 1: 9})
        assert first.end(False) == 0
        second = Txn(client, f"{topic}-second")
        second.add_offsets(group)
        txn_commit(second, group, topic, {1: 7})        # open at the restart
        third = Txn(client, f"{topic}-third")
        third.add_offsets(group)
        txn_commit(third, group, topic, {0: 6})         # open at the restart too
    with own_broker() as served, served.client() as client:
        assert committed(client, group, topic, (0, 1), require_stable=False) == [(0, 5), (0, -1)]
        assert committed(client, group, topic, (0, 1)) == [(E.UNSTABLE_OFFSET_COMMIT, -1)] * 2
        second.client = third.client = client
        assert second.end(False) == 0
        assert third.end(True) == 0
        assert committed(client, group, topic, (0, 1)) == [(0, 6), (0, -1)]
    with own_broker() as served, served.client() as client:
        assert committed(client, group, topic, (0, 1)) == [(0, 6), (0, -1)]


def test_txn_offset_commit_to_a_share_group_is_refused_as_offset_commit_is(client, topic):
    """Kafka's ShareGroup.validateOffsetCommit: GROUP_ID_NOT_FOUND, transactional or not."""
    from broker.tests.handlers.test_new_groups import sg_beat
    create_topic(client, topic)
    group = f"sg-{topic}"
    assert sg_beat(client, group, "a", 0, [topic])["error_code"] == E.NONE
    txn = Txn(client, topic)
    assert txn.add_offsets(group) == 0
    assert txn_commit(txn, group, topic, {0: 3}) == [(0, E.GROUP_ID_NOT_FOUND)]
    assert txn_commit(txn, group, topic, {0: 3}, version=0) == [(0, E.GROUP_ID_NOT_FOUND)]
    assert txn.end(True) == 0
    assert committed(client, group, topic) == [(0, -1)]


def test_txn_offset_commit_into_a_consumer_group_checks_the_member_epoch(client, topic):
    """Kafka 4's ConsumerGroup.validateOffsetCommit for a transactional commit: the member must
    be known; its epoch must be the current one, else ILLEGAL_GENERATION (the stale epoch error
    translated, as validateTransactionalOffsetCommit does); no OffsetCommit v9 rule; a commit that
    names no member, epoch or instance is taken unchecked."""
    from broker.tests.handlers.test_new_groups import cg_beat
    create_topic(client, topic)
    group = f"cg-{topic}"
    assert cg_beat(client, group, "m1", 0, [topic])["member_epoch"] == 1
    txn = Txn(client, topic)
    assert txn.add_offsets(group) == 0
    assert txn_commit(txn, group, topic, {0: 1}, generation_id=1, member_id="ghost") == [(0, E.UNKNOWN_MEMBER_ID)]
    # a commit naming no member is not checked (Kafka 4.2: TxnOffsetCommit makes them optional)
    assert txn_commit(txn, group, topic, {0: 1}) == [(0, E.NONE)]
    assert txn_commit(txn, group, topic, {0: 1}, generation_id=0, member_id="m1") == [(0, E.ILLEGAL_GENERATION)]
    assert txn_commit(txn, group, topic, {0: 1}, generation_id=2, member_id="m1") == [(0, E.ILLEGAL_GENERATION)]
    assert txn_commit(txn, group, topic, {0: 4}, generation_id=1, member_id="m1") == [(0, E.NONE)]
    assert committed(client, group, topic) == [(E.UNSTABLE_OFFSET_COMMIT, -1)]
    assert txn.end(True) == 0
    assert committed(client, group, topic) == [(0, 4)]
    assert cg_beat(client, group, "m1", -1)["error_code"] == E.NONE   # leaves: the group is empty
    assert txn.add_offsets(group) == 0
    assert txn_commit(txn, group, topic, {0: 6}, generation_id=-1, member_id="m1") == [(0, E.NONE)]
    assert txn.end(True) == 0
    assert committed(client, group, topic) == [(0, 6)]
