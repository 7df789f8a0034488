"""This broker as a member of a cluster: its ZooKeeper session, registration and controller
election, and the parts that serve replication (Kafka's KafkaServer in ZooKeeper mode).

Start-up: connect to ZooKeeper (retrying, and saying so, while it cannot be reached), agree
on the cluster id, register ``/brokers/ids/<id>`` (ephemeral; its creation zxid is the broker
epoch), then stand for controller. A registration of the same id by another live session is
waited out for a session timeout (a predecessor that crashed leaves it until its session
expires) and then refused with a clear message: two brokers may not share an id.

The session: suspended (connection lost) for a whole session timeout, or lost (expired),
this broker stops acting as leader and as controller (``ReplicaManager.fence``); when a new
session comes it registers again and the controller tells it what it leads. Stopping
(SIGTERM) is a controlled shutdown: the controller moves this broker's leaderships away
first, then the session is closed so its registration goes at once.
"""

from __future__ import annotations

import logging

import anyio

from broker.cluster import handlers  # noqa: F401  (registers the cluster's APIs and handler seams)
from broker.cluster.acls import AclChanges
from broker.cluster.channel import BrokerChannel
from broker.cluster.config import ClusterConfig
from broker.cluster.configs import ConfigChanges
from broker.cluster.controller.controller import Controller
from broker.cluster.coord import CoordinationError, NodeExists
from broker.cluster.coordinators import CoordinatorGate, ProducerIdBlocks
from broker.cluster.metadata_cache import ClusterTopics, MetadataCache
from broker.cluster.replica_manager import ReplicaManager
from broker.cluster.transactions import TransactionPlacement
from broker.cluster.serving import Replication
from broker.cluster.zk import ZooKeeperCoordination
from broker.cluster.znodes import BrokerInfo
from broker.core import StartRefused
from broker.security.settings import ANONYMOUS
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource
from kproto.errors import KafkaError
from kproto.messages import CONTROLLED_SHUTDOWN

log = logging.getLogger("kbroker.cluster")

INTER_BROKER_PRINCIPAL = ANONYMOUS   # brokers open PLAINTEXT connections to each other

CONNECT_RETRY_S = 2.0


class BrokerIdInUse(StartRefused):
    pass


class ClusterIdMismatch(StartRefused):
    pass


