"""Coordinators in a cluster: a group's coordinator is the leader of its partition of
``__consumer_offsets`` (Java's ``abs(hash(group)) % partitions``), as in Kafka.

FindCoordinator names that leader; it creates the topic on first use (its replication factor
``offsets.topic.replication.factor``, refused with COORDINATOR_NOT_AVAILABLE while fewer
brokers are alive, as Kafka does) and answers COORDINATOR_NOT_AVAILABLE until it is led.

The group APIs pass a gate: a broker answers for a group only while it leads the group's
partition (else NOT_COORDINATOR, so the client looks again), and not while it loads that
partition's groups and offsets (COORDINATOR_LOAD_IN_PROGRESS). A request about several groups
(DescribeGroups, ConsumerGroupDescribe, ShareGroupDescribe, DeleteGroups, OffsetFetch v8+,
DescribeShareGroupOffsets) answers each group on its own, one of those errors or its answer, as
Kafka's coordinator answers partition by partition. The group coordinator holds only the
groups of the partitions led here, as Kafka's coordinator runtime loads a partition
when it comes to lead it and unloads it when it stops: it runs their timers and writes only to
those partitions (a follower's replica holds only its leader's batches). A broker whose led
partitions of the topic change loads the coordinator again from them, from its log, which the
replication kept up to date: groups, members and committed offsets survive the loss of their
coordinator's broker; JoinGroup and SyncGroup waiting on the coordinator replaced are answered
NOT_COORDINATOR, so that their clients look for the new one. ListGroups lists the groups of the
partitions led here. With the authorizer on, a group the client may not touch is refused by the
handler on any broker before the gate looks at it (GROUP_AUTHORIZATION_FAILED, not
NOT_COORDINATOR), as Kafka authorizes first.

Producer ids come in blocks from ZooKeeper's ``/latest_producer_id_block`` (Kafka's
ZkProducerIdManager), fetched ahead so InitProducerId never waits on ZooKeeper.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from broker.cluster.admin import auto_create
from broker.cluster.coord import CoordinationError
from broker.cluster.replacing import replace
from broker.errors import AUTHORIZATION_FAILED
from broker.groups.offsets import OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, partition_for
from broker.transactions.log import TRANSACTION_STATE_TOPIC
from broker.transactions.log import partition_for as transaction_partition_for
from broker.transactions.log import topic_configs as transaction_topic_configs
from kproto.constants import AclOperation as Op, ResourceType as Resource
from broker.registry import SERVED
from kproto.errors import ErrorCode, KafkaError
from kproto.messages import (ALTER_SHARE_GROUP_OFFSETS, CONSUMER_GROUP_DESCRIBE, CONSUMER_GROUP_HEARTBEAT,
                             DELETE_GROUPS, DELETE_SHARE_GROUP_OFFSETS, DESCRIBE_GROUPS,
                             DESCRIBE_SHARE_GROUP_OFFSETS, FIND_COORDINATOR, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP,
                             LIST_GROUPS, OFFSET_COMMIT, OFFSET_DELETE, OFFSET_FETCH, SHARE_GROUP_DESCRIBE,
                             SHARE_GROUP_HEARTBEAT, SYNC_GROUP, TXN_OFFSET_COMMIT)

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.cluster")

GROUP, TRANSACTION = 0, 1
PRODUCER_ID_BLOCK = 1000
RELOAD_GATHER_S = 0.05   # leaderships that come together are loaded once
COMMIT_TIMEOUT_S = 5      # Kafka's offsets.commit.timeout.ms


# -- the gate ---------------------------------------------------------------------------------------------------

def coordinator_error(partition: int, loading: set[int], led: set[int]) -> int:
    """A coordinator's answer for a key of ``partition`` of its internal topic: being loaded,
    not led here, or NONE."""
    if partition in loading:
        return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    if partition not in led:
        return ErrorCode.NOT_COORDINATOR
    return ErrorCode.NONE


class CoordinatorGate:
    """Which partitions of ``__consumer_offsets`` this broker coordinates, or is loading."""

    def __init__(self, node: ClusterNode):
        self.node = node
        self.led: set[int] = set()
        self.loading: set[int] = set()
        self._reloading = False
        node.replicas.leadership_listeners.append(self._leadership_changed)

    @property
    def partitions(self) -> int:
        return self.node.metadata.num_partitions(OFFSETS_TOPIC) or \
            self.node.broker.config.groups.offsets_topic_num_partitions

    def error(self, group_id: str | None) -> int:
        return coordinator_error(partition_for(group_id or "", self.partitions), self.loading, self.led)

    def owns(self, partition: int) -> bool:
        """A partition whose groups the coordinator here loads, runs and writes: led here."""
        p = self.node.replicas.partitions.get((OFFSETS_TOPIC, partition))
        return p is not None and p.is_leader

    def _leadership_changed(self, topic: str, partition: int, leading: bool) -> None:
        if topic != OFFSETS_TOPIC:
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
        """Load the group coordinator again from the partitions led here, now that they changed."""
        await anyio.sleep(RELOAD_GATHER_S)
        self._reloading = False
        loading = set(self.loading)
        broker = self.node.broker
        old = broker.reload_groups()
        if old is not None:
            _release_parked(old)
        broker.groups   # noqa: B018 - replays the led partitions of __consumer_offsets now
        self.loading -= loading
        self.led = {p for p in self.led | loading if self.owns(p)}
        log.info("coordinating the groups of %d partitions of %s", len(self.led), OFFSETS_TOPIC)


def _release_parked(service) -> None:
    """JoinGroup and SyncGroup parked on the coordinator being replaced answer NOT_COORDINATOR
    (the client looks for its coordinator again), not never."""
    answer = {"throttle_time_ms": 0, "error_code": ErrorCode.NOT_COORDINATOR, "generation_id": -1,
              "protocol_type": None, "protocol_name": None, "leader": "", "skip_assignment": False,
              "member_id": "", "members": [], "assignment": b""}
    for parked in list(getattr(service, "_parked", {}).values()):
        parked.response = dict(answer)
        parked.event.set()


def _group_ids(message, req: dict, api_version: int) -> list[str]:
    """The groups a group request is about."""
    if message is OFFSET_FETCH and api_version >= 8:
        return [g["group_id"] for g in req["groups"]]
    if message is DESCRIBE_GROUPS:
        return list(req["groups"])
    if message is DELETE_GROUPS:
        return list(req["groups_names"])
    if message in (CONSUMER_GROUP_DESCRIBE, SHARE_GROUP_DESCRIBE):
        return list(req["group_ids"])
    if message is DESCRIBE_SHARE_GROUP_OFFSETS:
        return [g["group_id"] for g in req["groups"]]
    return [req["group_id"]]


# The requests about several groups that answer each group on its own: (request's list,
# response's list). Kafka's coordinator runs such a request partition by partition of
# __consumer_offsets, so a group not coordinated here (or still loading) gets its own entry with
# NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS) and defaults, and the others their answers.
PER_GROUP = {
    DESCRIBE_GROUPS: ("groups", "groups"), CONSUMER_GROUP_DESCRIBE: ("group_ids", "groups"),
    SHARE_GROUP_DESCRIBE: ("group_ids", "groups"), DELETE_GROUPS: ("groups_names", "results"),
    DESCRIBE_SHARE_GROUP_OFFSETS: ("groups", "groups"), OFFSET_FETCH: ("groups", "groups"),
}
FIRST_MULTI_GROUP_OFFSET_FETCH = 8


def _per_group(message, api_version: int) -> tuple[str, str] | None:
    if message is OFFSET_FETCH and api_version < FIRST_MULTI_GROUP_OFFSET_FETCH:
        return None
    return PER_GROUP.get(message)


def _entry_group(entry) -> str:
    """The group id of an entry of a request's list: the id itself, or a dict naming it."""
    return (entry if not isinstance(entry, dict) else entry["group_id"]) or ""


