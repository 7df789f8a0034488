"""Coordination on ZooKeeper through kazoo, with Kafka's znode layout (``znodes``).

kazoo is thread-based: each blocking call runs in a worker thread (``anyio.to_thread``), and
its watch and session callbacks, which come on kazoo's own threads, are handed to the event
loop with ``call_soon_threadsafe``, in the context of the task that connected: a plain loop
callback has no current task, and anyio (with sniffio installed) could not tell which event
loop runs it, so ``start_soon`` from a watch failed. A chroot in ``zookeeper.connect`` (``host:port/kbroker``)
is created if missing and prefixed to every path here, as Kafka does.

Fencing: the controller's writes of partition states go in one multi-op with a check of
``/controller_epoch``'s version (Kafka's ``checkedEphemeralCreate`` and zkVersion rules), so
a controller that lost its election cannot overwrite its successor's decisions.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from typing import Callable

import anyio
from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (BadVersionError, ConnectionLoss, NodeExistsError, NoNodeError, SessionExpiredError,
                              ZookeeperError)
from kazoo.retry import KazooRetry

from broker.cluster import znodes as zn
from broker.cluster.coord import (BadVersion, ControllerMoved, Coordination, CoordinationError, NodeExists, NoNode,
                                  Watch)
from broker.cluster.znodes import BrokerInfo, LeaderAndIsr, TopicAssignment

log = logging.getLogger("kbroker.zookeeper")

_STATES = {KazooState.CONNECTED: "connected", KazooState.SUSPENDED: "suspended", KazooState.LOST: "lost"}


def split_connect(connect: str) -> tuple[str, str]:
    """``host:port,host:port/chroot`` -> (hosts, chroot without a trailing slash, "" if none)."""
    hosts, slash, chroot = connect.strip().partition("/")
    return hosts, ("/" + chroot.strip("/")) if slash and chroot.strip("/") else ""


class ZooKeeperCoordination(Coordination):
    def __init__(self, connect: str, session_timeout_ms: int, connection_timeout_ms: int):
        self.connect_string = connect
        self.hosts, self.chroot = split_connect(connect)
        self.session_timeout_s = session_timeout_ms / 1000
        self.connection_timeout_s = connection_timeout_ms / 1000
        self.state = "lost"
        self._client: KazooClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None   # the connecting task's, for the callbacks
        self._listeners: list[Callable[[str], None]] = []
        self._controller_epoch_version = -1

    # -- the session --------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect (CoordinationError if ZooKeeper does not answer within the connection
        timeout) and make the chroot and Kafka's persistent paths."""
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()
        client = KazooClient(
            hosts=self.hosts, timeout=self.session_timeout_s,
            connection_retry=KazooRetry(max_tries=-1, delay=0.1, backoff=1.5, max_delay=1.0),
            command_retry=KazooRetry(max_tries=3, delay=0.1, backoff=2, max_delay=1.0),
            logger=logging.getLogger("kbroker.kazoo"))
        try:
            await anyio.to_thread.run_sync(functools.partial(client.start, timeout=self.connection_timeout_s))
        except Exception as exc:
            await anyio.to_thread.run_sync(client.close)
            raise CoordinationError(f"cannot reach ZooKeeper at {self.connect_string}: {exc}") from None
        self._client = client
        self.state = "connected"
        client.add_listener(self._session_changed)
        if self.chroot:
            await self._call(client.ensure_path, self.chroot)
        for path in zn.PERSISTENT_PATHS:
            await self._call(client.ensure_path, self._path(path))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            def stop():
                client.stop()
                client.close()
            await anyio.to_thread.run_sync(stop)

    @property
    def session_id(self) -> int:
        return self._client.client_id[0] if self._client is not None and self._client.client_id else 0

    def on_session_change(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _session_changed(self, state) -> None:   # on kazoo's thread
        name = _STATES.get(state, str(state))
        self._loop.call_soon_threadsafe(self._deliver_state, name, context=self._context)

    def _deliver_state(self, name: str) -> None:
        self.state = name
        for listener in list(self._listeners):
            listener(name)

    # -- plumbing -------------------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        return self.chroot + path

    async def _call(self, fn, *args, **kwargs):
        if self._client is None:
            raise CoordinationError("not connected to ZooKeeper")
        try:
            return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
        except NodeExistsError as exc:
            raise NodeExists(str(exc) or "node exists") from None
        except NoNodeError as exc:
            raise NoNode(str(exc) or "no node") from None
        except BadVersionError as exc:
            raise BadVersion(str(exc) or "bad version") from None
        except (ConnectionLoss, SessionExpiredError, ZookeeperError) as exc:
            raise CoordinationError(f"ZooKeeper: {type(exc).__name__} {exc}") from None

    def _watcher(self, watch: Watch | None):
        if watch is None:
            return None
        loop, context = self._loop, self._context

        def fired(event) -> None:   # on kazoo's thread
            loop.call_soon_threadsafe(watch, context=context)
        return fired

    async def _children(self, path: str, watch: Watch | None) -> list[str]:
        client = self._client
        return await self._call(client.get_children, self._path(path), watch=self._watcher(watch))

    async def _get(self, path: str, watch: Watch | None = None):
        client = self._client
        return await self._call(client.get, self._path(path), watch=self._watcher(watch))

    # -- the cluster and its brokers --------------------------------------------------------------------

    async def cluster_id(self, proposed: str) -> str:
        client = self._client
        try:
            await self._call(client.create, self._path(zn.CLUSTER_ID), zn.encode_cluster_id(proposed), makepath=True)
            return proposed
        except NodeExists:
            data, _ = await self._get(zn.CLUSTER_ID)
            return zn.decode_cluster_id(data)

    async def register_broker(self, info: BrokerInfo) -> int:
        client = self._client
        path = self._path(zn.broker_path(info.broker_id))
        await self._call(client.create, path, zn.encode_broker(info), ephemeral=True)
        _, stat = await self._call(client.get, path)
        return stat.czxid

    async def registration_gone(self, broker_id: int, watch: Watch) -> bool:
        client = self._client
        stat = await self._call(client.exists, self._path(zn.broker_path(broker_id)), watch=self._watcher(watch))
        return stat is None

    async def live_brokers(self, watch: Watch | None = None) -> dict[int, BrokerInfo]:
        brokers = {}
        for child in await self._children(zn.BROKER_IDS, watch):
            try:
                data, stat = await self._get(zn.broker_path(int(child)))
            except (NoNode, ValueError):
                continue
            brokers[int(child)] = zn.decode_broker(int(child), data, stat.czxid)
        return brokers

    # -- the controller -------------------------------------------------------------------------------------

    async def controller_id(self, watch: Watch | None = None) -> int:
        client = self._client
        path = self._path(zn.CONTROLLER)
        stat = await self._call(client.exists, path, watch=self._watcher(watch))
        if stat is None:
            return -1
        try:
            data, _ = await self._get(zn.CONTROLLER)
        except NoNode:
            return -1
        return zn.decode_controller(data)

    async def elect_controller(self, broker_id: int) -> int | None:
        """Kafka's elect(): create the ephemeral /controller and bump /controller_epoch in one
        multi-op checked on the epoch's version."""
        client = self._client
        epoch_path = self._path(zn.CONTROLLER_EPOCH)
        for _ in range(5):
            try:
                data, stat = await self._call(client.get, epoch_path)
                epoch, version = int(data.decode() or 0), stat.version
            except NoNode:
                try:
                    await self._call(client.create, epoch_path, b"0")
                except NodeExists:
                    pass
                continue
            transaction = client.transaction()
            transaction.create(self._path(zn.CONTROLLER), zn.encode_controller(broker_id), ephemeral=True)
            transaction.set_data(epoch_path, str(epoch + 1).encode(), version=version)
            results = await self._call(transaction.commit)
            if all(r is not None and not isinstance(r, Exception) for r in results):
                self._controller_epoch_version = version + 1
                return epoch + 1
            if isinstance(results[0], NodeExistsError):
                return None
            # the epoch moved under us (a racing election): look again
        return None

    async def resign_controller(self, broker_id: int) -> None:
        client = self._client
        try:
            data, stat = await self._get(zn.CONTROLLER)
            if zn.decode_controller(data) == broker_id:
                await self._call(client.delete, self._path(zn.CONTROLLER), version=stat.version)
        except (NoNode, BadVersion):
            pass

    # -- topics -------------------------------------------------------------------------------------------------

    async def topics(self, watch: Watch | None = None) -> list[str]:
        return await self._children(zn.TOPICS, watch)

    async def topic(self, topic: str, watch: Watch | None = None) -> tuple[TopicAssignment, int] | None:
        try:
            data, stat = await self._get(zn.topic_path(topic), watch)
        except NoNode:
            return None
        return zn.decode_topic(data), stat.version

    async def create_topic(self, topic: str, assignment: TopicAssignment, configs: dict[str, str]) -> None:
        """As Kafka's AdminZkClient: the config first, then the assignment the controller watches."""
        client = self._client
        if await self._call(client.exists, self._path(zn.topic_path(topic))) is not None:
            raise NodeExists(f"topic {topic} exists")
        config_path = self._path(zn.topic_config_path(topic))
        try:
            await self._call(client.create, config_path, zn.encode_topic_config(configs), makepath=True)
        except NodeExists:
            await self._call(client.set, config_path, zn.encode_topic_config(configs))
        await self._call(client.create, self._path(zn.topic_path(topic)), zn.encode_topic(assignment), makepath=True)

    async def set_topic(self, topic: str, assignment: TopicAssignment, version: int) -> int:
        client = self._client
        stat = await self._call(client.set, self._path(zn.topic_path(topic)), zn.encode_topic(assignment),
                                version=version)
        return stat.version

    async def topic_configs(self, topic: str) -> dict[str, str]:
        try:
            data, _ = await self._get(zn.topic_config_path(topic))
        except NoNode:
            return {}
        return zn.decode_topic_config(data)

    async def set_topic_configs(self, topic: str, configs: dict[str, str]) -> None:
        client = self._client
        path = self._path(zn.topic_config_path(topic))
        try:
            await self._call(client.set, path, zn.encode_topic_config(configs))
        except NoNode:
            await self._call(client.create, path, zn.encode_topic_config(configs), makepath=True)
        await self._call(client.create, self._path(f"{zn.CONFIG_CHANGES}/{zn.CONFIG_CHANGE_PREFIX}"),
                         zn.encode_config_change(f"topics/{topic}"), sequence=True, makepath=True)

    async def config_changes(self, watch: Watch | None = None, after: int = -1) -> list[tuple[int, str]]:
        numbered = []
        for child in await self._children(zn.CONFIG_CHANGES, watch):
            try:
                if child.startswith(zn.CONFIG_CHANGE_PREFIX):
                    numbered.append((int(child[len(zn.CONFIG_CHANGE_PREFIX):]), child))
            except ValueError:
                continue
        changes = []
        for sequence, child in sorted(numbered):
            if sequence <= after:
                continue
            try:
                data, _ = await self._get(f"{zn.CONFIG_CHANGES}/{child}")
                changes.append((sequence, zn.decode_config_change(data)))
            except (NoNode, ValueError, KeyError):
                continue
        return changes

    async def topics_to_delete(self, watch: Watch | None = None) -> list[str]:
        return await self._children(zn.DELETE_TOPICS, watch)

    # -- quota and user configs ----------------------------------------------------------------------------------

    async def entity_configs(self, root: str) -> dict[str, dict[str, str]]:
        """As Kafka's fetchAllEntityConfigs (and fetchAllChildEntityConfigs for users' client ids)."""
        found = {}
        for name in await self._children_or_none(f"{zn.CONFIG}/{root}"):
            found[f"{root}/{name}"] = await self.entity_config(f"{root}/{name}")
            if root == zn.USERS:
                for client in await self._children_or_none(f"{zn.CONFIG}/{root}/{name}/{zn.CLIENTS}"):
                    path = f"{root}/{name}/{zn.CLIENTS}/{client}"
                    found[path] = await self.entity_config(path)
        return found

    async def _children_or_none(self, path: str) -> list[str]:
        try:
            return await self._children(path, None)
        except NoNode:
            return []

    async def entity_config(self, entity_path: str) -> dict[str, str]:
        try:
            data, _ = await self._get(f"{zn.CONFIG}/{entity_path}")
        except NoNode:
            return {}
        try:
            return zn.decode_entity_config(data)
        except (ValueError, AttributeError) as exc:
            log.warning("config of %s unreadable, taken as empty: %s", entity_path, exc)
            return {}

    async def _get_versioned(self, path: str) -> tuple[bytes, int | None]:
        """A znode's data and version, for a write conditional on it; (b"", None) when it does not exist."""
        try:
            data, stat = await self._call(self._client.get, path)
        except NoNode:
            return b"", None
        return data, stat.version

    async def change_entity_config(self, entity_path: str, changes: dict[str, str | None]) -> None:
        """Kafka's AdminZkClient.changeConfigs (read, change, write, notify), the write made
        conditional on the znode's version: a user's quotas and SCRAM credentials share one
        znode, and two brokers changing them at once both keep their change."""
        client = self._client
        path = self._path(f"{zn.CONFIG}/{entity_path}")
        while True:
            data, version = await self._get_versioned(path)
            current = zn.decode_entity_config(data)
            wanted = {k: v for k, v in {**current, **changes}.items() if v is not None}
            if wanted == current and version is not None:
                return
            try:
                if version is None:
                    await self._call(client.create, path, zn.encode_entity_config(wanted), makepath=True)
                else:
                    await self._call(client.set, path, zn.encode_entity_config(wanted), version=version)
                break
            except (BadVersion, NodeExists, NoNode):
                continue
        await self._call(client.create, self._path(f"{zn.CONFIG_CHANGES}/{zn.CONFIG_CHANGE_PREFIX}"),
                         zn.encode_config_change(entity_path), sequence=True, makepath=True)

    async def expire_notifications(self, directory: str, prefix: str, max_age_ms: int) -> int:
        """As Kafka's ZkNodeChangeNotificationListener purges: by each znode's creation time."""
        client = self._client
        oldest_ms = int(time.time() * 1000) - max_age_ms
        expired = 0
        for child in await self._children_or_none(directory):
            if not child.startswith(prefix):
                continue
            path = self._path(f"{directory}/{child}")
            stat = await self._call(client.exists, path)
            if stat is not None and stat.ctime < oldest_ms:
                try:
                    await self._call(client.delete, path)
                    expired += 1
                except NoNode:   # another broker expired it first
                    pass
        return expired

    async def request_topic_deletion(self, topic: str) -> None:
        client = self._client
        try:
            await self._call(client.create, self._path(zn.delete_topic_path(topic)), b"", makepath=True)
        except NodeExists:
            pass

    async def delete_topic(self, topic: str) -> None:
        client = self._client
        for path in (zn.topic_path(topic), zn.topic_config_path(topic), zn.delete_topic_path(topic)):
            try:
                await self._call(client.delete, self._path(path), recursive=True)
            except NoNode:
                pass

    # -- ACLs ------------------------------------------------------------------------------------------------------

    async def acls(self) -> dict[tuple, list[tuple]]:
        found = {}
        for type_path, pattern_type in zn.acl_type_paths():
            try:
                names = await self._children(type_path, None)
            except NoNode:
                continue
            resource_type = zn.acl_type_of(type_path)
            for name in names:
                try:
                    data, _ = await self._get(f"{type_path}/{name}")
                    entries = zn.decode_acls(data)
                except (NoNode, ValueError, KeyError) as exc:
                    log.warning("ACLs of %s/%s unreadable, skipped: %s", type_path, name, exc)
                    continue
                if entries:
                    found[(resource_type, pattern_type, name)] = entries
        return found

    async def change_acls(self, resource: tuple, added: list[tuple], removed: list[tuple]) -> None:
        """Kafka's AclAuthorizer.updateResourceAcls: read, change, write on the znode's version."""
        client = self._client
        path = self._path(zn.acl_resource_path(resource))
        while True:
            data, version = await self._get_versioned(path)
            current = zn.decode_acls(data)
            wanted = [e for e in current if e not in removed] + [e for e in added if e not in current]
            if wanted == current:
                return
            try:
                if version is None:
                    await self._call(client.create, path, zn.encode_acls(wanted), makepath=True)
                elif wanted:
                    await self._call(client.set, path, zn.encode_acls(wanted), version=version)
                else:
                    await self._call(client.delete, path, version=version)
                break
            except (BadVersion, NodeExists, NoNode):
                continue
        directory, change = zn.encode_acl_change(resource)
        await self._call(client.create, self._path(f"{directory}/{zn.ACL_CHANGE_PREFIX}"), change, sequence=True,
                         makepath=True)

    async def acl_changes(self, watch: Watch | None = None) -> set[str]:
        literal = await self._children(zn.ACL_CHANGES, watch)
        extended = await self._children(zn.EXTENDED_ACL_CHANGES, watch)
        return {f"literal/{c}" for c in literal} | {f"extended/{c}" for c in extended}

    # -- partition states ----------------------------------------------------------------------------------------

    async def partition_states(self, topic: str) -> dict[int, LeaderAndIsr]:
        states = {}
        try:
            children = await self._children(zn.partitions_path(topic), None)
        except NoNode:
            return states
        for child in children:
            try:
                data, stat = await self._get(zn.partition_state_path(topic, int(child)))
            except (NoNode, ValueError):
                continue
            states[int(child)] = zn.decode_partition_state(data, stat.version)
        return states

    async def _fenced(self, build) -> list:
        """Commit a multi-op that first checks this controller's epoch version."""
        client = self._client
        transaction = client.transaction()
        transaction.check(self._path(zn.CONTROLLER_EPOCH), self._controller_epoch_version)
        build(transaction)
        results = await self._call(transaction.commit)
        if isinstance(results[0], Exception):
            raise ControllerMoved("the controller epoch moved: another controller was elected")
        for result in results[1:]:
            if isinstance(result, BadVersionError):
                raise BadVersion("the partition state changed")
            if isinstance(result, NodeExistsError):
                raise NodeExists("the partition state exists")
            if isinstance(result, NoNodeError):
                raise NoNode("no partition state")
            if isinstance(result, Exception):
                raise CoordinationError(f"ZooKeeper: {type(result).__name__}")
        return results

    async def create_partition_state(self, topic: str, partition: int, state: LeaderAndIsr) -> LeaderAndIsr:
        client = self._client
        await self._call(client.ensure_path, self._path(zn.partition_path(topic, partition)))
        data = zn.encode_partition_state(state)
        try:
            await self._fenced(lambda t: t.create(self._path(zn.partition_state_path(topic, partition)), data))
        except NodeExists:
            current = (await self.partition_states(topic))[partition]
            return await self.update_partition_state(topic, partition, LeaderAndIsr(
                state.leader, state.leader_epoch, state.isr, state.controller_epoch, current.zk_version))
        return LeaderAndIsr(state.leader, state.leader_epoch, state.isr, state.controller_epoch, 0)

    async def update_partition_state(self, topic: str, partition: int, state: LeaderAndIsr) -> LeaderAndIsr:
        data = zn.encode_partition_state(state)
        path = self._path(zn.partition_state_path(topic, partition))
        await self._fenced(lambda t: t.set_data(path, data, version=state.zk_version))
        return LeaderAndIsr(state.leader, state.leader_epoch, state.isr, state.controller_epoch, state.zk_version + 1)

    # -- producer ids ------------------------------------------------------------------------------------------------

    async def allocate_producer_ids(self, broker_id: int, count: int) -> tuple[int, int]:
        """Kafka's ZkProducerIdManager: read the latest block, write the next one conditionally."""
        client = self._client
        path = self._path(zn.PRODUCER_ID_BLOCK)
        while True:
            data, stat = await self._call(client.get, path)
            start = zn.decode_producer_id_block(data)[1] + 1 if data else 0
            end = start + count - 1
            try:
                await self._call(client.set, path, zn.encode_producer_id_block(broker_id, start, end),
                                 version=stat.version)
                return start, end
            except BadVersion:
                continue

