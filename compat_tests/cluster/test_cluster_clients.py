"""Three brokers and ZooKeeper: RF=3 topics written with acks=all and idempotence by
confluent-kafka, kafka-python and aiokafka, read back whole; every broker gives the same view."""

from __future__ import annotations

import pytest

from compat_tests.clients import CLIENTS, Out, consume, produce


def create_rf3(cluster, name: str, partitions: int = 3, configs: dict | None = None) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 3, config=configs or {})], operation_timeout=20)
    futures[name].result(timeout=30)


IDEMPOTENT = {
    "kafka-python": {"acks": "all", "enable_idempotence": True},
    "confluent": {"acks": "all", "enable.idempotence": True},
    "aiokafka": {"acks": "all", "enable_idempotence": True},
}


@pytest.mark.parametrize("client", CLIENTS)
def test_acks_all_idempotent_produce_to_rf3_is_read_back_whole(shared_cluster, topic_name, client):
    create_rf3(shared_cluster, topic_name)
    messages = [Out(b"k%d" % i, b"v%d" % i) for i in range(300)]
    deliveries = produce(client, shared_cluster.bootstrap, topic_name, messages, **IDEMPOTENT[client])
    assert [d.error for d in deliveries] == [None] * 300
    received = consume(client, shared_cluster.bootstrap, topic_name, 3, 300)
    assert sorted(r.value for r in received) == sorted(m.value for m in messages)
    for partition in range(3):   # each partition in the order it was acknowledged
        acked = [d.offset for d in deliveries if d.partition == partition]
        assert [r.offset for r in received if r.partition == partition] == sorted(acked)


def test_every_broker_gives_the_same_view_with_replicas_and_isr(shared_cluster, topic_name):
    create_rf3(shared_cluster, topic_name, partitions=6)
    views = [shared_cluster.metadata(node, [topic_name]) for node in shared_cluster.brokers]
    assert all(v["brokers"] == views[0]["brokers"] and v["controller_id"] == views[0]["controller_id"]
               and v["topics"] == views[0]["topics"] for v in views)
    partitions = views[0]["topics"][0]["partitions"]
    assert len(partitions) == 6
    for p in partitions:
        assert sorted(p["replica_nodes"]) == [1, 2, 3] and sorted(p["isr_nodes"]) == [1, 2, 3]
        assert p["leader_id"] == p["replica_nodes"][0] and p["offline_replicas"] == []
    # leaders are spread: each broker prefers two of the six
    assert sorted(p["leader_id"] for p in partitions) == [1, 1, 2, 2, 3, 3]
