"""Transactions over a real socket: the coordinator's APIs, transactional produce (only to partitions
added), and what read_committed fetches and offset lookups see of committed, aborted and open
transactions."""

from __future__ import annotations

import time

import pytest

from broker.tests.handlers.serving import batch, create_topic, produce
from broker.tests.handlers.txn_requests import (
    Txn, add_partitions, consumed, end_txn, fetch, init, records)
from kproto.errors import ErrorCode as E
from kproto.messages import (
    ADD_PARTITIONS_TO_TXN, DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, FIND_COORDINATOR, LIST_OFFSETS,
    LIST_TRANSACTIONS, PRODUCE, WRITE_TXN_MARKERS)
from storage.control import build_marker

LATEST = -1


def latest(client, topic: str, read_committed: bool, partition: int = 0) -> int:
    response = client.request(LIST_OFFSETS, 7, {
        "replica_id": -1, "isolation_level": int(read_committed),
        "topics": [{"name": topic, "partitions": [{"partition_index": partition, "timestamp": LATEST}]}]})
    return response["topics"][0]["partitions"][0]["offset"]


@pytest.mark.parametrize("version", [1, 3, 4, 6])
def test_find_coordinator_for_a_transactional_id(served, client, version):
    body = {"key": "tx", "key_type": 1, "coordinator_keys": ["tx", "other"]}
    response = client.request(FIND_COORDINATOR, version, body)
    host, port = served.broker.advertised
    if version >= 4:
        assert [(c["key"], c["node_id"], c["port"], c["error_code"]) for c in response["coordinators"]] == [
            ("tx", 1, port, 0), ("other", 1, port, 0)]
    else:
        assert (response["error_code"], response["node_id"], response["host"], response["port"]) == (0, 1, host, port)


@pytest.mark.parametrize("version", [0, 2, 3, 4, 5])
def test_init_producer_id_bumps_the_epoch_of_a_transactional_id(client, topic, version):
    first = init(client, topic, version=version)
    assert (first["error_code"], first["producer_epoch"]) == (0, 0) and first["producer_id"] >= 0
    again = init(client, topic, version=version)
    assert (again["error_code"], again["producer_id"], again["producer_epoch"]) == (0, first["producer_id"], 1)
    assert init(client, topic, timeout_ms=900001, version=version)["error_code"] == E.INVALID_TRANSACTION_TIMEOUT
    assert init(client, topic, timeout_ms=0, version=version)["error_code"] == E.INVALID_TRANSACTION_TIMEOUT
    assert init(client, "", version=version)["error_code"] == E.INVALID_REQUEST
    if version >= 3:   # KIP-360 recovery: the producer names the id and epoch it had
        pid = first["producer_id"]
        assert init(client, topic, version=version, producer_id=pid, producer_epoch=1)["producer_epoch"] == 2
        fenced = init(client, topic, version=version, producer_id=pid, producer_epoch=0)["error_code"]
        assert fenced == (E.PRODUCER_FENCED if version >= 4 else E.INVALID_PRODUCER_EPOCH)


def test_committed_and_aborted_transactions_as_read_committed_and_read_uncommitted_see_them(client, topic):
    create_topic(client, topic, partitions=2)
    txn = Txn(client, topic)
    assert txn.add(topic, 0, 1) == [(0, 0), (1, 0)]
    assert txn.produce(topic, 0, b"c1", b"c2")["base_offset"] == 0
    assert txn.produce(topic, 1, b"c3")["error_code"] == 0
    assert txn.end(True) == 0                                    # markers at 0:2, 1:1
    txn.add(topic, 0)
    txn.produce(topic, 0, b"a1")                                 # 3
    assert txn.end(False) == 0                                   # abort marker at 4
    txn.add(topic, 0)
    txn.produce(topic, 0, b"c4")                                 # 5
    assert txn.end(True) == 0                                    # 6

    committed = fetch(client, topic)
    assert (committed["high_watermark"], committed["last_stable_offset"]) == (7, 7)
    assert committed["aborted_transactions"] == [{"producer_id": txn.producer_id, "first_offset": 3}]
    assert [offset for offset, _, marker in records(committed) if marker] == [2, 4, 6]
    assert consumed(committed) == [b"c1", b"c2", b"c4"]
    uncommitted = fetch(client, topic, read_committed=False)
    assert uncommitted["aborted_transactions"] is None
    assert consumed(uncommitted) == [b"c1", b"c2", b"a1", b"c4"]
    assert consumed(fetch(client, topic, 1)) == [b"c3"]
    assert fetch(client, topic, offset=5)["aborted_transactions"] == []   # the aborted one is before the range