def _gated(message, handler, error_response):
    is_async = SERVED[message.api_key].is_async

    async def call(ctx, req: dict, group_ids: list[str]):
        """The handler, answered once what it wrote to the groups' partitions is in the ISR."""
        node = ctx.broker.cluster
        partitions = {partition_for(g or "", node.gate.partitions) for g in group_ids}
        replicas = [p for p in (node.replicas.partitions.get((OFFSETS_TOPIC, i)) for i in partitions) if p is not None]
        ends = [p.log.log_end_offset for p in replicas]
        response = await handler(ctx, req) if is_async else handler(ctx, req)
        await replicated(node, OFFSETS_TOPIC, replicas, ends)
        return response

    async def gated(ctx, req: dict):
        lists = _per_group(message, ctx.api_version)
        if lists is not None:
            return await per_group(ctx, req, *lists)
        code = _gate_error(ctx, message, req)
        if code:
            return error_response(req, ctx.api_version, code)
        return await call(ctx, req, _group_ids(message, req, ctx.api_version))

    async def per_group(ctx, req: dict, request_list: str, response_list: str):
        """The groups answerable here go to the handler; each other one is answered with its
        gate's error (a group refused by its ACLs is the handler's to answer, on any broker)."""
        gate = ctx.broker.cluster.gate
        gated_ids = {g or "" for g in _gated_groups(ctx, message, req)}
        here, away = [], {}
        for entry in req[request_list]:
            group_id = _entry_group(entry)
            code = gate.error(group_id) if group_id in gated_ids else ErrorCode.NONE
            (away.setdefault(code, []) if code else here).append(entry)
        if not away:
            return await call(ctx, req, [_entry_group(e) for e in here])
        version = ctx.api_version
        if here:
            response = await call(ctx, {**req, request_list: here}, [_entry_group(e) for e in here])
        else:
            response = error_response({**req, request_list: []}, version, ErrorCode.NONE)
        for code, entries in away.items():
            response[response_list] += error_response({**req, request_list: entries}, version, code)[response_list]
        return response

    return gated


