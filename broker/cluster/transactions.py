"""The transaction coordinator in a cluster: a transactional id's coordinator is the leader of
its partition of ``__transaction_state``, as in Kafka; the same path as the groups take.

The gate: InitProducerId (with a transactional id), AddPartitionsToTxn, AddOffsetsToTxn,
EndTxn and DescribeTransactions are answered for an id only by the broker that leads its
partition (else NOT_COORDINATOR, so the client looks again), and not while that broker loads
the partition (COORDINATOR_LOAD_IN_PROGRESS); an id the client may not write (or describe) is
refused first, on any broker, as Kafka authorizes before it asks the coordinator. A broker whose set of led partitions changes
loads the coordinator again from them (``Broker.reload_transactions``): the transactions a
dead coordinator left open or half-ended are taken over and finished, since the replication
kept their state. An answer waits until what it wrote to ``__transaction_state`` is in the
ISR, so a transaction's state survives its coordinator's loss.

Markers (``TransactionPlacement``): the coordinator writes a marker itself in a partition it
leads, and sends WriteTxnMarkers to the leader of any other; the transaction completes once
every leader has answered. A leader answers WriteTxnMarkers only for the partitions it leads
(NOT_LEADER_OR_FOLLOWER for the others), once the markers are in the ISR.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

import anyio

from broker.cluster.channel import BrokerChannel
from broker.cluster.coordinators import coordinator_error, replicated
from broker.cluster.replacing import replace
from broker.registry import SERVED
from broker.transactions.log import TRANSACTION_STATE_TOPIC, partition_for
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import (ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, DESCRIBE_TRANSACTIONS, END_TXN,
                             INIT_PRODUCER_ID, WRITE_TXN_MARKERS)

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode
    from broker.transactions.coordinator import MarkerJob

log = logging.getLogger("kbroker.cluster")

RELOAD_GATHER_S = 0.05   # leaderships that come together are loaded once
MARKER_RETRY_S = 0.25    # a marker its leader did not take is sent again after this
MARKER_TIMEOUT_S = 10
WRITE_TXN_MARKERS_VERSION = 1


class TransactionPlacement:
    """What the transaction service asks of the cluster: which partitions are led here, which
    ids are coordinated here, and markers sent to other leaders. Also the gate of the
    transactional requests."""

    def __init__(self, node: ClusterNode):
        self.node = node
        self.led: set[int] = set()
        self.loading: set[int] = set()
        self._reloading = False
        self._channels: dict[int, BrokerChannel] = {}
        node.replicas.leadership_listeners.append(self._leadership_changed)

    # -- for the service ------------------------------------------------------------------------------------------

    def leads(self, topic: str, partition: int) -> bool:
        p = self.node.replicas.partitions.get((topic, partition))
        return p is not None and p.is_leader

    def owns(self, partition: int) -> bool:
        """A partition of __transaction_state whose ids are coordinated here."""
        return self.leads(TRANSACTION_STATE_TOPIC, partition)

    @property
    def partitions(self) -> int:
        return self.node.metadata.num_partitions(TRANSACTION_STATE_TOPIC) or \
            self.node.broker.config.transactions.transaction_state_log_num_partitions

    def num_partitions(self, topic: str) -> int:
        """The cluster's count (0: no such topic), whether or not this broker holds a replica."""
        return self.node.metadata.num_partitions(topic)

    def coordinates(self, transactional_id: str) -> bool:
        return self.error(transactional_id) == ErrorCode.NONE

    def send_marker(self, job: MarkerJob, topic: str, partition: int, done: Callable[[int], None]) -> None:
        """WriteTxnMarkers for one partition to its leader; ``done(error code)`` when it answers
        (a failure after a short pause, so that the service's retry does not spin)."""
        self.node.task_group.start_soon(self._send_marker, job, topic, partition, done)

    async def _send_marker(self, job: MarkerJob, topic: str, partition: int, done: Callable[[int], None]) -> None:
        code = ErrorCode.NOT_LEADER_OR_FOLLOWER
        leader = self.node.metadata.leader(topic, partition)
        if leader is None and not self.node.metadata.has_topic(topic):
            code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        elif leader is not None:
            channel = self._channels.get(leader.broker_id)
            if channel is None:
                channel = self._channels[leader.broker_id] = BrokerChannel(
                    self.node.task_group, leader.host, leader.port, client_id=f"broker-{self.node.broker_id}-txn")
            channel.retarget(leader.host, leader.port)
            body = {"markers": [{"producer_id": job.producer_id, "producer_epoch": job.producer_epoch,
                                 "transaction_result": job.committed, "coordinator_epoch": job.coordinator_epoch,
                                 "topics": [{"name": topic, "partition_indexes": [partition]}]}]}
            try:
                response = await channel.request(WRITE_TXN_MARKERS, WRITE_TXN_MARKERS_VERSION, body,
                                                 timeout_s=MARKER_TIMEOUT_S)
                code = response["markers"][0]["topics"][0]["partitions"][0]["error_code"]
            except (ConnectionError, TimeoutError, OSError, KeyError, IndexError) as exc:
                log.info("marker for %s-%d to broker %d not written: %s", topic, partition, leader.broker_id, exc)
        if code:
            await anyio.sleep(MARKER_RETRY_S)
        done(code)

    # -- the gate ---------------------------------------------------------------------------------------------------

    def error(self, transactional_id: str) -> int:
        return coordinator_error(partition_for(transactional_id, self.partitions), self.loading, self.led)

    def _leadership_changed(self, topic: str, partition: int, leading: bool) -> None:
        if topic != TRANSACTION_STATE_TOPIC:
            return
        if leading:
            self.loading.add(partition)
        else:
            self.led.discard(partition)
            self.loading.discard(partition)
        if not self._reloading:   # gained or lost: the coordinator keeps only what is led here
            self._reloading = True
            self.node.task_group.start_soon(self._reload)

    async def _reload(self) -> None:
        await anyio.sleep(RELOAD_GATHER_S)
        self._reloading = False
        loading = set(self.loading)
        broker = self.node.broker
        broker.reload_transactions()
        broker.transactions   # noqa: B018 - loads the led partitions and finishes what they left half-done
        self.loading -= loading
        self.led = {p for p in self.led | loading if self.owns(p)}
        log.info("coordinating the transactional ids of %d partitions of %s", len(self.led),
                 TRANSACTION_STATE_TOPIC)

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


