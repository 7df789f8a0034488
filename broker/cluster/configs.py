"""Topic configs in a cluster: kept in ZooKeeper (``/config/topics/T``), as Kafka keeps them.

A topic's configs are written there when it is created; a change (AlterConfigs,
IncrementalAlterConfigs) is made and checked by the broker it is sent to, as for one broker,
then written there with a change notification (``/config/changes/config_change_N``), which
every broker watches: each applies the topic's configs to its own replicas. The broker the
change was sent to must host the topic (with a replica on every broker, each does).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from broker.cluster.coord import CoordinationError
from broker.cluster.replacing import replace
from broker.registry import SERVED
from kproto.messages import ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS
from storage.errors import StorageError

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.cluster")

TOPIC = 2   # ConfigResource type


class ConfigChanges:
    """Follows ``/config/changes`` and applies topic configs to this broker's storage."""

    def __init__(self, node: ClusterNode):
        self.node = node
        self.seen = -1
        self._changed = anyio.Event()

    async def run(self) -> None:
        while True:
            try:
                changes = await self.node.coord.config_changes(self._changed.set)
            except CoordinationError as exc:
                log.warning("reading config changes: %s", exc)
                await anyio.sleep(1)
                continue
            for sequence, entity in changes:
                if sequence > self.seen:
                    self.seen = sequence
                    kind, _, name = entity.partition("/")
                    if kind == "topics":
                        await self._apply(name)
            await self._changed.wait()
            self._changed = anyio.Event()

    async def _apply(self, topic: str) -> None:
        storage = self.node.broker.storage
        info = storage.topic(topic)
        if info is None:
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
