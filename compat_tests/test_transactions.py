"""Transactions with confluent-kafka, kafka-python and aiokafka: what read_committed and
read_uncommitted consumers see, consume-transform-produce, fencing, a SIGKILLed producer whose
transaction times out, a broker restarted with a transaction open, and a broker killed while
transactions commit.

The brokers here abort timed-out transactions every 100 ms (Kafka's default is 10 s), so a
killed producer's transaction ends soon after its own short timeout.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from broker.testing import BrokerProcess
from compat_tests.clients import Out, consume, create_topic, end_offsets, list_offsets, produce
from compat_tests.group_clients import committed_offsets
from compat_tests.txn_clients import copy, fence, open_then_commit, transactions

CLIENTS = ("confluent", "kafka-python", "aiokafka")
TXN_OVERRIDES = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "100"}
FENCED = {"confluent": "KafkaException:_FENCED:fatal=True", "kafka-python": "ProducerFencedError",
          "aiokafka": "ProducerFenced"}


def isolation(client: str, committed: bool) -> dict:
    level = "read_committed" if committed else "read_uncommitted"
    return {"isolation.level": level} if client == "confluent" else {"isolation_level": level}


@pytest.fixture(scope="module")
def txn_broker(tmp_path_factory) -> BrokerProcess:
    root = tmp_path_factory.mktemp("txn")
    process = BrokerProcess(root / "data", log_path=root / "broker.log", overrides=TXN_OVERRIDES).start()
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


def values_by_partition(received) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for r in sorted(received, key=lambda r: (r.partition, r.offset)):
        out.setdefault(r.partition, []).append(r.value)
    return out


def last_stable_offset(bootstrap: str, topic: str) -> int:
    from broker.testing import RawClient
    from kproto.messages import LIST_OFFSETS
    with RawClient(bootstrap) as raw:
        response = raw.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 1, "topics": [
            {"name": topic, "partitions": [{"partition_index": 0, "timestamp": -1}]}]})
    return response["topics"][0]["partitions"][0]["offset"]


@pytest.mark.parametrize("client", CLIENTS)
def test_read_committed_sees_exactly_the_committed_records_in_order(txn_broker, topic_name, client):
    bootstrap = txn_broker.bootstrap
    create_topic(client, bootstrap, topic_name, 2)
    batch = lambda tag, count: [Out(None, b"%s-%02d" % (tag, i), partition=i % 2) for i in range(count)]
    plan = [(True, batch(b"one", 10)), (False, batch(b"aborted", 6)), (True, batch(b"two", 10))]
    transactions(client, bootstrap, topic_name, f"{topic_name}-tx", plan)
    committed = [m for commit, messages in plan if commit for m in messages]
    expected = {p: [m.value for m in committed if m.partition == p] for p in (0, 1)}
    seen = consume(client, bootstrap, topic_name, 2, len(committed), **isolation(client, True))
    assert values_by_partition(seen) == expected
    everything = consume(client, bootstrap, topic_name, 2, 26, **isolation(client, False))
    assert values_by_partition(everything) == {
        p: [m.value for _, messages in plan for m in messages if m.partition == p] for p in (0, 1)}
    # the log holds the records, aborted ones too, and a marker per partition per transaction
    assert end_offsets(bootstrap, topic_name, 2) == [13 + 3, 13 + 3]


@pytest.mark.parametrize("client", CLIENTS)
def test_consume_transform_produce_commits_offsets_with_the_output(txn_broker, topic_name, client):
    bootstrap = txn_broker.bootstrap
    source, target, group = topic_name, f"{topic_name}-out", f"{topic_name}-group"
    create_topic(client, bootstrap, source, 2)
    create_topic(client, bootstrap, target, 2)
    produce("confluent", bootstrap, source, [Out(None, b"v%03d" % i, partition=i % 2) for i in range(60)])
    ends = end_offsets(bootstrap, source, 2)
    copy(client, bootstrap, source, target, group, 2, f"{topic_name}-tx", 7, ends)
    copied = consume(client, bootstrap, target, 2, 60, **isolation(client, True))
    assert values_by_partition(copied) == {p: [b"V%03d" % i for i in range(p, 60, 2)] for p in (0, 1)}
    assert committed_offsets(bootstrap, group, source, 2) == {(source, p): (ends[p], "") for p in (0, 1)}


@pytest.mark.parametrize("client", CLIENTS)
def test_a_new_instance_fences_the_old_one(txn_broker, topic_name, client):
    bootstrap = txn_broker.bootstrap
    create_topic(client, bootstrap, topic_name, 1)
    assert fence(client, bootstrap, topic_name, f"{topic_name}-tx") == FENCED[client]
    assert [r.value for r in consume(client, bootstrap, topic_name, 1, 1, **isolation(client, True))] == [b"fresh"]


@pytest.mark.parametrize("client", CLIENTS)
def test_a_killed_producers_transaction_is_aborted_after_its_timeout(txn_broker, topic_name, client):
    bootstrap = txn_broker.bootstrap
    create_topic(client, bootstrap, topic_name, 1)
    transactional_id = f"{topic_name}-tx"
    process = subprocess.Popen([sys.executable, "-m", "compat_tests.txn_clients", "zombie", client, bootstrap,
                                topic_name, transactional_id, "1000"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        assert list_offsets(bootstrap, topic_name, 1, -1) == [5] and last_stable_offset(bootstrap, topic_name) == 0
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 15
    while last_stable_offset(bootstrap, topic_name) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last_stable_offset(bootstrap, topic_name) == 6   # five records and the abort marker
    transactions(client, bootstrap, topic_name, transactional_id, [(True, [Out(None, b"after", partition=0)])])
    assert [r.value for r in consume(client, bootstrap, topic_name, 1, 1, **isolation(client, True))] == [b"after"]
    assert len(consume(client, bootstrap, topic_name, 1, 6, **isolation(client, False))) == 6


@pytest.mark.parametrize("client", CLIENTS)
def test_a_transaction_open_across_a_broker_restart_commits(own_broker, topic_name, client):
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic(client, bootstrap, topic_name, 1)
    values = [b"across-%d" % i for i in range(5)]
    open_then_commit(client, bootstrap, topic_name, f"{topic_name}-tx", values, own_broker.restart)
    assert [r.value for r in consume(client, bootstrap, topic_name, 1, 5, **isolation(client, True))] == values
    assert last_stable_offset(bootstrap, topic_name) == 6


def test_a_transaction_open_when_the_broker_is_killed_survives_and_commits(own_broker, topic_name):
    """SIGKILL, not a clean stop: the open transaction comes back from __transaction_state and the
    partition's producer state (replayed from the log), and then commits."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    values = [b"killed-%d" % i for i in range(5)]

    def crash_and_start():
        own_broker.kill()
        own_broker.start()
        assert last_stable_offset(bootstrap, topic_name) == 0   # still open after the crash

    open_then_commit("confluent", bootstrap, topic_name, f"{topic_name}-tx", values, crash_and_start)
    assert [r.value for r in consume("confluent", bootstrap, topic_name, 1, 5, **isolation("confluent", True))] == values