async def replicated(node: ClusterNode, topic: str, replicas: list, ends: list[int]) -> None:
    """Answer only once what the request wrote to an internal topic's partitions is in the ISR
    (Kafka's offsets.commit.required.acks=-1, and the same for __transaction_state): a commit
    acknowledged survives the coordinator's loss."""
    for p, before in zip(replicas, ends):
        end = p.log.log_end_offset
        if end <= before:
            continue
        node.broker.notify_append(topic, p.index)   # wake the followers' fetches
        waiter = p.wait_for(end)
        with anyio.move_on_after(COMMIT_TIMEOUT_S):
            await waiter.event.wait()
        if p.log.high_watermark < end:
            log.warning("%s-%d: records to %d not replicated in %d s", topic, p.index, end, COMMIT_TIMEOUT_S)


# The operation each group API checks on its groups first: a group the client may not touch is
# refused by the handler (GROUP_AUTHORIZATION_FAILED) on any broker, before the coordinator is
# looked at, as Kafka's KafkaApis authorizes before it asks the group coordinator.
GROUP_OPERATIONS = {
    JOIN_GROUP: Op.READ, SYNC_GROUP: Op.READ, HEARTBEAT: Op.READ, LEAVE_GROUP: Op.READ, OFFSET_COMMIT: Op.READ,
    OFFSET_FETCH: Op.DESCRIBE, DESCRIBE_GROUPS: Op.DESCRIBE, DELETE_GROUPS: Op.DELETE, OFFSET_DELETE: Op.DELETE,
    CONSUMER_GROUP_HEARTBEAT: Op.READ, CONSUMER_GROUP_DESCRIBE: Op.DESCRIBE, SHARE_GROUP_HEARTBEAT: Op.READ,
    SHARE_GROUP_DESCRIBE: Op.DESCRIBE, DESCRIBE_SHARE_GROUP_OFFSETS: Op.DESCRIBE, ALTER_SHARE_GROUP_OFFSETS: Op.READ,
    DELETE_SHARE_GROUP_OFFSETS: Op.DELETE, TXN_OFFSET_COMMIT: Op.READ,
}


def _gated_groups(ctx, message, req: dict) -> list[str]:
    """The groups the gate answers for: those the handler will not refuse for their ACLs."""
    group_ids = _group_ids(message, req, ctx.api_version)
    if ctx.broker.authorizer is None:
        return group_ids
    if message is TXN_OFFSET_COMMIT and not ctx.authorize(Op.WRITE, Resource.TRANSACTIONAL_ID,
                                                          req["transactional_id"]):
        return []
    allowed = ctx.authorized(GROUP_OPERATIONS[message], Resource.GROUP, {g or "" for g in group_ids})
    return [g for g in group_ids if (g or "") in allowed]


def _gate_error(ctx, message, req: dict) -> int:
    gate = ctx.broker.cluster.gate
    for group_id in _gated_groups(ctx, message, req):
        code = gate.error(group_id)
        if code:
            return code
    return ErrorCode.NONE


GATED = (JOIN_GROUP, SYNC_GROUP, HEARTBEAT, LEAVE_GROUP, OFFSET_COMMIT, OFFSET_FETCH, DESCRIBE_GROUPS, DELETE_GROUPS,
         OFFSET_DELETE, CONSUMER_GROUP_HEARTBEAT, CONSUMER_GROUP_DESCRIBE, SHARE_GROUP_HEARTBEAT, SHARE_GROUP_DESCRIBE,
         DESCRIBE_SHARE_GROUP_OFFSETS, ALTER_SHARE_GROUP_OFFSETS, DELETE_SHARE_GROUP_OFFSETS, TXN_OFFSET_COMMIT)

for _message in GATED:
    _served = SERVED[_message.api_key]
    replace(_message, _gated(_message, _served.handler, _served.error_response or (
        lambda req, version, code: {"throttle_time_ms": 0, "error_code": code})), may_wait=True)

_list_groups = SERVED[LIST_GROUPS.api_key].handler


