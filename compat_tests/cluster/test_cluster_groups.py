"""A consumer group in a cluster: its coordinator is the leader of its __consumer_offsets
partition, and the group keeps its committed offsets, and goes on, when that broker dies."""

from __future__ import annotations

import time

from broker.testing import RawClient
from compat_tests.cluster.test_cluster_clients import create_rf3
from compat_tests.clients import Out, produce
from kproto.messages import FIND_COORDINATOR


def coordinator_of(cluster, group: str) -> int:
    for broker in cluster.brokers.values():
        if broker.proc is None:
            continue
        with RawClient(broker.bootstrap) as client:
            answer = client.request(FIND_COORDINATOR, 3, {"key": group, "key_type": 0})
        if answer["error_code"] == 0:
            return answer["node_id"]
    return -1


def consume_some(consumer, count: int, timeout_s: float = 60) -> list[int]:
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None or message.error():
            continue
        got.append(int(message.value()))
        consumer.commit(message, asynchronous=False)
    return got


def test_a_group_keeps_its_offsets_and_goes_on_when_its_coordinator_dies(make_cluster, topic_name):
    from confluent_kafka import Consumer

    cluster = make_cluster(3)
    create_rf3(cluster, topic_name, partitions=1)
    produce("confluent", cluster.bootstrap, topic_name, [Out(None, b"%d" % i) for i in range(100)], acks="all")
    settings = {"bootstrap.servers": cluster.bootstrap, "group.id": f"{topic_name}-group",
                "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500}
    consumer = Consumer(settings)
    consumer.subscribe([topic_name])
    first = consume_some(consumer, 40)
    assert first == list(range(40))
    coordinator = cluster.wait_for(lambda: coordinator_of(cluster, settings["group.id"]) > 0 and
                                   coordinator_of(cluster, settings["group.id"]), what="a coordinator")
    cluster.brokers[coordinator].kill()
    # the same member goes on with the next coordinator: consuming, committing
    second = consume_some(consumer, 30)
    assert second == list(range(40, 70))
    assert coordinator_of(cluster, settings["group.id"]) not in (-1, coordinator)
    consumer.close()
    # a new member of the group starts where the group's last commit left it
    again = Consumer(settings)
    again.subscribe([topic_name])
    rest = consume_some(again, 30)
    again.close()
    assert rest == list(range(70, 100))