def test_delete_records_past_an_open_transaction(txn_broker, topic_name):
    """DeleteRecords moves the log start past the first offset of a transaction still open: the
    last stable offset is then the log start, never below it (a read_committed consumer sent
    below the start would be out of range), and once the transaction aborts, read_committed
    consumers see exactly the plain records left."""
    from confluent_kafka import Producer
    from compat_tests.test_delete_records import confluent_delete
    bootstrap = txn_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    produce("confluent", bootstrap, topic_name, [Out(None, b"plain-%d" % i, partition=0) for i in range(5)])
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{topic_name}-tx", "linger.ms": 0})
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(3):                                            # offsets 5-7
        producer.produce(topic_name, value=b"open-%d" % i, partition=0)
        producer.flush(30)
    produce("confluent", bootstrap, topic_name, [Out(None, b"later-%d" % i, partition=0) for i in range(3)])  # 8-10
    assert last_stable_offset(bootstrap, topic_name) == 5
    assert confluent_delete(bootstrap, topic_name, {0: 7}) == {0: 7}
    assert last_stable_offset(bootstrap, topic_name) == 7        # the log start, not 5
    assert list_offsets(bootstrap, topic_name, 1, -2) == [7]
    producer.abort_transaction(30)                                # its marker: offset 11
    assert last_stable_offset(bootstrap, topic_name) == 12
    for client in CLIENTS:
        seen = consume(client, bootstrap, topic_name, 1, 3, **isolation(client, True))
        assert [(r.offset, r.value) for r in seen] == [(8 + i, b"later-%d" % i) for i in range(3)], client


