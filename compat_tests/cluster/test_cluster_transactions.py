"""Transactions in a cluster: a transactional id's coordinator is the leader of its
__transaction_state partition; markers go to the leaders of the partitions written; an open
transaction's state survives its coordinator's loss."""

from __future__ import annotations

import itertools
import time

import pytest

from broker.testing import RawClient
from broker.transactions.log import TRANSACTION_STATE_TOPIC, partition_for
from compat_tests.cluster.test_cluster_clients import create_rf3
from compat_tests.cluster.test_cluster_groups import file_batches
from kproto.coordinator_records import decode_transaction_log_key
from kproto.messages import CREATE_TOPICS, FIND_COORDINATOR
from storage.records import decode_records

TRANSACTION = 1


def transaction_coordinator_of(cluster, transactional_id: str) -> int:
    for broker in cluster.brokers.values():
        if broker.proc is None:
            continue
        with RawClient(broker.bootstrap) as client:
            answer = client.request(FIND_COORDINATOR, 3, {"key": transactional_id, "key_type": TRANSACTION})
        if answer["error_code"] == 0:
            return answer["node_id"]
    return -1


def read_committed(bootstrap: str, topic: str, expected: int, timeout_s: float = 30,
                   partitions: int = 3) -> list[bytes]:
    """What a read_committed consumer reads from the topic's partitions: ``expected`` records,
    and then for another second whatever else there is (none, if aborted records stay hidden)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < expected and time.monotonic() < deadline:
            got += [m.value() for m in consumer.consume(num_messages=100, timeout=0.5) if not m.error()]
        got += [m.value() for m in consumer.consume(num_messages=100, timeout=1) if not m.error()]
    finally:
        consumer.close()
    return got


def transactional_producer(cluster, transactional_id: str):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": transactional_id,
                         "transaction.timeout.ms": 60000, "linger.ms": 5})
    producer.init_transactions(30)
    return producer


@pytest.fixture
def txn_cluster(make_cluster):
    return make_cluster(3, transaction_state_log_num_partitions=5, offsets_topic_num_partitions=5)


def test_transactions_span_partitions_led_by_every_broker(txn_cluster, topic_name):
    cluster = txn_cluster
    create_rf3(cluster, topic_name)
    leaders = {cluster.leader(topic_name, p) for p in range(3)}
    producer = transactional_producer(cluster, f"{topic_name}-txn")
    coordinator = transaction_coordinator_of(cluster, f"{topic_name}-txn")
    # a topic of which the coordinator's broker holds no replica at all
    single = f"{topic_name}-elsewhere"
    others = [b for b in cluster.brokers if b != coordinator]
    controller = cluster.brokers[cluster.metadata()["controller_id"]]
    with RawClient(controller.bootstrap) as client:
        answer = client.request(CREATE_TOPICS, 5, {"topics": [{
            "name": single, "num_partitions": -1, "replication_factor": -1, "configs": [],
            "assignments": [{"partition_index": i, "broker_ids": [b]} for i, b in enumerate(others)]}],
            "timeout_ms": 20000, "validate_only": False})
    assert answer["topics"][0]["error_code"] == 0
    producer.begin_transaction()
    for i in range(30):
        producer.produce(topic_name, b"committed-%d" % i, partition=i % 3)
        producer.produce(single, b"elsewhere-%d" % i, partition=i % 2)
    producer.commit_transaction(30)
    producer.begin_transaction()
    for i in range(30):
        producer.produce(topic_name, b"aborted-%d" % i, partition=i % 3)
    producer.flush(30)
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic_name, b"last", partition=0)
    producer.commit_transaction(30)
    got = read_committed(cluster.bootstrap, topic_name, 31)
    assert sorted(got) == sorted([b"committed-%d" % i for i in range(30)] + [b"last"])
    assert len(leaders) > 1   # the markers went to other brokers than the coordinator too
    assert sorted(read_committed(cluster.bootstrap, single, 30, partitions=2)) == \
        sorted(b"elsewhere-%d" % i for i in range(30))


def test_an_open_transaction_is_taken_over_when_its_coordinator_dies(txn_cluster, topic_name):
    cluster = txn_cluster
    create_rf3(cluster, topic_name)
    transactional_id = f"{topic_name}-txn"
    producer = transactional_producer(cluster, transactional_id)
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic_name, b"first-%d" % i, partition=i % 3)
    producer.commit_transaction(30)
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic_name, b"second-%d" % i, partition=i % 3)
    assert producer.flush(30) == 0   # the transaction is open, its partitions added, its records written
    coordinator = transaction_coordinator_of(cluster, transactional_id)
    assert coordinator > 0
    cluster.brokers[coordinator].kill()
    cluster.wait_for(lambda: transaction_coordinator_of(cluster, transactional_id) not in (-1, coordinator),
                     timeout_s=30, what="a new transaction coordinator")
    # the new coordinator knows the open transaction from the replicated __transaction_state
    producer.commit_transaction(60)
    got = read_committed(cluster.bootstrap, topic_name, 20)
    assert sorted(got) == sorted([b"first-%d" % i for i in range(10)] + [b"second-%d" % i for i in range(10)])
    # a new producer with the same id fences the old one through the new coordinator
    again = transactional_producer(cluster, transactional_id)
    again.begin_transaction()
    again.produce(topic_name, b"third", partition=1)
    again.commit_transaction(30)
    assert b"third" in read_committed(cluster.bootstrap, topic_name, 21)


def test_offsets_sent_to_a_transaction_are_committed_with_it(txn_cluster, topic_name):
    """Consume, transform, produce: the group's offsets go to its coordinator (TxnOffsetCommit)
    and become visible with the transaction's commit marker in the group's __consumer_offsets
    partition, wherever that partition's leader is."""
    from confluent_kafka import Consumer

    from compat_tests.clients import Out, produce

    cluster = txn_cluster
    source, target, group = f"{topic_name}-in", f"{topic_name}-out", f"{topic_name}-copier"
    create_rf3(cluster, source)
    create_rf3(cluster, target)
    produce("confluent", cluster.bootstrap, source, [Out(None, b"%d" % i) for i in range(30)], acks="all")
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    consumer.subscribe([source])
    producer = transactional_producer(cluster, f"{topic_name}-txn")
    copied, deadline = 0, time.monotonic() + 60
    while copied < 30 and time.monotonic() < deadline:
        messages = [m for m in consumer.consume(num_messages=30, timeout=0.5) if not m.error()]
        if not messages:
            continue
        producer.begin_transaction()
        for message in messages:
            producer.produce(target, message.value(), partition=message.partition())
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata(), 30)
        producer.commit_transaction(30)
        copied += len(messages)
    committed = consumer.committed(consumer.assignment(), timeout=10)
    consumer.close()
    assert copied == 30
    # a partition the unkeyed records missed has no committed offset (OFFSET_INVALID, negative)
    assert sum(max(tp.offset, 0) for tp in committed) == 30
    assert sorted(read_committed(cluster.bootstrap, target, 30)) == sorted(b"%d" % i for i in range(30))


