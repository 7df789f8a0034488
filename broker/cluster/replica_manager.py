"""The replicas this broker hosts: what the controller says of them, and the leader's chores.

LeaderAndIsr makes each named replica a leader or a follower (a follower joins the fetcher of
its leader); StopReplica stops one, deleting its log when the topic goes. The first word
about a topic creates its log here with the controller's topic id and the topic's configs.
A leader shrinks its ISR when a follower lags past ``replica.lag.time.max.ms`` and expands it
when one catches up, through the controller (AlterPartition, KIP-497; chosen over Kafka 2.6's
own ZooKeeper writes so that one writer, the controller, owns every partition state and
every broker learns of the change at once from its UpdateMetadata). The high watermarks are
kept in ``replication-offset-checkpoint`` as Kafka keeps them.

When this broker's ZooKeeper session is in doubt (lost, or suspended for a session timeout)
it is *fenced*: it no longer acts as a leader, since the controller may already have moved
its leaderships; it leads again only when the session is back (same session) or when the
controller says so again (a new session).
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import TYPE_CHECKING, Callable

import anyio

from broker.clock import now_ms
from broker.cluster.channel import BrokerChannel
from broker.cluster.fetcher import ReplicaFetcher
from broker.cluster.partition import Partition
from kproto.errors import ErrorCode
from kproto.messages import ALTER_PARTITION
from storage.errors import StorageError
from storage.topics import atomic_write

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.replication")

HIGH_WATERMARK_CHECKPOINT = "replication-offset-checkpoint"
ALTER_PARTITION_VERSION = 1
# AlterPartition answers after which the leader waits for the controller's LeaderAndIsr
GIVE_UP_ISR_CHANGE = {ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.INVALID_UPDATE_VERSION,
                      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_LEADER_OR_FOLLOWER,
                      ErrorCode.INELIGIBLE_REPLICA, ErrorCode.INVALID_REQUEST}


def read_checkpoint(path: str) -> dict[tuple[str, int], int]:
    """Kafka's offset checkpoint text: version 0, a count, then ``topic partition offset`` lines."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
        if len(lines) < 2 or lines[0] != "0" or int(lines[1]) != len(lines) - 2:
            raise ValueError("not a version 0 checkpoint")
        offsets = {}
        for line in lines[2:]:
            topic, partition, offset = line.split(" ")
            offsets[(topic, int(partition))] = int(offset)
        return offsets
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s: ignoring a malformed checkpoint: %s", path, exc)
        return {}


def write_checkpoint(path: str, offsets: dict[tuple[str, int], int]) -> None:
    lines = ["0", str(len(offsets))] + [f"{t} {p} {o}" for (t, p), o in sorted(offsets.items())]
    atomic_write(path, ("\n".join(lines) + "\n").encode())