def test_markers_are_the_control_batches_kafka_writes(client, topic):
    create_topic(client, topic)
    txn = Txn(client, topic)
    txn.add(topic, 0)
    txn.produce(topic, 0, b"x")
    txn.end(True)
    from storage import iter_batches, read_header
    [data, marker] = list(iter_batches(bytes(fetch(client, topic)["records"])))
    header = read_header(marker)
    assert (header.attributes, header.producer_id, header.producer_epoch, header.base_sequence) == (
        0x30, txn.producer_id, txn.epoch, -1)
    assert bytes(marker[61:]).endswith(b"\x08\x00\x00\x00\x01\x0c\x00\x00\x00\x00\x00\x00\x00")   # key 0,1; value 0,0


def test_an_open_transaction_holds_back_read_committed_readers(client, topic):
    create_topic(client, topic)
    produce(client, topic, batch(b"before"))                         # 0
    txn = Txn(client, topic)
    txn.add(topic, 0)
    txn.produce(topic, 0, b"open")                                   # 1
    produce(client, topic, batch(b"after"))                          # 2: not transactional, after the open one
    part = fetch(client, topic)
    assert (part["high_watermark"], part["last_stable_offset"]) == (3, 1)
    assert consumed(part) == [b"before"]
    assert fetch(client, topic, offset=1)["records"] in (None, b"")   # at the LSO: nothing yet
    assert fetch(client, topic, offset=2)["records"] in (None, b"")   # past it, below the high watermark
    assert (latest(client, topic, True), latest(client, topic, False)) == (1, 3)
    assert txn.end(True) == 0
    assert consumed(fetch(client, topic)) == [b"before", b"open", b"after"]
    assert latest(client, topic, True) == 4


def test_a_waiting_read_committed_fetch_wakes_when_the_transaction_commits(served, client, topic):
    create_topic(client, topic)
    txn = Txn(client, topic)
    txn.add(topic, 0)
    txn.produce(topic, 0, b"x")
    from broker.tests.handlers.serving import fetch_body
    from kproto.messages import FETCH
    with served.client() as waiter:
        waiter.send(FETCH, 12, fetch_body(topic, {0: 0}, isolation_level=1, max_wait_ms=10000, min_bytes=1))
        served.wait_until_waited_on(topic, 0)
        started = time.monotonic()
        assert txn.end(True) == 0
        _, response = waiter.receive(FETCH, 12)
    assert time.monotonic() - started < 5
    assert consumed(response["responses"][0]["partitions"][0]) == [b"x"]


def test_produce_only_to_partitions_added_to_the_transaction(client, topic):
    create_topic(client, topic, partitions=2)
    txn = Txn(client, topic)
    txn.add(topic, 0)
    refused = txn.produce(topic, 1, b"x")
    assert (refused["error_code"], refused["error_message"]) == (E.INVALID_TXN_STATE,
                                                                 "Partition was not added to the transaction")
    assert txn.produce(topic, 0, b"y")["error_code"] == 0
    txn.sequences[(topic, 1)] = 0
    txn.add(topic, 1)
    assert txn.produce(topic, 1, b"z")["error_code"] == 0
    without_id = txn.produce(topic, 0, b"w", transactional_id=None)
    assert without_id["error_code"] == E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    other = txn.produce(topic, 0, b"v", transactional_id=f"{topic}-other")
    assert other["error_code"] == E.INVALID_PRODUCER_ID_MAPPING
    assert txn.end(False) == 0
    assert consumed(fetch(client, topic)) == [] and consumed(fetch(client, topic, 1)) == []


def test_clients_may_not_produce_markers(client, topic):
    create_topic(client, topic)
    marker = build_marker(1, 0, 0, committed=True, timestamp_ms=1)
    [part] = client.request(PRODUCE, 9, {"transactional_id": "t", "acks": -1, "timeout_ms": 1000, "topic_data": [
        {"name": topic, "partition_data": [{"index": 0, "records": marker}]}]})["responses"][0]["partition_responses"]
    assert part["error_code"] == E.INVALID_RECORD
    assert fetch(client, topic, read_committed=False)["high_watermark"] == 0


def test_a_fenced_producer_cannot_produce_add_or_end(client, topic):
    create_topic(client, topic)
    zombie = Txn(client, topic)
    zombie.add(topic, 0)
    zombie.produce(topic, 0, b"zombie")
    assert init(client, topic)["error_code"] == E.CONCURRENT_TRANSACTIONS   # aborts the open transaction
    fresh = init(client, topic)
    assert (fresh["error_code"], fresh["producer_epoch"]) == (0, zombie.epoch + 2)
    assert zombie.produce(topic, 0, b"late")["error_code"] == E.INVALID_PRODUCER_EPOCH
    assert zombie.add(topic, 0) == [(0, E.PRODUCER_FENCED)]
    assert zombie.add(topic, 0, version=1) == [(0, E.INVALID_PRODUCER_EPOCH)]
    assert zombie.end(True) == E.PRODUCER_FENCED and zombie.end(True, version=1) == E.INVALID_PRODUCER_EPOCH
    assert consumed(fetch(client, topic)) == []


