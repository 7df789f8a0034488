"""The topics the group coordinators see in cluster mode: the controller's UpdateMetadata
requests applied to a broker's metadata cache (``ClusterTopics``), whether or not the broker
holds a replica. A KIP-848 member's regex picks up a topic created in the cluster, its
partitions follow the cluster's count, and a topic deleted in the cluster leaves its
assignment, each at the member's next heartbeat."""

from __future__ import annotations

import uuid

from broker.cluster.controller.state import ControllerContext
from broker.cluster.metadata_cache import ClusterTopics, MetadataCache
from broker.cluster.znodes import BrokerInfo, LeaderAndIsr, TopicAssignment
from broker.groups.consumer.coordinator import ConsumerGroupCoordinator
from kproto.errors import ErrorCode


def controller() -> ControllerContext:
    ctx = ControllerContext(broker_id=1, epoch=3)
    ctx.brokers = {b: BrokerInfo(b, "127.0.0.1", 9000 + b, None, epoch=b) for b in (1, 2, 3)}
    return ctx


def add_topic(ctx: ControllerContext, name: str, replicas: dict[int, list[int]]) -> uuid.UUID:
    topic_id = ctx.assignments[name].topic_id if name in ctx.assignments else uuid.uuid4()
    ctx.assignments[name] = TopicAssignment(topic_id, replicas)
    for p, brokers in replicas.items():
        ctx.states[(name, p)] = LeaderAndIsr(brokers[0], 0, tuple(brokers), 3)
    return topic_id


def test_the_coordinator_assigns_the_clusters_topics_as_they_change():
    ctx, cache = controller(), MetadataCache(broker_id=1)
    topics = ClusterTopics(cache)
    cache.update(ctx.update_metadata(full=True))
    assert topics.topics() == {}
    coordinator = ConsumerGroupCoordinator()
    now, epoch, held = 1000, 0, {}

    def beat() -> dict:
        nonlocal epoch, held
        req = {"group_id": "g", "member_id": "m", "member_epoch": epoch, "instance_id": None, "rack_id": None,
               "rebalance_timeout_ms": 30000 if epoch == 0 else -1, "subscribed_topic_names": None,
               "subscribed_topic_regex": "orders.*" if epoch == 0 else None, "server_assignor": None,
               "topic_partitions": [{"topic_id": t.bytes, "partitions": p} for t, p in held.items()]}
        answer = coordinator.heartbeat(now, req, "client", "/127.0.0.1", 1, topics.topics(), topics.topics_version)
        assert answer["error_code"] == ErrorCode.NONE
        epoch = answer["member_epoch"]
        if answer["assignment"] is not None:
            held = {uuid.UUID(bytes=tp["topic_id"]): sorted(tp["partitions"])
                    for tp in answer["assignment"]["topic_partitions"] if tp["partitions"]}
        return answer

    beat()
    assert held == {}
    # created on brokers 2 and 3 only: broker 1 (the coordinator here) holds no replica of it
    orders = add_topic(ctx, "orders", {0: [2], 1: [3]})
    version = topics.topics_version
    cache.update(ctx.update_metadata())
    assert topics.topics_version != version
    info = topics.topic("orders")
    assert (info.topic_id, info.num_partitions, info.internal) == (orders, 2, False)
    beat()
    assert held == {orders: [0, 1]}
    add_topic(ctx, "orders", {0: [2], 1: [3], 2: [2]})   # CreatePartitions
    cache.update(ctx.update_metadata())
    beat()
    assert held == {orders: [0, 1, 2]}
    deleted = ctx.assignments.pop("orders")
    cache.update(ctx.update_metadata(partitions=[], deleted=[("orders", deleted)]))
    assert topics.topic("orders") is None
    beat()
    assert held == {}
