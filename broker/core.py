"""The broker's shared state: the log, cluster identity, topic creation, and data notifications."""

from __future__ import annotations

import base64
import fcntl
import gc
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio

from broker.broker_configs import BrokerConfigs
from broker.config import BrokerConfig
from broker.faults import Faults, RequestLog, Taps
from broker.log_service import LogService
from broker.producer_ids import ProducerIdManager
from broker.registry import SERVED
from broker.telemetry import ClientTelemetry
from broker.quotas import (FETCH as FETCH_RATE, PRODUCE as PRODUCE_RATE, ByteRateQuotas, ClientQuotas,
                           ConnectionRates, MutationQuotas, RequestQuotas)
from broker.security.authorizer import Authorizer
from broker.security.credentials import ScramCredentials
from broker.security.settings import SecuritySettings
from storage import Storage, TopicInfo

if TYPE_CHECKING:
    from broker.groups.service import GroupService
    from broker.transactions.service import TransactionService

log = logging.getLogger("kbroker")


class TopicListener(Protocol):
    """What must know when a topic goes (the group coordinator drops its committed offsets)."""

    def topic_deleted(self, name: str) -> None: ...


class DataWaiter(Protocol):
    """What waits for a partition's data (an event, a parked long poll): told by ``set()``."""

    def set(self) -> None: ...


class StartRefused(Exception):
    """The broker cannot start as configured (said why); it exits with status 1."""


class DataDirInUse(StartRefused):
    pass