def test_end_txn_retries_are_idempotent(client, topic):
    create_topic(client, topic)
    txn = Txn(client, topic)
    assert txn.end(True) == E.INVALID_TXN_STATE                      # nothing open
    txn.add(topic, 0)
    txn.produce(topic, 0, b"x")
    assert txn.end(True) == 0
    assert txn.end(True) == 0                                        # the same decision again
    assert txn.end(False) == E.INVALID_TXN_STATE                     # the other one
    assert end_txn(client, topic, txn.producer_id + 1, txn.epoch, True) == E.INVALID_PRODUCER_ID_MAPPING
    assert end_txn(client, "never-seen", 1, 0, True) == E.INVALID_PRODUCER_ID_MAPPING
    assert consumed(fetch(client, topic)) == [b"x"]


def test_add_partitions_refusals(client, topic):
    create_topic(client, topic, partitions=2)
    txn = Txn(client, topic)
    response = add_partitions(client, topic, txn.producer_id, txn.epoch, {topic: [0, 7], "__consumer_offsets": [0]})
    assert response["results_by_topic_v3_and_below"] == [
        {"name": topic, "results_by_partition": [
            {"partition_index": 0, "partition_error_code": E.OPERATION_NOT_ATTEMPTED},
            {"partition_index": 7, "partition_error_code": E.UNKNOWN_TOPIC_OR_PARTITION}]},
        {"name": "__consumer_offsets", "results_by_partition": [
            {"partition_index": 0, "partition_error_code": E.TOPIC_AUTHORIZATION_FAILED}]}]
    assert txn.produce(topic, 0, b"x")["error_code"] == E.INVALID_TXN_STATE   # nothing was added


def test_add_partitions_v4_adds_and_verifies_several_transactions(client, topic):
    create_topic(client, topic, partitions=2)
    one, two = Txn(client, f"{topic}-1"), Txn(client, f"{topic}-2")
    one.add(topic, 0)

    def entry(txn, partitions, verify_only):
        return {"transactional_id": txn.transactional_id, "producer_id": txn.producer_id,
                "producer_epoch": txn.epoch, "verify_only": verify_only,
                "topics": [{"name": topic, "partitions": partitions}]}

    response = client.request(ADD_PARTITIONS_TO_TXN, 4, {"transactions": [
        entry(one, [0, 1], True), entry(two, [1], False)]})
    assert response["error_code"] == 0
    assert [[(p["partition_index"], p["partition_error_code"]) for t in r["topic_results"]
             for p in t["results_by_partition"]] for r in response["results_by_transaction"]] == [
        [(0, E.NONE), (1, E.TRANSACTION_ABORTABLE)], [(1, E.NONE)]]
    assert two.produce(topic, 1, b"x")["error_code"] == 0


def test_write_txn_markers_ends_a_hanging_transaction(client, topic):
    create_topic(client, topic)
    txn = Txn(client, topic)
    txn.add(topic, 0)
    txn.produce(topic, 0, b"hanging")
    assert fetch(client, topic)["last_stable_offset"] == 0
    response = client.request(WRITE_TXN_MARKERS, 1, {"markers": [{
        "producer_id": txn.producer_id, "producer_epoch": txn.epoch, "transaction_result": False,
        "coordinator_epoch": 0, "topics": [{"name": topic, "partition_indexes": [0, 5]}]}]})
    assert response == {"markers": [{"producer_id": txn.producer_id, "topics": [{"name": topic, "partitions": [
        {"partition_index": 0, "error_code": 0}, {"partition_index": 5, "error_code": E.UNKNOWN_TOPIC_OR_PARTITION}]}]}]}
    part = fetch(client, topic)
    assert (part["last_stable_offset"], consumed(part)) == (2, [])
    stale = client.request(WRITE_TXN_MARKERS, 0, {"markers": [{
        "producer_id": txn.producer_id, "producer_epoch": txn.epoch - 1, "transaction_result": True,
        "coordinator_epoch": 0, "topics": [{"name": topic, "partition_indexes": [0]}]}]})
    assert stale["markers"][0]["topics"][0]["partitions"][0]["error_code"] == E.INVALID_PRODUCER_EPOCH