def test_a_broker_killed_as_transactions_commit_keeps_each_one_whole(own_broker, topic_name):
    """SIGKILL at a different moment of EndTxn in each round: before the commit decision is
    written, between it and the markers (the records' and the offsets'), or after it was
    answered (the last round, which must then be committed). After the
    restart every transaction is whole or absent: its records on both partitions and its
    offset commit together, and nothing committed in an earlier round is lost."""
    from broker.testing import RawClient
    from broker.tests.handlers.test_txn_offsets import txn_commit
    from broker.tests.handlers.txn_requests import Txn, consumed, fetch
    from kproto.errors import ErrorCode
    from kproto.messages import END_TXN

    own_broker.overrides.update(TXN_OVERRIDES)
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 2)
    group, transactional_id = f"g-{topic_name}", f"{topic_name}-tx"

    def producer(raw) -> Txn:
        """InitProducerId, retried while the broker ends what the kill left open."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return Txn(raw, transactional_id)
            except AssertionError:
                assert time.monotonic() < deadline, "InitProducerId never succeeded after the restart"
                time.sleep(0.05)

    def state() -> tuple[list[bytes], list[bytes], int]:
        with RawClient(bootstrap) as raw:
            producer(raw)   # fences the last round's producer: its transaction is over, one way or the other
            p0, p1 = (consumed(fetch(raw, topic_name, p)) for p in (0, 1))
        offset = committed_offsets(bootstrap, group, None).get((topic_name, 0), (-1, ""))[0]
        return p0, p1, offset

    committed: list[bytes] = []
    for round_, delay_s in enumerate((0, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.05, None)):
        value = b"txn-%d" % round_
        with RawClient(bootstrap) as raw:
            txn = producer(raw)
            assert txn.add(topic_name, 0, 1) == [(0, 0), (1, 0)]
            assert txn.produce(topic_name, 0, value)["error_code"] == 0
            assert txn.produce(topic_name, 1, value)["error_code"] == 0
            assert txn.add_offsets(group) == 0
            assert txn_commit(txn, group, topic_name, {0: round_ + 1}) == [(0, ErrorCode.NONE)]
            raw.send(END_TXN, 3, {"transactional_id": transactional_id, "producer_id": txn.producer_id,
                                  "producer_epoch": txn.epoch, "committed": True})
            if delay_s is None:   # the last round: killed once the commit is answered
                assert raw.receive(END_TXN, 3)[1]["error_code"] == 0
            else:
                time.sleep(delay_s)
            own_broker.kill()
        own_broker.start()
        p0, p1, offset = state()
        assert p0 == p1, f"round {round_}: a transaction is visible on one partition only"
        if p0 == committed + [value]:
            committed.append(value)
        assert p0 == committed, f"round {round_}: {p0} after {committed}"
        assert offset == (len(committed) and int(committed[-1].split(b"-")[1]) + 1 or -1), \
            f"round {round_}: offset {offset} does not match the transactions visible, {committed}"
    assert committed[-1] == value, "the last round's commit, answered before the kill, was lost"