class Broker:
    """Everything the handlers share. Created once per process; closed on shutdown."""

    def __init__(self, config: BrokerConfig):
        self.config = config
        self.node_id = config.node_id
        self._lock_file = None
        if config.data_dir is not None:
            config.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock_data_dir(config.data_dir)
            self.cluster_id = self._load_or_create_meta(config.data_dir)
        else:
            self.cluster_id = _new_cluster_id()
        self.broker_configs = BrokerConfigs(config)   # static and dynamic broker configs, in layers
        self.storage = Storage.open(config.data_dir, self.broker_configs.log_defaults())
        self.log_service = LogService(self)   # retention, cleaning, flushes: started with the background
        self.producer_ids = ProducerIdManager(config.data_dir)
        # security: the settings, SCRAM credentials, and the authorizer (None: off, everything allowed)
        self.security = SecuritySettings(config)
        self.scram = ScramCredentials(config.data_dir, self.security.file_users)
        # client quotas: kept per entity; byte rates, request time and topic mutations enforced per
        # client, new connections per IP and broker-wide
        self.client_quotas = ClientQuotas(config.data_dir)
        self.produce_quotas = ByteRateQuotas(self.client_quotas, PRODUCE_RATE, config.quota_window_num,
                                             config.quota_window_size_seconds)
        self.fetch_quotas = ByteRateQuotas(self.client_quotas, FETCH_RATE, config.quota_window_num,
                                           config.quota_window_size_seconds)
        self.request_quotas = RequestQuotas(self.client_quotas, config.quota_window_num,
                                            config.quota_window_size_seconds)
        self.mutation_quotas = MutationQuotas(self.client_quotas, config.controller_quota_window_num,
                                              config.controller_quota_window_size_seconds)
        self.connection_rates = ConnectionRates(self.client_quotas, config.max_connection_creation_rate,
                                                config.quota_window_num, config.quota_window_size_seconds)
        self.authorizer: Authorizer | None = None
        if self.security.authorizer_enabled:
            self.authorizer = Authorizer(config.data_dir, self.security.super_users,
                                         self.security.allow_everyone_if_no_acl_found)
        self.oauth_validators: dict = {}       # OAUTHBEARER token validators by listener name, made on first use
        self._principal_mappers: dict = {}
        self._waiters: dict[tuple[str, int], set[DataWaiter]] = {}
        self._api_versions: list[dict] | None = None
        self._topic_listeners: list[TopicListener] = []
        self._topic_cache: dict = {}
        self._topic_cache_version = -1
        self._groups: GroupService | None = None   # the group coordinator and offsets: made on first use
        # cluster mode (broker.cluster): the seam Produce, Fetch and ListOffsets consult, set by
        # the cluster node; None for one broker, whose handlers then run as they always did
        self.replication = None
        self.cluster = None   # cluster mode's node (broker.cluster.node.ClusterNode)
        self._transactions: TransactionService | None = None   # the transaction coordinator: likewise
        self._background = None       # the task group of background work, once started
        self.stats = None             # request and topic counters, while the HTTP port serves (broker/web/stats.py)
        self.telemetry = ClientTelemetry(config.telemetry_push_interval_ms, config.telemetry_max_bytes)   # KIP-714
        self._groups_scope: anyio.CancelScope | None = None   # the group coordinator's timers
        self._transactions_scope: anyio.CancelScope | None = None   # the transaction coordinator's sweeps
        self.taps = Taps(self)        # fault injection and the request log, looked up per request
        self.freeze_loaded = False    # a broker process freezes what the coordinator loads (broker.server)
        cluster = config.cluster
        if cluster is not None:   # made now: its handlers serve from the first request on
            from broker.cluster.config import inter_broker_listener
            from broker.cluster.node import ClusterNode

            try:   # brokers connect to each other over a PLAINTEXT listener; clients may use any
                listener = inter_broker_listener(config, cluster)
            except ValueError as exc:
                self.close()
                raise StartRefused(str(exc)) from None
            # With the authorizer on, that listener's principal (User:ANONYMOUS) needs CLUSTER_ACTION:
            # the node says so in the log if it lacks it, as Kafka's brokers' requests just fail.
            self.cluster = ClusterNode(self, cluster, listener)

    # -- identity --------------------------------------------------------------

    def _lock_data_dir(self, data_dir: Path) -> None:
        self._lock_file = open(data_dir / ".lock", "a+")
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise DataDirInUse(f"{data_dir} is in use by another broker") from None

    def _load_or_create_meta(self, data_dir: Path) -> str:
        """Kafka's meta.properties: the cluster id survives restarts."""
        path = data_dir / "meta.properties"
        if path.exists():
            for line in path.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "cluster.id" and value.strip():
                    return value.strip()
        cluster_id = _new_cluster_id()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"#kbroker\nversion=1\nnode.id={self.node_id}\ncluster.id={cluster_id}\n")
        os.replace(tmp, path)
        return cluster_id

    def adopt_cluster_id(self, cluster_id: str) -> None:
        """Join a cluster whose id ZooKeeper holds (a data directory without topics yet)."""
        self.cluster_id = cluster_id
        if self.config.data_dir is not None:
            path = self.config.data_dir / "meta.properties"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(f"#kbroker\nversion=1\nnode.id={self.node_id}\ncluster.id={cluster_id}\n")
            os.replace(tmp, path)

    @property
    def faults(self) -> Faults:
        """Errors, delays and disconnects to inject (broker/faults.py)."""
        return self.taps.faults

    @property
    def request_log(self) -> RequestLog:
        """The requests received, while enabled (broker/faults.py)."""
        return self.taps.request_log

    @property
    def advertised(self) -> tuple[str, int]:
        return self.config.advertised

    def principal_mapper(self, listener_name: str):
        """The listener's ``ssl.principal.mapping.rules``."""
        mapper = self._principal_mappers.get(listener_name)
        if mapper is None:
            from broker.security.principal import PrincipalMapper
            mapper = self._principal_mappers[listener_name] = PrincipalMapper(
                self.security.value(listener_name, "ssl.principal.mapping.rules"))
        return mapper

    def api_versions(self) -> list[dict]:
        """The ApiVersions answer: exactly the registry."""
        if self._api_versions is None:
            self._api_versions = [
                {"api_key": key, "min_version": s.versions.low, "max_version": s.versions.high}
                for key, s in sorted(SERVED.items())]
        return self._api_versions

    # -- topics ------------------------------------------------------------------

    @property
    def topic_cache(self) -> dict:
        """Answers derived from the topics alone (Metadata), dropped whenever a topic changes."""
        if self._topic_cache_version != self.storage.topics_version:
            self._topic_cache.clear()
            self._topic_cache_version = self.storage.topics_version
        return self._topic_cache

    def delete_topic(self, name: str) -> None:
        """Delete a topic's log, wake whoever waits on it, and tell the topic listeners."""
        info = self.storage.topic(name)
        self.storage.delete_topic(name)
        if info is not None:
            for index in range(info.num_partitions):
                self.notify_append(name, index)
        self.topic_gone(name)

    def topic_gone(self, name: str) -> None:
        """Tell the topic listeners a topic is deleted (cluster mode: also one this broker
        holds no replica of, whose groups' committed offsets go with it, as Kafka's)."""
        for listener in self._topic_listeners:
            listener.topic_deleted(name)

    def auto_create(self, name: str) -> TopicInfo | None:
        """Create ``name`` with the default partition count if auto-creation is on."""
        if not self.config.auto_create_topics:
            return None
        info = self.storage.create_topic(name, self.config.num_partitions, {})
        log.info("auto-created topic %s with %d partition(s)", name, info.num_partitions)
        return info

    # -- waiting for data ----------------------------------------------------------

    def notify_append(self, topic: str, partition: int) -> None:
        """The partition got data (or went away): every waiter parked on it is ``set()``, at once.
        A long-poll fetch answers in that call (broker/handlers/fetch.py); others wake their task."""
        waiters = self._waiters.pop((topic, partition), None)
        if waiters:
            for waiter in waiters:
                waiter.set()

    def park(self, keys: list[tuple[str, int]], waiter: DataWaiter) -> None:
        """Have ``waiter.set()`` called when any of the partitions gets data (once: then call again)."""
        for key in keys:
            self._waiters.setdefault(key, set()).add(waiter)

    def unpark(self, keys: list[tuple[str, int]], waiter: DataWaiter) -> None:
        for key in keys:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[key]

    async def wait_for_data(self, keys: list[tuple[str, int]], timeout_s: float) -> None:
        """Return when any of the partitions gets data, or after ``timeout_s``."""
        event = anyio.Event()
        self.park(keys, event)
        try:
            with anyio.move_on_after(timeout_s):
                await event.wait()
        finally:
            self.unpark(keys, event)

    # -- lifecycle ---------------------------------------------------------------

    @property
    def groups(self) -> GroupService:
        """The group coordinator and committed offsets, the door the group handlers call.

        Made on first use, or shortly after start-up: importing the coordinator and
        replaying ``__consumer_offsets`` stay off the path to the first answer.
        """
        if self._groups is None:
            from broker.groups.service import GroupService

            self._groups = GroupService(self.config.groups, self.storage, verify_txn_offsets=self._verify_txn_offsets,
                                        placement=None if self.cluster is None else self.cluster.gate,
                                        topics=None if self.cluster is None else self.cluster.cluster_topics)
            self._topic_listeners.append(self._groups)
            if self.freeze_loaded:
                gc.freeze()   # the coordinator and the offsets it loaded live as long as the process
            if self._background is not None:
                self._background.start_soon(self._run_groups, self._groups)
        return self._groups

    async def _run_groups(self, service: GroupService) -> None:
        with anyio.CancelScope() as self._groups_scope:
            await service.run()

    def reload_groups(self) -> GroupService | None:
        """Forget the group coordinator (its timers stop); the next use loads it again from
        ``__consumer_offsets`` (cluster mode: from the partitions led here). Cluster mode does
        this when the partitions of that topic this broker leads change. Returns the one forgotten."""
        old, self._groups = self._groups, None
        if self._groups_scope is not None:
            self._groups_scope.cancel()
            self._groups_scope = None
        if old is not None:
            self._topic_listeners.remove(old)
        return old

    @property
    def transactions(self) -> TransactionService:
        """The transaction coordinator, the door the transactional handlers call and the
        check a transactional produce passes. Made on first use, or shortly after start-up
        (it finishes the transactions a stop interrupted)."""
        if self._transactions is None:
            from broker.groups.offsets import OFFSETS_TOPIC
            from broker.transactions.service import TransactionPeers, TransactionService

            peers = TransactionPeers(
                new_producer_id=self.producer_ids.next_id, offsets_topic=OFFSETS_TOPIC,
                offsets_partition=lambda group_id: self.groups.offsets_partition(group_id),
                offsets_completed=lambda pid, partition, committed: self.groups.complete_transaction(
                    pid, partition, committed),
                notify_append=self.notify_append,
                placement=None if self.cluster is None else self.cluster.transaction_placement)
            self._transactions = TransactionService(self.config.transactions, self.storage, peers)
            if self._background is not None:
                self._background.start_soon(self._run_transactions, self._transactions)
        return self._transactions

    async def _run_transactions(self, service: TransactionService) -> None:
        with anyio.CancelScope() as self._transactions_scope:
            await service.run()

    def reload_transactions(self) -> TransactionService | None:
        """Forget the transaction coordinator (its sweeps stop); the next use loads it again
        from the partitions of ``__transaction_state`` this broker leads. Cluster mode does this
        when those change. Returns the one forgotten."""
        old, self._transactions = self._transactions, None
        if self._transactions_scope is not None:
            self._transactions_scope.cancel()
            self._transactions_scope = None
        return old

    def _verify_txn_offsets(self, api_version: int, transactional_id: str, producer_id: int, producer_epoch: int,
                            group_id: str):
        return self.transactions.verify_offsets(api_version, transactional_id, producer_id, producer_epoch, group_id)

    async def start_background(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        """Background work that lives as long as the server: the log's (retention, cleaning,
        flushes), the group timers, offset expiry, the transaction sweeps."""
        async with anyio.create_task_group() as tg:
            self._background = tg
            tg.start_soon(self.log_service.run)
            if self.cluster is not None:   # cluster mode: ZooKeeper, replication, maybe the controller
                await tg.start(self.cluster.run)
            if self._groups is not None:   # started again after a stop (broker.testing)
                tg.start_soon(self._run_groups, self._groups)
            if self._transactions is not None:
                tg.start_soon(self._run_transactions, self._transactions)
            task_status.started()
            await anyio.sleep(0.1)   # the first requests first
            self.groups  # noqa: B018 - made now if no request has needed it yet
            self.transactions  # noqa: B018 - likewise

    async def prepare_shutdown(self) -> None:
        """Before the server stops (SIGTERM): in cluster mode, a controlled shutdown."""
        if self.cluster is not None:
            with anyio.move_on_after(30):
                await self.cluster.controlled_shutdown()

    async def leave(self) -> None:
        """After serving: in cluster mode, leave the cluster (checkpoint, close the session)."""
        if self.cluster is not None:
            await self.cluster.close()

    def close(self) -> None:
        self.log_service.close()
        self.storage.close()
        self.producer_ids.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