class ClusterNode:
    def __init__(self, broker, config: ClusterConfig, inter_broker_listener):
        self.broker = broker
        self.config = config
        self.broker_id = broker.node_id
        self.inter_broker_listener = inter_broker_listener   # a PLAINTEXT listener (broker.security.listeners)
        self.coord = ZooKeeperCoordination(config.zookeeper_connect, config.zookeeper_session_timeout_ms,
                                           config.zookeeper_connection_timeout_ms)
        self.metadata = MetadataCache(self.broker_id, inter_broker_listener.name)
        self.cluster_topics = ClusterTopics(self.metadata)   # what the group coordinators assign
        self.replicas = ReplicaManager(self)
        self.replication = Replication(self)
        broker.replication = self.replication
        self.gate = CoordinatorGate(self)
        self.transaction_placement = TransactionPlacement(self)   # the transaction coordinator's gate and markers
        self.config_changes = ConfigChanges(self)
        self.acl_changes = AclChanges(self) if broker.authorizer is not None else None   # ACLs from ZooKeeper
        broker.producer_ids = ProducerIdBlocks(self)   # producer ids from ZooKeeper's blocks
        self.broker_epoch = -1
        self.session_id = 0
        self.controller: Controller | None = None
        self.registered = anyio.Event()
        self.task_group = None
        self._suspended_scope: anyio.CancelScope | None = None
        self._controller_scope: anyio.CancelScope | None = None
        self._electing = False
        self._stopping = False

    @property
    def is_controller(self) -> bool:
        return self.controller is not None and self.controller.active

    # -- life ------------------------------------------------------------------------------------------------------

    async def run(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            self.task_group = tg
            await tg.start(self.replicas.run)
            task_status.started()
            await self._connect()
            self.coord.on_session_change(self._session_changed)
            await self._start_session()

    async def _connect(self) -> None:
        while True:
            try:
                await self.coord.connect()
                log.info("connected to ZooKeeper at %s", self.config.zookeeper_connect)
                return
            except CoordinationError as exc:
                log.error("%s; retrying in %.0f s (this broker leads nothing until then)", exc, CONNECT_RETRY_S)
                await anyio.sleep(CONNECT_RETRY_S)

    async def _start_session(self) -> None:
        """A new session: the cluster id, the registration, the controller election."""
        self.session_id = self.coord.session_id
        await self._agree_on_cluster_id()
        await self._register()
        if not self.registered.is_set():
            self.task_group.start_soon(self.config_changes.run)
            if self.acl_changes is not None:
                self.task_group.start_soon(self._follow_acls)
        self.registered.set()
        self.broker.producer_ids.prefetch()
        await self._elect()

    async def _follow_acls(self) -> None:
        """Follow the cluster's ACLs; once loaded, say so clearly if brokers cannot talk to each other."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.acl_changes.run)
            await self.acl_changes.loaded.wait()
            self.check_inter_broker_principal()

    def check_inter_broker_principal(self) -> bool:
        """Brokers connect to each other over the inter-broker listener (PLAINTEXT) as
        User:ANONYMOUS. As in Kafka, that principal needs CLUSTER_ACTION on the cluster (a super
        user, or an ACL); without it the brokers' requests fail authorization: an error here."""
        broker = self.broker
        allowed = broker.authorizer.authorize(INTER_BROKER_PRINCIPAL, broker.advertised[0], Op.CLUSTER_ACTION,
                                              Resource.CLUSTER, CLUSTER_NAME)
        if not allowed:
            log.error("the authorizer is on, but brokers connect to each other as %s (the inter-broker listener "
                      "%s is PLAINTEXT), which may not CLUSTER_ACTION on the cluster: replication, leader changes "
                      "and metadata updates will fail with CLUSTER_AUTHORIZATION_FAILED. Add %s to super.users "
                      "on every broker (and keep that listener private), as Kafka's inter-broker principal is",
                      INTER_BROKER_PRINCIPAL, self.inter_broker_listener.name, INTER_BROKER_PRINCIPAL)
        return allowed

    async def _agree_on_cluster_id(self) -> None:
        cluster_id = await self.coord.cluster_id(self.broker.cluster_id)
        if cluster_id == self.broker.cluster_id:
            return
        if self.broker.storage.topics():
            raise ClusterIdMismatch(
                f"the data in {self.broker.config.data_dir} belongs to cluster {self.broker.cluster_id}, "
                f"but ZooKeeper at {self.config.zookeeper_connect} holds cluster {cluster_id}")
        self.broker.adopt_cluster_id(cluster_id)

    async def _register(self) -> None:
        host, port = self.inter_broker_listener.advertised
        info = BrokerInfo(self.broker_id, host, port, self.config.broker_rack, listeners=tuple(
            (listener.name, listener.security_protocol, *listener.advertised)
            for listener in self.broker.config.listeners()))
        patience_s = self.config.zookeeper_session_timeout_ms / 1000 * 1.5 + 1
        deadline = anyio.current_time() + patience_s
        while True:
            try:
                self.broker_epoch = await self.coord.register_broker(info)
                log.info("registered as broker %d at %s:%d (epoch %d)", self.broker_id, host, port, self.broker_epoch)
                return
            except NodeExists:
                pass
            if anyio.current_time() >= deadline:
                raise BrokerIdInUse(
                    f"broker.id {self.broker_id} is already registered in ZooKeeper at "
                    f"{self.config.zookeeper_connect} by another running broker; give each broker its own "
                    f"--node-id (broker.id)")
            log.warning("broker.id %d is registered by another session (a broker that stopped without "
                        "closing its session keeps it until the session expires); waiting", self.broker_id)
            gone = anyio.Event()
            if not await self.coord.registration_gone(self.broker_id, gone.set):
                with anyio.move_on_after(deadline - anyio.current_time()):
                    await gone.wait()

    # -- the controller -----------------------------------------------------------------------------------------

    async def _elect(self) -> None:
        if self._electing or self._stopping:
            return
        self._electing = True
        try:
            current = await self.coord.controller_id(self._controller_changed)
            if current == -1 and self.controller is None:
                epoch = await self.coord.elect_controller(self.broker_id)
                if epoch is not None:
                    self.controller = Controller(self, epoch)
                    self.task_group.start_soon(self._run_controller, self.controller)
                else:
                    await self.coord.controller_id(self._controller_changed)
        except CoordinationError as exc:
            log.warning("controller election: %s", exc)
        finally:
            self._electing = False

    def _controller_changed(self) -> None:
        if self.coord.state == "connected" and not self._stopping:
            self.task_group.start_soon(self._elect)

    async def _run_controller(self, controller: Controller) -> None:
        with anyio.CancelScope() as self._controller_scope:
            try:
                await controller.run()
            finally:
                if self.controller is controller:
                    self.controller = None
        if self.coord.state == "connected" and not self._stopping:
            with anyio.CancelScope(shield=True):
                try:
                    await self.coord.resign_controller(self.broker_id)
                except CoordinationError:
                    pass
            await self._elect()

    def _stop_controller(self) -> None:
        if self._controller_scope is not None:
            self._controller_scope.cancel()
        self.controller = None

    # -- the session ---------------------------------------------------------------------------------------------

    def _session_changed(self, state: str) -> None:
        if self._stopping:
            return
        if state == "suspended":
            self.task_group.start_soon(self._fence_if_still_suspended)
        elif state == "lost":
            log.warning("ZooKeeper session expired: this broker is out of the cluster until it registers again")
            self.replicas.forget_leadership()
            self._stop_controller()
        elif state == "connected":
            if self._suspended_scope is not None:
                self._suspended_scope.cancel()
            if self.coord.session_id != self.session_id:
                self.task_group.start_soon(self._restart_session)
            elif self.broker_epoch >= 0:
                self.replicas.unfence()

    async def _fence_if_still_suspended(self) -> None:
        with anyio.CancelScope() as self._suspended_scope:
            log.warning("lost the connection to ZooKeeper; reconnecting")
            await anyio.sleep(self.config.zookeeper_session_timeout_ms / 1000)
            self.replicas.fence()
            self._stop_controller()

    async def _restart_session(self) -> None:
        try:
            await self._start_session()
        except CoordinationError as exc:
            log.warning("registering again: %s", exc)

    # -- stopping ------------------------------------------------------------------------------------------------------

    async def controlled_shutdown(self) -> None:
        """Ask the controller to move this broker's leaderships away (Kafka's controlled
        shutdown), retrying while some remain, within ``controlled.shutdown.max.retries``."""
        if not self.config.controlled_shutdown_enable or self.broker_epoch < 0 or self.coord.state != "connected":
            return
        started = anyio.current_time()
        for _ in range(max(self.config.controlled_shutdown_max_retries, 1)):
            remaining = await self._ask_controller()
            if remaining is not None and not remaining:
                log.info("controlled shutdown: leaderships moved in %.0f ms", (anyio.current_time() - started) * 1000)
                return
            log.info("controlled shutdown: %s partitions still led here; retrying",
                     "some" if remaining is None else len(remaining))
            await anyio.sleep(min(self.config.controlled_shutdown_retry_backoff_ms / 1000, 1.0))

    async def _ask_controller(self) -> list | None:
        """The partitions this broker still leads after the controller's moves; None if it
        could not be asked."""
        if self.is_controller:
            controller = self.controller
            try:
                code, remaining = await controller.call(
                    lambda: controller.controlled_shutdown(self.broker_id, self.broker_epoch))
            except KafkaError:
                return None   # it stopped being the controller meanwhile
            return remaining if not code else None
        endpoint = self.metadata.brokers.get(self.metadata.controller_id)
        if endpoint is None:
            return None
        channel = BrokerChannel(self.task_group, endpoint.host, endpoint.port,
                                client_id=f"broker-{self.broker_id}-shutdown")
        try:
            response = await channel.request(CONTROLLED_SHUTDOWN, 3, {
                "broker_id": self.broker_id, "broker_epoch": self.broker_epoch}, timeout_s=10)
        except (ConnectionError, TimeoutError) as exc:
            log.info("controlled shutdown: %s", exc)
            return None
        finally:
            await channel.aclose()
        return None if response["error_code"] else response["remaining_partitions"]

    async def close(self) -> None:
        """Leave: stop controlling, checkpoint, close the session (the registration goes at once)."""
        self._stopping = True
        self._stop_controller()
        self.replicas.close()
        self.transaction_placement.close()
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await self.coord.close()