class ReplicaManager:
    def __init__(self, node: ClusterNode):
        self.node = node
        self.broker = node.broker
        self.broker_id = node.broker_id
        self.config = node.config
        self.metadata = node.metadata
        self.partitions: dict[tuple[str, int], Partition] = {}
        self.controller_epoch = -1
        self.fenced = True   # until registered with ZooKeeper and told by a controller
        self.fetchers: dict[int, ReplicaFetcher] = {}
        self.task_group = None
        self.leadership_listeners: list[Callable[[str, int, bool], None]] = []
        self._proposals: dict[tuple[str, int], tuple[Partition, tuple[int, ...]]] = {}
        self._proposed = anyio.Event()
        self._lock = anyio.Lock()
        data_dir = self.broker.config.data_dir
        self._checkpoint_path = None if data_dir is None else os.path.join(str(data_dir), HIGH_WATERMARK_CHECKPOINT)
        self._checkpointed = read_checkpoint(self._checkpoint_path) if self._checkpoint_path else {}
        self._controller_channel: BrokerChannel | None = None

    async def run(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            self.task_group = tg
            tg.start_soon(self._shrink_isr_loop)
            tg.start_soon(self._send_isr_changes)
            tg.start_soon(self._checkpoint_loop)
            task_status.started()

    def close(self) -> None:
        for fetcher in self.fetchers.values():
            fetcher.stop()
        self.checkpoint_high_watermarks()

    # -- LeaderAndIsr, StopReplica ------------------------------------------------------------------------

    def _stale(self, controller_epoch: int, broker_epoch: int) -> int:
        if controller_epoch < self.controller_epoch:
            return ErrorCode.STALE_CONTROLLER_EPOCH
        if broker_epoch not in (-1, self.node.broker_epoch):
            return ErrorCode.STALE_BROKER_EPOCH
        return ErrorCode.NONE

    async def leader_and_isr(self, req: dict) -> dict:
        code = self._stale(req["controller_epoch"], req["broker_epoch"])
        if code:
            log.info("ignoring LeaderAndIsr of controller epoch %d (error %d)", req["controller_epoch"], code)
            return {"error_code": code, "topics": []}
        self.controller_epoch = req["controller_epoch"]
        leaders = {b["broker_id"]: (b["host_name"], b["port"]) for b in req["live_leaders"]}
        topics = []
        async with self._lock:
            for topic in req["topic_states"]:
                errors = []
                for state in topic["partition_states"]:
                    try:
                        code = await self._apply(topic["topic_name"], uuid.UUID(bytes=topic["topic_id"]), state,
                                                 leaders)
                    except (StorageError, OSError) as exc:
                        log.error("%s-%d: cannot host the replica: %s", topic["topic_name"],
                                  state["partition_index"], exc)
                        code = ErrorCode.KAFKA_STORAGE_ERROR
                    errors.append({"partition_index": state["partition_index"], "error_code": code})
                topics.append({"topic_id": topic["topic_id"], "partition_errors": errors})
        self.fenced = False
        return {"error_code": 0, "topics": topics}

    async def _apply(self, topic: str, topic_id: uuid.UUID, state: dict, leaders: dict) -> int:
        index = state["partition_index"]
        key = (topic, index)
        p = self.partitions.get(key)
        if p is not None and state["leader_epoch"] < p.leader_epoch:
            return ErrorCode.FENCED_LEADER_EPOCH
        if p is None:
            p = Partition(topic, index, await self._ensure_log(topic, topic_id, index), self.broker_id)
            if p.log.follows_log_end:   # first word since start: the checkpointed high watermark
                p.log.set_high_watermark(self._checkpointed.get(key, p.log.log_start_offset))
            self.partitions[key] = p
        p.controller_epoch = state["controller_epoch"]
        p.adding = tuple(state["adding_replicas"])
        was_leader = p.is_leader
        if state["leader"] == self.broker_id:
            self._stop_fetching(key)
            if p.make_leader(state["leader_epoch"], state["isr"], state["replicas"], state["partition_epoch"],
                             now_ms()):
                log.info("%s-%d: leading at epoch %d, ISR %s, log end %d, high watermark %d", topic, index,
                         p.leader_epoch, list(p.isr), p.log.log_end_offset, p.log.high_watermark)
            self.broker.notify_append(topic, index)
        else:
            if p.make_follower(state["leader"], state["leader_epoch"], state["isr"], state["replicas"],
                               state["partition_epoch"]) or not self._is_fetching(key):
                self._fetch_from(p, state["leader"], leaders)
        if was_leader != p.is_leader:
            for listener in self.leadership_listeners:
                listener(topic, index, p.is_leader)
        return ErrorCode.NONE

    async def _ensure_log(self, topic: str, topic_id: uuid.UUID, index: int):
        """The local log of a replica: the topic made here with the controller's id and the
        topic's configs the first time; a local topic of the same name and another id (deleted
        and made again while this broker was away) goes first."""
        storage = self.broker.storage
        info = storage.topic(topic)
        if info is not None and info.topic_id != topic_id:
            log.warning("topic %s was deleted and created again: dropping this broker's old copy", topic)
            self.broker.delete_topic(topic)
            info = None
        count = max(index + 1, self.metadata.num_partitions(topic))
        if info is None:
            try:
                configs = await self.node.coord.topic_configs(topic)
            except Exception as exc:   # the defaults until the configs can be read
                log.warning("cannot read the configs of topic %s: %s", topic, exc)
                configs = {}
            info = storage.create_topic(topic, count, configs, internal=topic.startswith("__"), topic_id=topic_id)
        elif info.num_partitions < count:
            storage.create_partitions(topic, count)
        return storage.partition(topic, index)

    async def stop_replica(self, req: dict) -> dict:
        code = self._stale(req["controller_epoch"], req["broker_epoch"])
        if code:
            return {"error_code": code, "partition_errors": []}
        errors, deleted_topics = [], set()
        async with self._lock:
            for topic in req["topic_states"]:
                name = topic["topic_name"]
                for state in topic["partition_states"]:
                    key = (name, state["partition_index"])
                    p = self.partitions.get(key)
                    if p is not None and 0 <= state["leader_epoch"] < p.leader_epoch:
                        errors.append({"topic_name": name, "partition_index": key[1],
                                       "error_code": ErrorCode.FENCED_LEADER_EPOCH})
                        continue
                    self._stop_fetching(key)
                    if p is not None:
                        was_leader = p.is_leader
                        p.resign()
                        if was_leader:
                            for listener in self.leadership_listeners:
                                listener(name, key[1], False)
                    if state["delete_partition"]:
                        self.partitions.pop(key, None)
                        deleted_topics.add(name)
                    errors.append({"topic_name": name, "partition_index": key[1], "error_code": 0})
            for name in deleted_topics:
                if not any(t == name for t, _ in self.partitions) and self.broker.storage.topic(name) is not None:
                    log.info("deleting this broker's replicas of topic %s", name)
                    self.broker.delete_topic(name)
        return {"error_code": 0, "partition_errors": errors}

    # -- fetchers ----------------------------------------------------------------------------------------------------

    def _is_fetching(self, key: tuple[str, int]) -> bool:
        return any(key in f.followed for f in self.fetchers.values())

    def _stop_fetching(self, key: tuple[str, int]) -> None:
        for fetcher in self.fetchers.values():
            fetcher.remove(key)

    def _fetch_from(self, p: Partition, leader_id: int, leaders: dict) -> None:
        key = (p.topic, p.index)
        self._stop_fetching(key)
        if leader_id < 0:
            return   # no leader now: the controller will say when there is one
        address = leaders.get(leader_id)
        if address is None:
            endpoint = self.metadata.brokers.get(leader_id)
            if endpoint is None:
                log.warning("%s-%d: leader %d has no known address", p.topic, p.index, leader_id)
                return
            address = (endpoint.host, endpoint.port)
        fetcher = self.fetchers.get(leader_id)
        if fetcher is not None and (fetcher.channel.host, fetcher.channel.port) != address:
            fetcher.channel.retarget(*address)
        if fetcher is None:
            fetcher = self.fetchers[leader_id] = ReplicaFetcher(self, leader_id, *address)
            self.task_group.start_soon(fetcher.run)
        fetcher.add(p)

    # -- the ZooKeeper session -------------------------------------------------------------------------------

    def fence(self) -> None:
        """Stop leading until the session is known good: waiting produces get NOT_LEADER_OR_FOLLOWER."""
        if not self.fenced:
            log.warning("ZooKeeper session in doubt: not serving as leader until it is back")
        self.fenced = True
        for p in self.partitions.values():
            p.release_waiters()

    def unfence(self) -> None:
        if self.fenced:
            log.info("ZooKeeper session is back: leading again")
        self.fenced = False

    def forget_leadership(self) -> None:
        """The session expired: the controller may have moved every leadership; wait for its word."""
        self.fenced = True
        for p in self.partitions.values():
            if p.is_leader:
                p.resign()
                for listener in self.leadership_listeners:
                    listener(p.topic, p.index, False)

    # -- ISR changes (AlterPartition) --------------------------------------------------------------------------

    def propose_isr(self, p: Partition, isr: tuple[int, ...]) -> None:
        if self.fenced or not p.is_leader or p.pending_isr is not None or tuple(isr) == p.isr:
            return
        p.pending_isr = tuple(isr)
        self._proposals[(p.topic, p.index)] = (p, p.pending_isr)
        log.info("%s-%d: asking the controller to change the ISR from %s to %s", p.topic, p.index,
                 list(p.isr), list(isr))
        self._proposed.set()

    async def _shrink_isr_loop(self) -> None:
        lag_ms = self.config.replica_lag_time_max_ms
        while True:
            await anyio.sleep(max(lag_ms / 2000, 0.05))
            if self.fenced:
                continue
            now = now_ms()
            for p in list(self.partitions.values()):
                if p.is_leader:
                    out = p.out_of_sync(now, lag_ms)
                    if out:
                        self.propose_isr(p, tuple(r for r in p.isr if r not in out))

    async def _send_isr_changes(self) -> None:
        backoff_s = 0.2
        while True:
            await self._proposed.wait()
            self._proposed = anyio.Event()
            proposals, self._proposals = self._proposals, {}
            try:
                answered = await self._alter_partition(proposals)
            except (ConnectionError, TimeoutError, LookupError) as exc:
                log.info("AlterPartition: %s; retrying", exc)
                answered = {}
            retry = {k: v for k, v in proposals.items() if k not in answered and v[0].pending_isr == v[1]}
            if retry:
                for key, value in retry.items():
                    self._proposals.setdefault(key, value)
                await anyio.sleep(backoff_s)
                self._proposed.set()

    async def _alter_partition(self, proposals: dict) -> set:
        """Send the proposals to the controller; the keys it answered for."""
        controller = self.metadata.brokers.get(self.metadata.controller_id)
        if controller is None:
            raise LookupError("no controller known")
        channel = self._controller_channel
        if channel is None:
            channel = self._controller_channel = BrokerChannel(
                self.task_group, controller.host, controller.port, client_id=f"broker-{self.broker_id}-isr")
        channel.retarget(controller.host, controller.port)
        topics: dict[str, list[dict]] = {}
        for (topic, index), (p, isr) in proposals.items():
            topics.setdefault(topic, []).append({
                "partition_index": index, "leader_epoch": p.leader_epoch, "new_isr": list(isr),
                "leader_recovery_state": 0, "partition_epoch": p.partition_epoch})
        response = await channel.request(ALTER_PARTITION, ALTER_PARTITION_VERSION, {
            "broker_id": self.broker_id, "broker_epoch": self.node.broker_epoch,
            "topics": [{"topic_name": t, "partitions": parts} for t, parts in topics.items()]},
            timeout_s=self.config.controller_socket_timeout_ms / 1000)
        if response["error_code"]:
            raise ConnectionError(f"the controller answered error {response['error_code']}")
        answered = set()
        for topic in response["topics"]:
            for answer in topic["partitions"]:
                key = (topic["topic_name"], answer["partition_index"])
                answered.add(key)
                p, isr = proposals.get(key, (None, None))
                if p is None or p.pending_isr != isr or self.partitions.get(key) is not p:
                    continue
                code = answer["error_code"]
                if code == 0 and answer["leader_epoch"] == p.leader_epoch:
                    log.info("%s-%d: ISR now %s", p.topic, p.index, answer["isr"])
                    if p.isr_committed(answer["isr"], answer["partition_epoch"]):
                        self.broker.notify_append(p.topic, p.index)
                elif code in GIVE_UP_ISR_CHANGE or code == 0:
                    log.info("%s-%d: the controller did not change the ISR to %s (error %d, leader epoch %d; "
                             "ours %d)", p.topic, p.index, list(isr), code, answer["leader_epoch"], p.leader_epoch)
                    p.pending_isr = None
                else:
                    answered.discard(key)   # retriable (NOT_CONTROLLER, ...): try again
        return answered

    # -- the high watermark checkpoint ------------------------------------------------------------------------

    def checkpoint_high_watermarks(self) -> None:
        if self._checkpoint_path is None:
            return
        offsets = dict(self._checkpointed)
        offsets.update({key: p.log.high_watermark for key, p in self.partitions.items()})
        offsets = {k: v for k, v in offsets.items() if self.broker.storage.topic(k[0]) is not None}
        try:
            write_checkpoint(self._checkpoint_path, offsets)
            self._checkpointed = offsets
        except OSError as exc:
            log.warning("cannot write %s: %s", self._checkpoint_path, exc)

    async def _checkpoint_loop(self) -> None:
        while True:
            await anyio.sleep(self.config.replica_high_watermark_checkpoint_interval_ms / 1000)
            self.checkpoint_high_watermarks()
