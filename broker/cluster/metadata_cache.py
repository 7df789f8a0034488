"""Every broker's view of the cluster, as the controller's UpdateMetadata requests give it.

Live brokers (replaced whole by each request), partition states (changed partition by
partition; a leader of -2 means the topic is being deleted), topic ids, and the controller.
Metadata, FindCoordinator, DescribeCluster and the NOT_LEADER_OR_FOLLOWER hints all answer
from here, so every broker gives the same answer once the controller has told it.
``version`` changes with every update, for answers kept encoded.

``ClusterTopics`` lends the group coordinators this view in storage's shape (``topics()``,
``topic(name)``, ``topics_version``): they assign, resolve regexes against and check offsets
of every topic of the cluster, as Kafka's coordinator reads the metadata image, not only the
topics this broker holds a replica of.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable

import anyio

from broker.cluster.znodes import LEADER_DURING_DELETE, NO_LEADER
from storage.topics import TopicInfo


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    broker_id: int
    host: str           # the inter-broker listener's endpoint
    port: int
    rack: str | None
    listeners: dict[str, tuple[str, int]] = field(default_factory=dict)   # listener name -> (host, port)

    def address(self, listener: str | None) -> tuple[str, int] | None:
        """Where a client of the listener named reaches this broker (None: it has no such listener);
        the inter-broker endpoint when no listener is named."""
        if listener is None:
            return self.host, self.port
        return self.listeners.get(listener)


@dataclass(frozen=True, slots=True)
class PartitionView:
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[int, ...]
    offline: tuple[int, ...]
    zk_version: int


class MetadataCache:
    def __init__(self, broker_id: int, inter_broker_listener: str = "PLAINTEXT"):
        self.broker_id = broker_id
        self.inter_broker_listener = inter_broker_listener
        self.controller_id = -1
        self.controller_epoch = -1
        self.brokers: dict[int, BrokerEndpoint] = {}
        self.topics: dict[str, dict[int, PartitionView]] = {}
        self.topic_ids: dict[str, uuid.UUID] = {}
        self.names_by_id: dict[uuid.UUID, str] = {}
        self.version = 0
        self._changed = anyio.Event()

    def update(self, request: dict) -> list[str]:
        """Apply an UpdateMetadata request (v7+); returns the topics it removed."""
        self.controller_id = request["controller_id"]
        self.controller_epoch = request["controller_epoch"]
        brokers = {}
        for broker in request["live_brokers"]:
            listeners = {e["listener"]: (e["host"], e["port"]) for e in broker["endpoints"]}
            host, port = listeners.get(self.inter_broker_listener) or next(iter(listeners.values()), ("", -1))
            brokers[broker["id"]] = BrokerEndpoint(broker["id"], host, port, broker["rack"], listeners)
        self.brokers = brokers
        removed = []
        for topic in request["topic_states"]:
            name = topic["topic_name"]
            topic_id = uuid.UUID(bytes=topic["topic_id"])
            partitions = self.topics.setdefault(name, {})
            for state in topic["partition_states"]:
                if state["leader"] == LEADER_DURING_DELETE:
                    partitions.pop(state["partition_index"], None)
                    continue
                partitions[state["partition_index"]] = PartitionView(
                    state["leader"], state["leader_epoch"], tuple(state["isr"]), tuple(state["replicas"]),
                    tuple(state["offline_replicas"]), state["zk_version"])
            if partitions:
                old = self.topic_ids.get(name)
                if old is not None and old != topic_id:
                    self.names_by_id.pop(old, None)
                self.topic_ids[name] = topic_id
                self.names_by_id[topic_id] = name
            else:
                del self.topics[name]
                old = self.topic_ids.pop(name, None)
                self.names_by_id.pop(old, None)
                removed.append(name)
        self.version += 1
        self._changed.set()
        self._changed = anyio.Event()
        return removed

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) until an update makes ``condition()`` true; its last value."""
        with anyio.move_on_after(max(timeout_s, 0)):
            while not condition():
                await self._changed.wait()
        return condition()

    # -- questions ------------------------------------------------------------------------------

    def partition(self, topic: str, partition: int) -> PartitionView | None:
        partitions = self.topics.get(topic)
        return None if partitions is None else partitions.get(partition)

    def leader(self, topic: str, partition: int) -> BrokerEndpoint | None:
        """The live leader's endpoint, or None."""
        view = self.partition(topic, partition)
        if view is None or view.leader == NO_LEADER:
            return None
        return self.brokers.get(view.leader)

    def online(self, topic: str) -> bool:
        """Every partition of the topic has a live leader."""
        partitions = self.topics.get(topic)
        return bool(partitions) and all(v.leader in self.brokers for v in partitions.values())

    def num_partitions(self, topic: str) -> int:
        return len(self.topics.get(topic, ()))

    def has_topic(self, topic: str) -> bool:
        return topic in self.topics

    def alive(self, broker_id: int) -> bool:
        return broker_id in self.brokers

    def endpoints(self, broker_ids, listener: str | None = None) -> list[dict]:
        """Metadata-style entries of the brokers named that are alive and have the listener
        (KIP-951's node endpoints; every live broker when ``broker_ids`` is None)."""
        ids = sorted(self.brokers) if broker_ids is None else sorted(set(broker_ids))
        entries = []
        for b in (self.brokers.get(i) for i in ids):
            address = None if b is None else b.address(listener)
            if address is not None:
                entries.append({"node_id": b.broker_id, "host": address[0], "port": address[1], "rack": b.rack})
        return entries


class ClusterTopics:
    """The cluster's topics as storage gives its own: ``{name: TopicInfo}`` (id, partition
    count; internal: a name starting with ``__``, as Metadata says in cluster mode), made once
    per change of the cache and shared read-only; ``topics_version`` is the cache's."""

    def __init__(self, cache: MetadataCache):
        self._cache = cache
        self._image: tuple[int, dict[str, TopicInfo]] = (-1, {})

    @property
    def topics_version(self) -> int:
        return self._cache.version

    def topics(self) -> dict[str, TopicInfo]:
        cache = self._cache
        if self._image[0] != cache.version:
            self._image = (cache.version, {
                name: TopicInfo(name, cache.topic_ids[name], len(partitions), internal=name.startswith("__"))
                for name, partitions in cache.topics.items() if partitions and name in cache.topic_ids})
        return self._image[1]

    def topic(self, name: str) -> TopicInfo | None:
        return self.topics().get(name)