def transactional_ids_on_disk(cluster, node: int) -> dict[str, set[int]]:
    """Transactional id -> the partitions of __transaction_state whose files on a broker hold a
    record of it, read from its segment files."""
    found: dict[str, set[int]] = {}
    for directory in cluster.brokers[node].data_dir.glob(f"{TRANSACTION_STATE_TOPIC}-*"):
        index = int(directory.name.rsplit("-", 1)[1])
        for header, batch in file_batches(directory):
            if not header.is_control:
                for record in decode_records(batch):
                    found.setdefault(decode_transaction_log_key(record.key), set()).add(index)
    return found


def test_a_transactional_id_is_placed_on_the_clusters_partition_count(make_cluster, topic_name):
    """A broker's local copy of __transaction_state ends at the last partition it has a replica
    of (replication factor 2 of 3): one broker lacks the last partition, so it holds fewer
    partitions than the cluster. An id it coordinates is still written to, and loaded from,
    Kafka's ``abs(hash(id)) % partitions`` of the cluster's count, where FindCoordinator placed
    it: its records are in that partition only, and the broker that takes the partition over
    when the coordinator dies knows the open transaction and commits it."""
    count = 10
    cluster = make_cluster(3, transaction_state_log_num_partitions=count, transaction_state_log_replication_factor=2)
    create_rf3(cluster, topic_name)
    cluster.wait_for(lambda: transaction_coordinator_of(cluster, topic_name) > 0, what="__transaction_state led")
    replicas = {p["partition_index"]: p["replica_nodes"]
                for p in cluster.metadata(topics=[TRANSACTION_STATE_TOPIC])["topics"][0]["partitions"]}
    assert len(replicas) == count
    short, = set(cluster.brokers) - set(replicas[count - 1])
    local = max(i for i, nodes in replicas.items() if short in nodes) + 1   # its local copy's count
    transactional_id = next(t for t in (f"{topic_name}-{i}" for i in itertools.count())
                            if transaction_coordinator_of(cluster, t) == short
                            and partition_for(t, count) != partition_for(t, local))
    partition = partition_for(transactional_id, count)
    producer = transactional_producer(cluster, transactional_id)
    producer.begin_transaction()
    producer.produce(topic_name, b"first", partition=0)
    producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce(topic_name, b"second", partition=1)
    assert producer.flush(30) == 0   # the transaction is open, its partition added, its record written
    assert transactional_ids_on_disk(cluster, short)[transactional_id] == {partition}
    cluster.brokers[short].kill()
    cluster.wait_for(lambda: transaction_coordinator_of(cluster, transactional_id) not in (-1, short),
                     what="a new transaction coordinator")
    producer.commit_transaction(60)
    assert sorted(read_committed(cluster.bootstrap, topic_name, 2)) == [b"first", b"second"]