def list_groups(ctx, req: dict) -> dict:
    response = _list_groups(ctx, req)
    gate = ctx.broker.cluster.gate
    response["groups"] = [g for g in response["groups"] if not gate.error(g["group_id"])]
    return response


replace(LIST_GROUPS, list_groups)


# -- FindCoordinator -----------------------------------------------------------------------------------------------

def _internal_topic(node: ClusterNode, key_type: int) -> tuple[str, int, int, dict]:
    """(topic, partitions, replication factor, configs) of a key type's internal topic."""
    if key_type == GROUP:
        return (OFFSETS_TOPIC, node.broker.config.groups.offsets_topic_num_partitions,
                node.config.offsets_topic_replication_factor, OFFSETS_TOPIC_CONFIGS)
    transactions = node.broker.config.transactions
    return (TRANSACTION_STATE_TOPIC, transactions.transaction_state_log_num_partitions,
            node.config.transaction_state_log_replication_factor,
            {**transaction_topic_configs(transactions),
             "min.insync.replicas": str(node.config.transaction_state_log_min_isr)})


def _coordinator(node: ClusterNode, key_type: int, key: str, listener: str) -> dict:
    topic, partitions, factor, configs = _internal_topic(node, key_type)
    cache = node.metadata
    missing = {"node_id": -1, "host": "", "port": -1, "error_code": ErrorCode.COORDINATOR_NOT_AVAILABLE,
               "error_message": None}
    if not cache.has_topic(topic):
        if len(cache.brokers) < factor:
            missing["error_message"] = (f"Number of alive brokers '{len(cache.brokers)}' does not meet the required "
                                        f"replication factor '{factor}' for the {topic} topic")
        else:
            auto_create(node, topic, partitions, factor, configs)
        return missing
    partition_of = partition_for if key_type == GROUP else transaction_partition_for
    leader = cache.leader(topic, partition_of(key, cache.num_partitions(topic)))
    address = None if leader is None else leader.address(listener)
    if address is None:
        return missing
    return {"node_id": leader.broker_id, "host": address[0], "port": address[1], "error_code": 0,
            "error_message": None}


def find_coordinator(ctx, req: dict) -> dict:
    node = ctx.broker.cluster
    key_type = req["key_type"]
    if key_type not in (GROUP, TRANSACTION):
        return SERVED[FIND_COORDINATOR.api_key].error_response(req, ctx.api_version, ErrorCode.INVALID_REQUEST)
    resource = Resource.GROUP if key_type == GROUP else Resource.TRANSACTIONAL_ID
    if ctx.api_version >= 4:
        return {"throttle_time_ms": 0, "coordinators": [
            {"key": key, **_coordinator(node, key_type, key, ctx.listener.name)}
            if ctx.authorize(Op.DESCRIBE, resource, key) else
            {"key": key, "node_id": -1, "host": "", "port": -1, "error_code": AUTHORIZATION_FAILED[resource],
             "error_message": None}
            for key in req["coordinator_keys"]]}
    ctx.require(Op.DESCRIBE, resource, req["key"])
    return {"throttle_time_ms": 0, **_coordinator(node, key_type, req["key"], ctx.listener.name)}


replace(FIND_COORDINATOR, find_coordinator)


# -- producer ids --------------------------------------------------------------------------------------------------

class ProducerIdBlocks:
    """``next_id()`` as broker.producer_ids has it, from blocks reserved in ZooKeeper; the next
    block is fetched when a tenth of the current one is left."""

    def __init__(self, node: ClusterNode):
        self.node = node
        self._next = 0
        self._end = -1   # inclusive
        self._following: tuple[int, int] | None = None
        self._fetching = False

    def next_id(self) -> int:
        if self._next > self._end and self._following is not None:
            (self._next, self._end), self._following = self._following, None
        if self._next > self._end:
            self.prefetch()
            raise KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        producer_id = self._next
        self._next += 1
        if self._end - self._next < PRODUCER_ID_BLOCK // 10 and self._following is None:
            self.prefetch()
        return producer_id

    def prefetch(self) -> None:
        """Reserve the next block in the background (at start, and when this one runs low)."""
        if not self._fetching and self.node.task_group is not None:
            self._fetching = True
            self.node.task_group.start_soon(self._fetch)

    async def _fetch(self) -> None:
        try:
            block = await self.node.coord.allocate_producer_ids(self.node.broker_id, PRODUCER_ID_BLOCK)
            if self._next > self._end:
                self._next, self._end = block
            else:
                self._following = block
        except CoordinationError as exc:
            log.warning("cannot reserve producer ids: %s", exc)
        finally:
            self._fetching = False

    def close(self) -> None:
        pass