def test_describe_and_list_transactions_and_producers(client, topic):
    create_topic(client, topic, partitions=2)
    txn = Txn(client, topic, timeout_ms=30000)
    txn.add(topic, 1)
    txn.produce(topic, 1, b"x", b"y")
    [state] = client.request(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [topic]})["transaction_states"]
    assert (state["error_code"], state["transaction_state"], state["transaction_timeout_ms"], state["producer_id"],
            state["producer_epoch"], state["topics"]) == (0, "Ongoing", 30000, txn.producer_id, txn.epoch,
                                                          [{"topic": topic, "partitions": [1]}])
    assert state["transaction_start_time_ms"] > 0
    [unknown] = client.request(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": ["nope-" + topic]})["transaction_states"]
    assert unknown["error_code"] == E.TRANSACTIONAL_ID_NOT_FOUND
    listed = client.request(LIST_TRANSACTIONS, 1, {"state_filters": ["Ongoing", "Nonsense"],
                                                   "producer_id_filters": [txn.producer_id], "duration_filter": -1})
    assert listed["error_code"] == 0 and listed["unknown_state_filters"] == ["Nonsense"]
    assert listed["transaction_states"] == [{"transactional_id": topic, "producer_id": txn.producer_id,
                                             "transaction_state": "Ongoing"}]
    producers = client.request(DESCRIBE_PRODUCERS, 0, {"topics": [{"name": topic, "partition_indexes": [1, 0, 9]}]})
    [one, zero, nine] = producers["topics"][0]["partitions"]
    assert one["active_producers"] == [{"producer_id": txn.producer_id, "producer_epoch": txn.epoch,
                                        "last_sequence": 1, "last_timestamp": one["active_producers"][0]["last_timestamp"],
                                        "coordinator_epoch": -1, "current_txn_start_offset": 0}]
    assert zero["active_producers"] == [] and nine["error_code"] == E.UNKNOWN_TOPIC_OR_PARTITION
    txn.end(True)
    [state] = client.request(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [topic]})["transaction_states"]
    assert (state["transaction_state"], state["topics"]) == ("CompleteCommit", [])


def test_timed_out_transactions_are_aborted_and_their_producer_fenced(own_broker, topic):
    with own_broker(transaction_properties={
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": "50"}) as served, served.client() as client:
        create_topic(client, topic)
        txn = Txn(client, topic, timeout_ms=200)
        txn.add(topic, 0)
        txn.produce(topic, 0, b"forgotten")
        deadline = time.monotonic() + 10
        while fetch(client, topic)["last_stable_offset"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        part = fetch(client, topic)
        assert part["last_stable_offset"] == 2 and consumed(part) == []
        assert txn.end(True) == E.PRODUCER_FENCED
        assert txn.produce(topic, 0, b"zombie")["error_code"] == E.INVALID_PRODUCER_EPOCH
        assert init(client, topic)["producer_epoch"] == txn.epoch + 2


def test_a_transaction_open_across_a_restart_commits_after_it(own_broker, topic):
    with own_broker() as served, served.client() as client:
        create_topic(client, topic)
        txn = Txn(client, topic)
        txn.add(topic, 0)
        txn.produce(topic, 0, b"before the restart")
        pid, epoch = txn.producer_id, txn.epoch
    with own_broker() as served, served.client() as client:
        part = fetch(client, topic)
        assert (part["high_watermark"], part["last_stable_offset"]) == (1, 0)
        [state] = client.request(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [topic]})["transaction_states"]
        assert (state["transaction_state"], state["producer_id"], state["topics"]) == (
            "Ongoing", pid, [{"topic": topic, "partitions": [0]}])
        assert end_txn(client, topic, pid, epoch, True) == 0
        assert consumed(fetch(client, topic)) == [b"before the restart"]


def test_idle_transactional_ids_are_forgotten(own_broker, topic):
    with own_broker(transaction_properties={
            "transactional.id.expiration.ms": "100",
            "transaction.remove.expired.transaction.cleanup.interval.ms": "50"}) as served, served.client() as client:
        create_topic(client, topic)
        idle = Txn(client, f"{topic}-idle")
        busy = Txn(client, f"{topic}-busy")
        busy.add(topic, 0)                                   # an open transaction is never forgotten
        deadline = time.monotonic() + 10

        def states():
            answer = client.request(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [idle.transactional_id,
                                                                                  busy.transactional_id]})
            return [(s["error_code"], s["transaction_state"]) for s in answer["transaction_states"]]

        while states()[0][0] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert states() == [(E.TRANSACTIONAL_ID_NOT_FOUND, ""), (0, "Ongoing")]
        assert idle.end(True) == E.INVALID_PRODUCER_ID_MAPPING
        again = init(client, idle.transactional_id)
        assert (again["error_code"], again["producer_epoch"]) == (0, 0)   # a new id, from epoch 0
        assert busy.end(True) == 0
