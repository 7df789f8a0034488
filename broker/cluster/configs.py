"""Topic configs in a cluster: kept in ZooKeeper (``/config/topics/T``), as Kafka keeps them;
and the follower of every config change (``/config/changes``).

A topic's configs are written there when it is created; a change (AlterConfigs,
IncrementalAlterConfigs) is made and checked by the broker it is sent to, as for one broker,
then written there with a change notification (``/config/changes/config_change_N``), which
every broker watches: each applies the topic's configs to its own replicas. The broker the
change was sent to must host the topic (with a replica on every broker, each does). The
notifications of users, client ids and IPs (quotas, SCRAM credentials) go to
``client_configs``.

At start a broker reads every config it keeps (its topics', every quota and credential), so
what it missed while away is not lost when old notifications go: as Kafka's brokers, each
deletes the notifications older than 15 minutes (``notifications``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from broker.cluster import client_configs, znodes as zn   # the module, not its names: an import cycle via handlers
from broker.cluster.coord import CoordinationError
from broker.cluster.replacing import replace
from broker.cluster.notifications import NotificationExpiry
from broker.registry import SERVED
from kproto.messages import ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS
from storage.errors import StorageError

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.cluster")

TOPIC = 2   # ConfigResource type


class ConfigChanges:
    """Follows ``/config/changes``: topic configs to this broker's storage, quotas and SCRAM
    credentials to its stores (``client_configs``)."""

    def __init__(self, node: ClusterNode):
        self.node = node
        self.seen = -1
        self.clients = client_configs.ClientConfigs(node)
        self.expiry = NotificationExpiry(node.coord, zn.CONFIG_CHANGE_PREFIX, zn.CONFIG_CHANGES)
        self._started = False
        self._changed = anyio.Event()

    async def run(self) -> None:
        while True:
            try:
                if not self._started:   # everything, then the changes since
                    await self.clients.load()
                    for topic in self.node.broker.storage.topics():
                        await self._apply(topic, only_if_shared=True)
                    self._started = True
                changes = await self.node.coord.config_changes(self._changed.set, after=self.seen)
                for sequence, entity in changes:
                    kind, _, name = entity.partition("/")
                    if kind == "topics":
                        await self._apply(name)
                    else:
                        await self.clients.apply(entity)
                    self.seen = sequence
                await self.expiry.maybe_expire()
            except CoordinationError as exc:
                log.warning("reading config changes: %s", exc)
                await anyio.sleep(1)
                continue
            await self._changed.wait()
            self._changed = anyio.Event()

    async def _apply(self, topic: str, only_if_shared: bool = False) -> None:
        """Make a local topic's configs ZooKeeper's; ``only_if_shared``: only if ZooKeeper has
        this very topic (a local topic the cluster does not have keeps its own)."""
        storage = self.node.broker.storage
        info = storage.topic(topic)
        if info is None:
            return
        if only_if_shared:
            shared = await self.node.coord.topic(topic)
            if shared is None or shared[0].topic_id != info.topic_id:
                return
        configs = await self.node.coord.topic_configs(topic)
        if configs != info.configs:
            try:
                storage.alter_topic_configs(topic, configs)
                log.info("topic %s configs now %s", topic, configs)
            except StorageError as exc:
                log.warning("cannot apply the configs of topic %s: %s", topic, exc)


def _publishing(handler):
    async def publish(ctx, req: dict) -> dict:
        response = handler(ctx, req)
        if req["validate_only"]:
            return response
        node = ctx.broker.cluster
        for entry in response["responses"]:
            info = ctx.broker.storage.topic(entry["resource_name"])
            if entry["resource_type"] == TOPIC and not entry["error_code"] and info is not None:
                try:
                    await node.coord.set_topic_configs(info.name, dict(info.configs))
                except CoordinationError as exc:
                    log.warning("cannot share the configs of topic %s: %s", info.name, exc)
        return response
    return publish


replace(ALTER_CONFIGS, _publishing(SERVED[ALTER_CONFIGS.api_key].handler), may_wait=True)
replace(INCREMENTAL_ALTER_CONFIGS, _publishing(SERVED[INCREMENTAL_ALTER_CONFIGS.api_key].handler), may_wait=True)
