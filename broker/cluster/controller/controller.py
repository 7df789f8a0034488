"""The controller's shell: one broker at a time runs it, elected through ZooKeeper.

It reads the cluster from ZooKeeper (brokers, topics, partition states), watches it, and
handles one event at a time, in order (Kafka's ControllerEventManager): brokers coming and
going, topics created, grown or deleted, ISR changes asked by leaders (AlterPartition),
controlled shutdowns, leader elections asked by admins (ElectLeaders) and the periodic
preferred-leader rebalance. Each decision is written to ZooKeeper first, conditionally
(``coord.update_partition_state``), then sent to the brokers with Kafka's own requests:
LeaderAndIsr to the replicas, UpdateMetadata to every broker, StopReplica to replicas that
stop. Each broker has its own queue, sent in order, retried until the broker goes away.

If a write finds another controller elected (ControllerMoved), or this broker's session is
lost, the controller stops; the node elects again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Awaitable, Callable

import anyio

from broker.cluster.channel import BrokerChannel
from broker.cluster.controller import election
from broker.cluster.controller.reassignment import Reassignments
from broker.cluster.controller.state import (LEADER_AND_ISR_VERSION, STOP_REPLICA_VERSION, UPDATE_METADATA_VERSION,
                                             ControllerContext, TopicPartition, new_partition_state)
from broker.cluster.coord import BadVersion, ControllerMoved, CoordinationError, NoNode
from broker.cluster.znodes import NO_LEADER, LeaderAndIsr
from kproto.errors import ErrorCode, KafkaError
from kproto.messages import LEADER_AND_ISR, STOP_REPLICA, UPDATE_METADATA

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.controller")


class Resign(Exception):
    """This broker is no longer the controller."""


class BrokerQueue:
    """Requests to one broker, sent in order over one connection; each retried until it is
    answered or the queue is stopped (the broker went away)."""

    def __init__(self, controller: Controller, broker_id: int, host: str, port: int):
        self.controller = controller
        self.broker_id = broker_id
        self.channel = BrokerChannel(controller.task_group, host, port,
                                     client_id=f"controller-{controller.node.broker_id}")
        self.queue: list[tuple] = []
        self._wake = anyio.Event()
        self._scope = anyio.CancelScope()

    def send(self, message, version: int, body: dict) -> None:
        self.queue.append((message, version, body))
        self._wake.set()

    def stop(self) -> None:
        self._scope.cancel()

    async def run(self) -> None:
        with self._scope:
            try:
                while True:
                    if not self.queue:
                        self._wake = anyio.Event()
                        await self._wake.wait()
                        continue
                    message, version, body = self.queue[0]
                    try:
                        response = await self.channel.request(message, version, body, timeout_s=30)
                    except (ConnectionError, TimeoutError) as exc:
                        log.debug("%s to broker %d: %s; retrying", message.name, self.broker_id, exc)
                        await anyio.sleep(0.2)
                        continue
                    self.queue.pop(0)
                    if response.get("error_code"):
                        log.warning("broker %d answered %s with error %d", self.broker_id, message.name,
                                    response["error_code"])
            finally:
                await self.channel.aclose()


class Controller:
    def __init__(self, node: ClusterNode, epoch: int):
        self.node = node
        self.coord = node.coord
        self.config = node.config
        self.ctx = ControllerContext(node.broker_id, epoch)
        self.task_group = None
        self.queues: dict[int, BrokerQueue] = {}
        self._events: list[tuple[Callable[[], Awaitable], anyio.Event | None]] = []
        self._wake = anyio.Event()
        self._watched_topics: set[str] = set()
        self.reassignments = Reassignments(self)
        self.active = False
        self._stopped = False   # run() has ended: no event will run any more

    # -- events ------------------------------------------------------------------------------------------------

    def submit(self, handler: Callable[[], Awaitable], done: anyio.Event | None = None) -> None:
        self._events.append((handler, done))
        self._wake.set()

    async def call(self, handler: Callable[[], Awaitable]):
        """Run ``handler`` as an event and return its result (for requests answered by the controller);
        KafkaError(NOT_CONTROLLER) if the controller stops first, as Kafka answers a request the
        controller that took it no longer serves."""
        if self._stopped:
            raise KafkaError(ErrorCode.NOT_CONTROLLER, "the controller stopped before answering")
        done = anyio.Event()
        box: dict = {}

        async def run():
            try:
                box["result"] = await handler()
            except Exception as exc:
                box["error"] = exc
                raise
        self.submit(run, done)
        await done.wait()
        if "error" in box:
            raise box["error"]
        if "result" not in box:   # the controller stopped (resigned, moved, shut down) before running it
            raise KafkaError(ErrorCode.NOT_CONTROLLER, "the controller stopped before answering")
        return box["result"]

    async def run(self) -> None:
        """Control the cluster until resigning (Resign, ControllerMoved) or cancelled."""
        async with anyio.create_task_group() as tg:
            self.task_group = tg
            try:
                await self._startup()
                self.active = True
                tg.start_soon(self._rebalance_loop)
                while True:
                    if not self._events:
                        self._wake = anyio.Event()
                        await self._wake.wait()
                        continue
                    handler, done = self._events.pop(0)
                    try:
                        await handler()
                    except (Resign, ControllerMoved):
                        raise
                    except CoordinationError as exc:
                        log.warning("controller: ZooKeeper: %s", exc)
                    except Exception:
                        log.exception("controller event failed")
                    finally:
                        if done is not None:
                            done.set()
            except (Resign, ControllerMoved) as exc:
                log.info("no longer the controller: %s", exc or type(exc).__name__)
            finally:
                self.active = False
                self._stopped = True
                for _, done in self._events:
                    if done is not None:
                        done.set()
                for queue in self.queues.values():
                    queue.stop()
                tg.cancel_scope.cancel()

    # -- start-up (Kafka's onControllerFailover) --------------------------------------------------------------

    async def _startup(self) -> None:
        ctx = self.ctx
        log.info("broker %d is the controller, epoch %d", ctx.broker_id, ctx.epoch)
        ctx.brokers = await self.coord.live_brokers(self._watch(self._brokers_changed))
        for broker in ctx.brokers.values():
            self._open_queue(broker.broker_id)
        for topic in await self.coord.topics(self._watch(self._topics_changed)):
            await self._load_topic(topic)
        self._send_update_metadata(full=True)
        await self._initialize(ctx.without_state())
        await self._elect_offline(ctx.offline())
        for broker_id in ctx.live:
            self._send_leader_and_isr(broker_id, ctx.partitions_on(broker_id))
        await self._deletions_changed()
        await self.reassignments.maybe_complete(self.reassignments.ongoing())   # those a predecessor started

    async def _load_topic(self, topic: str) -> None:
        found = await self.coord.topic(topic, self._watch(lambda: self._topic_changed(topic)))
        self._watched_topics.add(topic)
        if found is None:
            return
        self.ctx.assignments[topic], self.ctx.topic_versions[topic] = found
        for partition, state in (await self.coord.partition_states(topic)).items():
            if partition in found[0].partitions:
                self.ctx.states[(topic, partition)] = state

    def _watch(self, handler: Callable[[], Awaitable]) -> Callable[[], None]:
        """A ZooKeeper watch that queues ``handler`` as an event."""
        return lambda: self.submit(handler)

    # -- brokers ---------------------------------------------------------------------------------------------

    def _open_queue(self, broker_id: int) -> None:
        broker = self.ctx.brokers[broker_id]
        queue = self.queues.get(broker_id)
        if queue is not None:
            queue.channel.retarget(broker.host, broker.port)
            return
        queue = self.queues[broker_id] = BrokerQueue(self, broker_id, broker.host, broker.port)
        self.task_group.start_soon(queue.run)

    async def _brokers_changed(self) -> None:
        ctx = self.ctx
        before = dict(ctx.brokers)
        now = await self.coord.live_brokers(self._watch(self._brokers_changed))
        bounced = {b for b in now if b in before and now[b].epoch != before[b].epoch}
        dead = (set(before) - set(now)) | bounced
        born = (set(now) - set(before)) | bounced
        if not dead and not born:
            ctx.brokers = now
            return
        log.info("brokers now %s (gone %s, new %s)", sorted(now), sorted(dead), sorted(born))
        ctx.brokers = {b: info for b, info in now.items()}
        for broker_id in dead:
            ctx.shutting_down.discard(broker_id)
            queue = self.queues.pop(broker_id, None)
            if queue is not None:
                queue.stop()
        for broker_id in born:
            self._open_queue(broker_id)
        if born:   # Kafka's onBrokerStartup: the new brokers learn everything
            self._send_update_metadata(brokers=born, full=True)
        if dead:
            await self._brokers_failed(dead - born)
        for broker_id in born:
            self._send_leader_and_isr(broker_id, ctx.partitions_on(broker_id))
        await self._elect_offline([tp for tp in ctx.offline() if set(ctx.replicas(tp)) & born])
        await self._initialize(ctx.without_state())
        self._send_update_metadata(brokers=set(ctx.live) - born)

    async def _brokers_failed(self, dead: set[int]) -> None:
        """Kafka's onBrokerFailure: elect leaders for what they led, drop them from other ISRs."""
        ctx = self.ctx
        await self._elect_offline(ctx.offline())
        shrink = {}
        for tp, state in ctx.states.items():
            gone = set(state.isr) & dead
            if gone and state.leader in ctx.live and tp[0] not in ctx.deleting:
                isr = [r for r in state.isr if r not in dead]
                shrink[tp] = state.with_leader(state.leader, isr, ctx.epoch)
        await self._write_and_send(shrink)

    # -- elections ------------------------------------------------------------------------------------------------

    async def _elect_offline(self, partitions: list[TopicPartition]) -> None:
        ctx = self.ctx
        changes = {}
        for tp in partitions:
            state = ctx.states[tp]
            chosen = election.offline_partition(ctx.replicas(tp), state.isr, ctx.live_not_stopping)
            if chosen is None and await self._unclean(tp[0]):
                chosen = election.offline_partition(ctx.replicas(tp), state.isr, ctx.live_not_stopping, unclean=True)
            if chosen is None:
                if state.leader != NO_LEADER:   # no one may lead: the partition is offline
                    changes[tp] = state.with_leader(NO_LEADER, state.isr, ctx.epoch)
                    log.warning("%s-%d has no eligible leader (ISR %s); offline", *tp, list(state.isr))
                continue
            leader, isr = chosen
            if leader not in state.isr:
                log.warning("%s-%d: unclean election of %d (ISR was %s)", *tp, leader, list(state.isr))
            changes[tp] = state.with_leader(leader, isr, ctx.epoch)
        await self._write_and_send(changes)

    async def _unclean(self, topic: str) -> bool:
        """unclean.leader.election.enable: the topic's own setting, else the broker's."""
        value = (await self.coord.topic_configs(topic)).get("unclean.leader.election.enable")
        return value.strip().lower() == "true" if value else self.config.unclean_leader_election_enable

    async def _initialize(self, partitions: list[TopicPartition]) -> None:
        """New partitions get their first state: the live replicas, the first leading."""
        ctx = self.ctx
        created = []
        for tp in partitions:
            state = new_partition_state(ctx.replicas(tp), ctx.live, ctx.epoch)
            if state is None:
                log.warning("%s-%d: no replica is alive; it waits for one", *tp)
                continue
            ctx.states[tp] = await self.coord.create_partition_state(tp[0], tp[1], state)
            created.append(tp)
        if created:
            for broker_id in ctx.live:
                self._send_leader_and_isr(broker_id, created, is_new=True)
            self._send_update_metadata(created)

    async def _write_and_send(self, changes: dict[TopicPartition, LeaderAndIsr]) -> dict[TopicPartition, int]:
        """Write each new state (conditionally), then LeaderAndIsr to its replicas and
        UpdateMetadata to everyone; returns the partitions whose write failed, with the error."""
        ctx = self.ctx
        failed, written = {}, []
        for tp, state in changes.items():
            try:
                ctx.states[tp] = await self.coord.update_partition_state(tp[0], tp[1], state)
                written.append(tp)
            except BadVersion:   # changed under us: read it again; the next event decides
                current = (await self.coord.partition_states(tp[0])).get(tp[1])
                if current is not None:
                    ctx.states[tp] = current
                failed[tp] = ErrorCode.INVALID_UPDATE_VERSION
            except NoNode:
                failed[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if written:
            for broker_id in ctx.live:
                self._send_leader_and_isr(broker_id, written)
            self._send_update_metadata(written)
        return failed

    # -- topics --------------------------------------------------------------------------------------------------------

    async def _topics_changed(self) -> None:
        topics = set(await self.coord.topics(self._watch(self._topics_changed)))
        new = topics - set(self.ctx.assignments)
        for topic in sorted(new):
            await self._load_topic(topic)
            log.info("new topic %s: %s", topic, self.ctx.assignments.get(topic))
        await self._initialize(self.ctx.without_state())

    async def _topic_changed(self, topic: str) -> None:
        """A topic's assignment changed: partitions added (CreatePartitions)."""
        found = await self.coord.topic(topic, self._watch(lambda: self._topic_changed(topic)))
        if found is None or topic in self.ctx.deleting:
            return
        self.ctx.assignments[topic], self.ctx.topic_versions[topic] = found
        await self._initialize(self.ctx.without_state())

    async def _deletions_changed(self) -> None:
        """Kafka's TopicDeletionManager, in one step: every broker learns the topic is gone
        (leader -2), its replicas stop and delete it, then its znodes go."""
        ctx = self.ctx
        for topic in await self.coord.topics_to_delete(self._watch(self._deletions_changed)):
            assignment = ctx.assignments.get(topic)
            if assignment is None or not self.config.delete_topic_enable:
                if assignment is None:
                    await self.coord.delete_topic(topic)
                continue
            log.info("deleting topic %s", topic)
            ctx.deleting.add(topic)
            partitions = ctx.partitions_of(topic)
            for broker_id in ctx.live:
                body = ctx.stop_replica(broker_id, [tp for tp in partitions if broker_id in ctx.replicas(tp)],
                                        delete=True)
                if body is not None:
                    self._send(broker_id, STOP_REPLICA, STOP_REPLICA_VERSION, body)
            for tp in partitions:
                ctx.states.pop(tp, None)
            del ctx.assignments[topic]
            ctx.topic_versions.pop(topic, None)
            self._send_update_metadata([], deleted=[(topic, assignment)])
            await self.coord.delete_topic(topic)
            ctx.deleting.discard(topic)

    # -- requests from brokers -------------------------------------------------------------------------------------

    async def alter_partition(self, req: dict) -> dict:
        """AlterPartition from a leader: its new ISR, if it still leads at that epoch and version.
        A stale version asking for the ISR the partition already has is answered with the
        current state (Kafka's equalsAllowStalePartitionEpoch): the leader missed the answer."""
        ctx = self.ctx
        broker = ctx.brokers.get(req["broker_id"])
        if broker is None or req["broker_epoch"] not in (-1, broker.epoch):
            return {"throttle_time_ms": 0, "error_code": ErrorCode.STALE_BROKER_EPOCH, "topics": []}
        topics, changes, answers = [], {}, {}
        for topic in req["topics"]:
            for part in topic["partitions"]:
                tp = (topic["topic_name"], part["partition_index"])
                state = ctx.states.get(tp)
                code = ErrorCode.NONE
                if state is None or tp[0] in ctx.deleting:
                    code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                elif state.leader != req["broker_id"] or part["leader_epoch"] != state.leader_epoch:
                    code = ErrorCode.FENCED_LEADER_EPOCH
                elif part["partition_epoch"] != state.zk_version:
                    if sorted(part["new_isr"]) == sorted(state.isr):
                        continue   # a retry of a change already made (its answer lost): the state as it is
                    code = ErrorCode.INVALID_UPDATE_VERSION
                elif any(r not in ctx.live_not_stopping for r in part["new_isr"] if r not in state.isr) or \
                        any(r not in ctx.replicas(tp) for r in part["new_isr"]) or state.leader not in part["new_isr"]:
                    code = ErrorCode.INELIGIBLE_REPLICA
                if code:
                    answers[tp] = code
                else:
                    changes[tp] = state.with_isr(part["new_isr"], ctx.epoch)
        failed = {}
        for tp, state in changes.items():
            try:
                ctx.states[tp] = await self.coord.update_partition_state(tp[0], tp[1], state)
                log.info("%s-%d: ISR %s at the leader's request", *tp, list(state.isr))
            except BadVersion:
                failed[tp] = ErrorCode.INVALID_UPDATE_VERSION
        answers.update(failed)
        if set(changes) - set(failed):
            self._send_update_metadata(sorted(set(changes) - set(failed)))
            await self.reassignments.maybe_complete(sorted(set(changes) - set(failed)))
        by_topic: dict[str, list[dict]] = {}
        for topic in req["topics"]:
            for part in topic["partitions"]:
                tp = (topic["topic_name"], part["partition_index"])
                state = ctx.states.get(tp)
                code = answers.get(tp, ErrorCode.NONE)
                by_topic.setdefault(tp[0], []).append({
                    "partition_index": tp[1], "error_code": code,
                    "leader_id": state.leader if state else -1, "leader_epoch": state.leader_epoch if state else -1,
                    "isr": list(state.isr) if state else [], "leader_recovery_state": 0,
                    "partition_epoch": state.zk_version if state else -1})
        topics = [{"topic_name": t, "partitions": parts} for t, parts in by_topic.items()]
        return {"throttle_time_ms": 0, "error_code": 0, "topics": topics}

    async def controlled_shutdown(self, broker_id: int, broker_epoch: int) -> tuple[int, list[TopicPartition]]:
        """Move every leadership off ``broker_id`` and take it out of the ISRs; returns the
        partitions it still leads (no other replica in their ISR)."""
        ctx = self.ctx
        broker = ctx.brokers.get(broker_id)
        if broker is None:
            return ErrorCode.BROKER_NOT_AVAILABLE, []
        if broker_epoch not in (-1, broker.epoch):
            return ErrorCode.STALE_BROKER_EPOCH, []
        ctx.shutting_down.add(broker_id)
        log.info("controlled shutdown of broker %d", broker_id)
        changes = {}
        for tp, state in ctx.states.items():
            if tp[0] in ctx.deleting or len(ctx.replicas(tp)) < 2:
                continue
            if state.leader == broker_id:
                chosen = election.controlled_shutdown(ctx.replicas(tp), state.isr, ctx.live, ctx.shutting_down)
                if chosen is not None:
                    changes[tp] = state.with_leader(chosen[0], chosen[1], ctx.epoch)
            elif broker_id in state.isr and state.leader in ctx.live:
                changes[tp] = state.with_leader(state.leader, [r for r in state.isr if r != broker_id], ctx.epoch)
        await self._write_and_send(changes)
        remaining = [tp for tp in ctx.led_by(broker_id) if len(ctx.replicas(tp)) > 1]
        return ErrorCode.NONE, remaining

    async def elect_leaders(self, preferred: bool, partitions: list[TopicPartition] | None) -> dict:
        """ElectLeaders: per partition its error (ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
        ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION) or 0 and the new leadership."""
        ctx = self.ctx
        wanted = list(ctx.states) if partitions is None else partitions
        results, changes = {}, {}
        for tp in wanted:
            state = ctx.states.get(tp)
            if state is None or tp[0] in ctx.deleting:
                results[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            replicas = ctx.replicas(tp)
            if preferred:
                if replicas and state.leader == replicas[0]:
                    results[tp] = ErrorCode.ELECTION_NOT_NEEDED
                    continue
                chosen = election.preferred_replica(replicas, state.isr, ctx.live_not_stopping)
                missing = ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
            else:
                if state.leader in ctx.live:
                    results[tp] = ErrorCode.ELECTION_NOT_NEEDED
                    continue
                chosen = election.offline_partition(replicas, state.isr, ctx.live_not_stopping, unclean=True)
                missing = ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
            if chosen is None:
                results[tp] = missing
            else:
                changes[tp] = state.with_leader(chosen[0], chosen[1], ctx.epoch)
        failed = await self._write_and_send(changes)
        for tp in changes:
            results[tp] = failed.get(tp, ErrorCode.NONE)
        if partitions is None:   # as Kafka: asked for all, only the partitions that were elected are named
            results = {tp: code for tp, code in results.items() if code != ErrorCode.ELECTION_NOT_NEEDED}
        return results

    async def _rebalance_loop(self) -> None:
        """auto.leader.rebalance.enable: every check interval, give brokers whose preferred
        leaderships others hold beyond the imbalance ratio those leaderships back."""
        if not self.config.auto_leader_rebalance_enable:
            return
        while True:
            await anyio.sleep(self.config.leader_imbalance_check_interval_seconds)
            self.submit(self._rebalance)

    async def _rebalance(self) -> None:
        ctx = self.ctx
        by_broker: dict[int, list[TopicPartition]] = {}
        for tp, state in ctx.states.items():
            replicas = ctx.replicas(tp)
            if replicas and tp[0] not in ctx.deleting:
                by_broker.setdefault(replicas[0], []).append(tp)
        for broker_id, preferred in by_broker.items():
            if broker_id not in ctx.live_not_stopping:
                continue
            imbalanced = [tp for tp in preferred if ctx.states[tp].leader != broker_id]
            ratio = len(imbalanced) / len(preferred) if preferred else 0
            if ratio > self.config.leader_imbalance_per_broker_percentage / 100:
                log.info("rebalancing %d leaderships back to broker %d", len(imbalanced), broker_id)
                await self.elect_leaders(True, imbalanced)

    # -- sending ------------------------------------------------------------------------------------------

    def _send(self, broker_id: int, message, version: int, body: dict) -> None:
        queue = self.queues.get(broker_id)
        if queue is not None:
            queue.send(message, version, body)

    def _send_leader_and_isr(self, broker_id: int, partitions, *, is_new: bool = False) -> None:
        body = self.ctx.leader_and_isr(broker_id, partitions, is_new=is_new)
        if body is not None:
            self._send(broker_id, LEADER_AND_ISR, LEADER_AND_ISR_VERSION, body)

    def _send_update_metadata(self, partitions=None, *, brokers=None, deleted=(), full: bool = False) -> None:
        body = self.ctx.update_metadata(partitions, deleted=deleted, full=full or partitions is None)
        for broker_id in (self.ctx.live if brokers is None else brokers):
            self._send(broker_id, UPDATE_METADATA, UPDATE_METADATA_VERSION, body)
