"""Every broker's view of the cluster, as the controller's UpdateMetadata requests give it.

Live brokers (replaced whole by each request), partition states (changed partition by
partition; a leader of -2 means the topic is being deleted), topic ids, and the controller.
Metadata, FindCoordinator, DescribeCluster and the NOT_LEADER_OR_FOLLOWER hints all answer
from here, so every broker gives the same answer once the controller has told it.
``version`` changes with every update, for answers kept encoded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

import anyio

from broker.cluster.znodes import LEADER_DURING_DELETE, NO_LEADER


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    broker_id: int
    host: str
    port: int
    rack: str | None


@dataclass(frozen=True, slots=True)
class PartitionView:
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[int, ...]
    offline: tuple[int, ...]
    zk_version: int


class MetadataCache:
    def __init__(self, broker_id: int):
        self.broker_id = broker_id
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
            endpoint = broker["endpoints"][0] if broker["endpoints"] else {"host": "", "port": -1}
            brokers[broker["id"]] = BrokerEndpoint(broker["id"], endpoint["host"], endpoint["port"], broker["rack"])
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

    def endpoints(self, broker_ids) -> list[dict]:
        """Metadata-style entries of the brokers named that are alive (KIP-951's node endpoints)."""
        return [{"node_id": b.broker_id, "host": b.host, "port": b.port, "rack": b.rack}
                for b in (self.brokers.get(i) for i in sorted(set(broker_ids))) if b is not None]