# -- the gated requests -----------------------------------------------------------------------------------------

def _transactional_ids(message, req: dict, api_version: int) -> list[str]:
    if message is INIT_PRODUCER_ID:
        return [] if req["transactional_id"] is None else [req["transactional_id"]]
    if message is ADD_PARTITIONS_TO_TXN:
        if api_version < 4:
            return [req["v3_and_below_transactional_id"]]
        return [t["transactional_id"] for t in req["transactions"]]
    if message is DESCRIBE_TRANSACTIONS:
        return []   # answered per id below
    return [req["transactional_id"]]


def _may_write(ctx, message, req: dict, api_version: int, transactional_id: str) -> bool:
    """Whether the handler will get past its first ACL check for the id (WRITE on it; for
    AddPartitionsToTxn v4+, from brokers, CLUSTER_ACTION on the cluster): the gate answers only
    then, as Kafka authorizes before it asks the transaction coordinator."""
    if message is ADD_PARTITIONS_TO_TXN and api_version >= 4:
        return ctx.authorize(Op.CLUSTER_ACTION, Resource.CLUSTER, CLUSTER_NAME)
    return ctx.authorize(Op.WRITE, Resource.TRANSACTIONAL_ID, transactional_id)


def _error_response(message):
    served = SERVED[message.api_key]
    return served.error_response or (lambda req, version, code: {"throttle_time_ms": 0, "error_code": code})


def _gated(message, handler):
    errors = _error_response(message)

    async def gated(ctx, req: dict):
        node = ctx.broker.cluster
        placement = node.transaction_placement
        ids = _transactional_ids(message, req, ctx.api_version)
        for transactional_id in ids:
            if not _may_write(ctx, message, req, ctx.api_version, transactional_id):
                return handler(ctx, req)   # refused by its ACL check, on any broker
            code = placement.error(transactional_id)
            if code:
                return errors(req, ctx.api_version, code)
        if not ids:
            return handler(ctx, req)
        partitions = {partition_for(t, placement.partitions) for t in ids}
        replicas = [p for p in (node.replicas.partitions.get((TRANSACTION_STATE_TOPIC, i)) for i in partitions)
                    if p is not None]
        ends = [p.log.log_end_offset for p in replicas]
        response = handler(ctx, req)
        await replicated(node, TRANSACTION_STATE_TOPIC, replicas, ends)
        return response
    return gated


for _message in (INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN):
    replace(_message, _gated(_message, SERVED[_message.api_key].handler), may_wait=True,
            error_response=_error_response(_message))

_describe_transactions = SERVED[DESCRIBE_TRANSACTIONS.api_key].handler
_describe_errors = _error_response(DESCRIBE_TRANSACTIONS)


def describe_transactions(ctx, req: dict) -> dict:
    """Each id from its coordinator; the others NOT_COORDINATOR (or still loading), as Kafka answers."""
    placement = ctx.broker.cluster.transaction_placement
    ids = req["transactional_ids"]
    described = ctx.authorized(Op.DESCRIBE, Resource.TRANSACTIONAL_ID, ids)   # the others refused first
    here = [t for t in ids if t not in described or not placement.error(t)]
    states = {s["transactional_id"]: s for s in
              _describe_transactions(ctx, {**req, "transactional_ids": here})["transaction_states"]} if here else {}
    answers = []
    for transactional_id in ids:
        state = states.get(transactional_id)
        if state is None:
            state = _describe_errors({"transactional_ids": [transactional_id]}, ctx.api_version,
                                     placement.error(transactional_id))["transaction_states"][0]
        answers.append(state)
    return {"throttle_time_ms": 0, "transaction_states": answers}


replace(DESCRIBE_TRANSACTIONS, describe_transactions)

_write_txn_markers = SERVED[WRITE_TXN_MARKERS.api_key].handler


async def write_txn_markers(ctx, req: dict) -> dict:
    """Markers in the partitions led here, answered once in the ISR (Kafka writes them with acks=-1)."""
    node = ctx.broker.cluster
    keys = {(t["name"], i) for m in req["markers"] for t in m["topics"] for i in t["partition_indexes"]}
    replicas = [p for p in (node.replicas.partitions.get(key) for key in keys) if p is not None and p.is_leader]
    ends = [p.log.log_end_offset for p in replicas]
    response = _write_txn_markers(ctx, req)
    for p, before in zip(replicas, ends):
        await replicated(node, p.topic, [p], [before])
    return response


replace(WRITE_TXN_MARKERS, write_txn_markers, may_wait=True)
