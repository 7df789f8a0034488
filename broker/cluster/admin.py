"""Cluster mode's metadata and admin handlers: answers from the cluster's view, changes
through ZooKeeper and the controller, as Kafka's ZooKeeper mode does.

- Metadata (every broker, the same answer): live brokers, the controller, each partition's
  leader, epoch, replicas, ISR and offline replicas. An unknown topic is created when
  allowed (its znode written here, as Kafka's brokers do) and answered LEADER_NOT_AVAILABLE
  until the controller has elected its leaders.
- CreateTopics, DeleteTopics, CreatePartitions, ElectLeaders go to the controller (others
  answer NOT_CONTROLLER, and clients ask Metadata where it is). Topics are written to
  ZooKeeper and the answer waits (up to the request's timeout) until every broker's view has
  them led, or gone.
- DescribeCluster, ListOffsets and OffsetForLeaderEpoch answer from the leader's state.

With the authorizer on, each makes the checks of its one-broker counterpart, in Kafka's
order (KafkaApis in ZooKeeper mode): NOT_CONTROLLER first where the controller answers, then
the ACLs. Metadata leaves out topics the client may not DESCRIBE (TOPIC_AUTHORIZATION_FAILED
when named) and auto-creates only with CREATE on the cluster or topic; CreateTopics needs
CREATE (TOPIC_AUTHORIZATION_FAILED per topic) and v5+ hides the configs of a topic without
DESCRIBE_CONFIGS; DeleteTopics DELETE (and DESCRIBE for one named by id); CreatePartitions
ALTER on the topic; ElectLeaders and AlterPartitionReassignments ALTER on the cluster,
ListPartitionReassignments DESCRIBE on it; ListOffsets DESCRIBE, DeleteRecords DELETE, and
OffsetForLeaderEpoch DESCRIBE on the topic or CLUSTER_ACTION (a follower). Brokers and
coordinators are given at the endpoints of the listener the client came in on.
"""

from __future__ import annotations

import logging
from collections import Counter
from uuid import UUID

from broker.cluster.controller.assignment import AssignmentError, assign_replicas
from broker.cluster.coord import BadVersion, CoordinationError, NodeExists
from broker.cluster.replacing import replace
from broker.cluster.znodes import NO_LEADER, TopicAssignment
from broker.config_describe import created_topic_entries
from broker.errors import storage_error_code
from broker.handlers.create_topics import MAX_NEW_PARTITIONS, _refused, _Refused, counts_or_defaults, topic_configs
from broker.handlers.elect_leaders import NOT_NEEDED, PREFERRED, UNCLEAN
from broker.handlers.metadata import TOPIC_OPERATIONS, cluster_operations, error_entry
from broker.quotas import THROTTLED_MESSAGE
from broker.registry import SERVED
from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_NAME, AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import (ALTER_PARTITION_REASSIGNMENTS, CREATE_PARTITIONS, CREATE_TOPICS, DELETE_RECORDS,
                             DELETE_TOPICS, DESCRIBE_CLUSTER, ELECT_LEADERS, LIST_OFFSETS, LIST_PARTITION_REASSIGNMENTS, METADATA,
                             OFFSET_FOR_LEADER_EPOCH)
from storage import validate_topic_name
from storage.errors import StorageError
from storage.topics import new_topic_id

log = logging.getLogger("kbroker.cluster")

DEFAULT_TIMEOUT_MS = 30000


# -- creating topics (any broker may write a topic's znode; the controller acts on it) ------------------------

def brokers_with_racks(node) -> dict[int, str | None]:
    if node.is_controller:
        return {b: info.rack for b, info in node.controller.ctx.brokers.items()
                if b not in node.controller.ctx.shutting_down}
    return {b: e.rack for b, e in node.metadata.brokers.items()}


async def write_topic(node, name: str, replicas: dict[int, list[int]], configs: dict[str, str]) -> None:
    """NodeExists if the topic exists."""
    await node.coord.create_topic(name, TopicAssignment(new_topic_id(), replicas), configs)
    log.info("topic %s created with %d partitions: %s", name, len(replicas), replicas)


def auto_create(node, name: str, partitions: int, replication_factor: int, configs: dict | None = None) -> int:
    """Start creating a topic in the background; the error to answer now (LEADER_NOT_AVAILABLE
    while it is created, INVALID_REPLICATION_FACTOR when too few brokers are alive)."""
    try:
        replicas = assign_replicas(brokers_with_racks(node), partitions, replication_factor)
    except AssignmentError as exc:
        log.warning("cannot create topic %s: %s", name, exc)
        return ErrorCode.INVALID_REPLICATION_FACTOR

    async def create() -> None:
        try:
            await write_topic(node, name, replicas, configs or {})
        except NodeExists:
            pass
        except CoordinationError as exc:
            log.warning("cannot create topic %s: %s", name, exc)
    node.task_group.start_soon(create)
    return ErrorCode.LEADER_NOT_AVAILABLE


# -- Metadata ----------------------------------------------------------------------------------------------------

def partition_entry(cache, index: int, view, listener: str) -> dict:
    leader = cache.brokers.get(view.leader)
    if leader is None:
        code = ErrorCode.LEADER_NOT_AVAILABLE
    elif leader.address(listener) is None:   # as Kafka: the leader has no endpoint for this client's listener
        code = ErrorCode.LISTENER_NOT_FOUND
    else:
        code = ErrorCode.NONE
    return {"error_code": code, "partition_index": index, "leader_id": view.leader if not code else NO_LEADER,
            "leader_epoch": view.leader_epoch, "replica_nodes": list(view.replicas), "isr_nodes": list(view.isr),
            "offline_replicas": list(view.offline)}


def topic_entry(ctx, cache, name: str, include_operations: bool) -> dict:
    partitions = cache.topics[name]
    if not include_operations:
        operations = AUTHORIZED_OPERATIONS_OMITTED
    elif ctx.broker.authorizer is None:
        operations = TOPIC_OPERATIONS
    else:
        operations = ctx.authorized_operations(Resource.TOPIC, name)
    return {"error_code": 0, "name": name, "topic_id": cache.topic_ids[name].bytes,
            "is_internal": name.startswith("__"),
            "partitions": [partition_entry(cache, i, partitions[i], ctx.listener.name) for i in sorted(partitions)],
            "topic_authorized_operations": operations}


def may_create(ctx, name: str) -> bool:
    """CREATE on the cluster or on the topic, what auto-creation and CreateTopics need (Kafka)."""
    return ctx.authorize(Op.CREATE, Resource.CLUSTER, CLUSTER_NAME) or ctx.authorize(Op.CREATE, Resource.TOPIC, name)


def metadata(ctx, req: dict) -> dict:
    broker = ctx.broker
    node = broker.cluster
    cache = node.metadata
    include_ops = req["include_topic_authorized_operations"]
    requested = req["topics"]
    topics = []
    if requested is None or (ctx.api_version == 0 and not requested):
        topics = [topic_entry(ctx, cache, name, include_ops)
                  for name in sorted(ctx.authorized(Op.DESCRIBE, Resource.TOPIC, cache.topics))]
    else:
        for wanted in requested:
            name, topic_id = wanted["name"], wanted["topic_id"]
            if name is None:
                name = cache.names_by_id.get(UUID(bytes=topic_id))
                if name is None:
                    topics.append(error_entry(None, topic_id, ErrorCode.UNKNOWN_TOPIC_ID))
                elif not ctx.authorize(Op.DESCRIBE, Resource.TOPIC, name):   # its name stays unsaid
                    topics.append(error_entry(None, topic_id, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                else:
                    topics.append(topic_entry(ctx, cache, name, include_ops))
                continue
            if not ctx.authorize(Op.DESCRIBE, Resource.TOPIC, name):
                topics.append(error_entry(name, bytes(16), ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                continue
            if cache.has_topic(name):
                topics.append(topic_entry(ctx, cache, name, include_ops))
                continue
            try:
                validate_topic_name(name)
                code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                creating = req["allow_auto_topic_creation"] and broker.config.auto_create_topics
                if creating and not may_create(ctx, name):
                    code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                elif creating and cache.brokers:
                    code = auto_create(node, name, broker.config.num_partitions,
                                       broker.config.default_replication_factor)
            except StorageError as exc:
                code = storage_error_code(exc)
            topics.append(error_entry(name, bytes(16), code))
    brokers = cache.endpoints(None, ctx.listener.name)   # the endpoints of the listener asked on
    if not cache.brokers:   # not told of the cluster yet: this broker, leading nothing
        host, port = ctx.listener.advertised
        brokers = [{"node_id": node.broker_id, "host": host, "port": port, "rack": node.config.broker_rack}]
    return {"throttle_time_ms": 0, "brokers": brokers, "cluster_id": broker.cluster_id,
            "controller_id": cache.controller_id, "topics": topics,
            "cluster_authorized_operations": cluster_operations(ctx, req["include_cluster_authorized_operations"])}


def describe_cluster(ctx, req: dict) -> dict:
    response = _describe_cluster(ctx, req)
    if response["error_code"]:
        return response
    cache = ctx.broker.cluster.metadata
    if cache.brokers:
        response["controller_id"] = cache.controller_id
        response["brokers"] = [{"broker_id": b["node_id"], "host": b["host"], "port": b["port"], "rack": b["rack"],
                                "is_fenced": False} for b in cache.endpoints(None, ctx.listener.name)]
    return response


# -- CreateTopics, DeleteTopics, CreatePartitions ---------------------------------------------------------------

def _not_controller(node) -> bool:
    return not node.is_controller


def _plan(ctx, topic: dict, live: dict[int, str | None]) -> dict[int, list[int]]:
    """The replicas of each partition of a topic to create; _Refused with Kafka's code."""
    config = ctx.broker.config
    partitions, factor, assignments = topic["num_partitions"], topic["replication_factor"], topic["assignments"]
    if assignments:
        if partitions != -1 or factor != -1:
            raise _Refused(ErrorCode.INVALID_REQUEST,
                           "Both numPartitions or replicationFactor and replicasAssignments were set.")
        replicas = {}
        for a in assignments:
            ids = a["broker_ids"]
            if not ids or len(set(ids)) != len(ids):
                raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                               f"Duplicate or empty replica assignment {ids} for partition {a['partition_index']}")
            unknown = [b for b in ids if b not in live]
            if unknown:
                raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                               f"Unknown broker(s) {unknown} in the assignment of partition {a['partition_index']}")
            replicas[a["partition_index"]] = list(ids)
        if sorted(replicas) != list(range(len(replicas))):
            raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Partitions must be numbered 0..n-1")
        return replicas
    partitions, factor = counts_or_defaults(config, partitions, factor)
    try:
        return assign_replicas(live, partitions, factor)
    except AssignmentError as exc:
        raise _Refused(ErrorCode.INVALID_REPLICATION_FACTOR, str(exc)) from None


async def create_topics(ctx, req: dict) -> dict:
    broker = ctx.broker
    node = broker.cluster
    counts = Counter(t["name"] for t in req["topics"])
    results, created = [], []
    budget = MAX_NEW_PARTITIONS
    live = brokers_with_racks(node)
    create_any = ctx.authorize(Op.CREATE, Resource.CLUSTER, CLUSTER_NAME)
    quota = broker.mutation_quotas.for_request(ctx, CREATE_TOPICS.name)   # controller_mutation_rate
    for topic in req["topics"]:
        name = topic["name"]
        if counts[name] > 1:
            continue
        try:
            if _not_controller(node):
                raise _Refused(ErrorCode.NOT_CONTROLLER, "This is not the correct controller for this cluster.")
            if not (create_any or ctx.authorize(Op.CREATE, Resource.TOPIC, name)):
                raise _Refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Authorization failed.")
            validate_topic_name(name)
            if name in node.controller.ctx.assignments:
                raise _Refused(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
            configs = topic_configs(topic)
            broker.storage.defaults.with_overrides(configs)
            replicas = _plan(ctx, topic, live)
            budget -= len(replicas)
            if budget < 0:
                raise _Refused(ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation.")
            if not quota.record(len(replicas)):
                raise _Refused(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLED_MESSAGE)
            if not req["validate_only"]:
                await write_topic(node, name, replicas, configs)
                created.append(name)
        except _Refused as exc:
            results.append(_refused(name, exc.code, str(exc)))
            continue
        except NodeExists:
            results.append(_refused(name, ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists."))
            continue
        except StorageError as exc:
            results.append(_refused(name, storage_error_code(exc), str(exc) or None))
            continue
        result = {"name": name, "topic_id": bytes(16), "error_code": 0, "error_message": None,
                  "num_partitions": len(replicas), "replication_factor": len(replicas[0]),
                  "configs": created_topic_entries(broker.broker_configs, configs) if ctx.api_version >= 5 else []}
        if not ctx.authorize(Op.DESCRIBE_CONFIGS, Resource.TOPIC, name):
            result.update(configs=[], topic_config_error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
        results.append(result)
    if created:
        cache = node.metadata
        timeout_s = (req["timeout_ms"] if req["timeout_ms"] > 0 else DEFAULT_TIMEOUT_MS) / 1000
        await cache.wait_until(lambda: all(cache.online(name) for name in created), timeout_s)
        for result in results:
            if result["name"] in created:
                if cache.online(result["name"]):
                    result["topic_id"] = cache.topic_ids[result["name"]].bytes
                else:
                    result.update(error_code=ErrorCode.REQUEST_TIMED_OUT,
                                  error_message="Topic creation did not complete in time")
    results += [_refused(name, ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
                for name, count in counts.items() if count > 1]
    return {"throttle_time_ms": quota.throttle_time_ms(), "topics": results}


async def delete_topics(ctx, req: dict) -> dict:
    node = ctx.broker.cluster
    cache = node.metadata
    responses, deleting = [], []
    quota = ctx.broker.mutation_quotas.for_request(ctx, DELETE_TOPICS.name)   # controller_mutation_rate
    requested = [(t["name"], t["topic_id"]) for t in req["topics"]] if ctx.api_version >= 6 \
        else [(name, bytes(16)) for name in req["topic_names"]]
    for name, topic_id in requested:
        entry = {"name": name, "topic_id": topic_id, "error_code": 0, "error_message": None}
        responses.append(entry)
        if _not_controller(node):
            entry["error_code"] = ErrorCode.NOT_CONTROLLER
            continue
        by_id = name is None
        if by_id:
            name = cache.names_by_id.get(UUID(bytes=topic_id))
            if name is not None and not ctx.authorize(Op.DESCRIBE, Resource.TOPIC, name):
                entry["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED   # its name stays unsaid
                continue
        if not ctx.authorize(Op.DELETE, Resource.TOPIC, name or ""):
            entry.update(name=name, error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            continue
        if name is None or name not in node.controller.ctx.assignments:
            entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_ID if by_id else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            continue
        entry.update(name=name, topic_id=node.controller.ctx.assignments[name].topic_id.bytes)
        if name.startswith("__"):
            entry.update(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION,
                         error_message=f"Topic {name} is an internal topic and cannot be deleted")
            continue
        if not quota.record(len(node.controller.ctx.assignments[name].partitions)):
            entry.update(error_code=ErrorCode.THROTTLING_QUOTA_EXCEEDED, error_message=THROTTLED_MESSAGE)
            continue
        await node.coord.request_topic_deletion(name)
        deleting.append(name)
    if deleting:
        timeout_s = (req["timeout_ms"] if req["timeout_ms"] > 0 else DEFAULT_TIMEOUT_MS) / 1000
        await cache.wait_until(lambda: not any(cache.has_topic(n) for n in deleting), timeout_s)
        for entry in responses:
            if entry["name"] in deleting and cache.has_topic(entry["name"]):
                entry["error_code"] = ErrorCode.REQUEST_TIMED_OUT
    return {"throttle_time_ms": quota.throttle_time_ms(), "responses": responses}


async def create_partitions(ctx, req: dict) -> dict:
    node = ctx.broker.cluster
    counts = Counter(t["name"] for t in req["topics"])
    results = [{"name": name, "error_code": ErrorCode.INVALID_REQUEST, "error_message": "Duplicate topic name."}
               for name in dict.fromkeys(n for n in counts if counts[n] > 1)]
    grown = []
    live = brokers_with_racks(node)
    quota = ctx.broker.mutation_quotas.for_request(ctx, CREATE_PARTITIONS.name)   # controller_mutation_rate
    for topic in req["topics"]:
        name = topic["name"]
        if counts[name] > 1:
            continue
        result = {"name": name, "error_code": 0, "error_message": None}
        results.append(result)
        try:
            if _not_controller(node):
                raise _Refused(ErrorCode.NOT_CONTROLLER, None)
            if not ctx.authorize(Op.ALTER, Resource.TOPIC, name):
                raise _Refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED, "The topic authorization is failed.")
            found = await node.coord.topic(name)
            if found is None or name in node.controller.ctx.deleting:
                raise _Refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None)
            assignment, version = found
            current, count = len(assignment.partitions), topic["count"]
            if name.startswith("__"):
                raise _Refused(ErrorCode.INVALID_TOPIC_EXCEPTION,
                               f"The number of partitions for the internal topic {name} cannot be changed.")
            if count <= current:
                raise _Refused(ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partition(s)."
                               if count == current else f"The topic {name} currently has {current} partition(s); "
                               f"{count} would not be an increase.")
            if topic["assignments"] is not None:
                if len(topic["assignments"]) != count - current:
                    raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"Attempted to add {count - current} "
                                   f"additional partition(s), but only {len(topic['assignments'])} assignment(s) "
                                   "were specified.")
                added = {}
                for i, a in enumerate(topic["assignments"]):
                    ids = a["broker_ids"]
                    if not ids or len(set(ids)) != len(ids) or any(b not in live for b in ids):
                        raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                                       f"The manual partition assignment {ids} is not valid.")
                    added[current + i] = list(ids)
            else:
                factor = len(assignment.partitions.get(0, [])) or 1
                try:
                    added = assign_replicas(live, count - current, factor, start_partition=current)
                except AssignmentError as exc:
                    raise _Refused(ErrorCode.INVALID_REPLICATION_FACTOR, str(exc)) from None
            if not quota.record(count - current):
                raise _Refused(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLED_MESSAGE)
            if not req["validate_only"]:
                await node.coord.set_topic(name, TopicAssignment(
                    assignment.topic_id, {**assignment.partitions, **added}, assignment.adding,
                    assignment.removing), version)
                grown.append((name, count))
        except _Refused as exc:
            result.update(error_code=exc.code, error_message=exc.args[0] if exc.args else None)
        except BadVersion:
            result.update(error_code=ErrorCode.REASSIGNMENT_IN_PROGRESS,
                          error_message="The topic changed while its partitions were added; try again")
    if grown:
        cache = node.metadata
        timeout_s = (req["timeout_ms"] if req["timeout_ms"] > 0 else DEFAULT_TIMEOUT_MS) / 1000
        await cache.wait_until(lambda: all(cache.num_partitions(n) >= c and cache.online(n) for n, c in grown),
                               timeout_s)
    return {"throttle_time_ms": quota.throttle_time_ms(), "results": results}


# -- ElectLeaders ------------------------------------------------------------------------------------------------------

ELECTION_MESSAGES = {
    ErrorCode.ELECTION_NOT_NEEDED: NOT_NEEDED,
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE: "Failed to elect leader for partition: the preferred replica is not "
                                              "in the ISR or not alive.",
    ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE: "No live replica can lead the partition.",
}


async def elect_leaders(ctx, req: dict) -> dict:
    ctx.require(Op.ALTER, Resource.CLUSTER, CLUSTER_NAME)
    node = ctx.broker.cluster
    election_type = req["election_type"] if ctx.api_version >= 1 else PREFERRED
    if election_type not in (PREFERRED, UNCLEAN):
        return _elect_errors(req, ctx.api_version, ErrorCode.INVALID_REQUEST)
    if _not_controller(node):
        return _elect_errors(req, ctx.api_version, ErrorCode.NOT_CONTROLLER)
    controller = node.controller
    wanted = None if req["topic_partitions"] is None else \
        [(t["topic"], p) for t in req["topic_partitions"] for p in t["partitions"]]
    results = await controller.call(lambda: controller.elect_leaders(election_type == PREFERRED, wanted))
    by_topic: dict[str, list[dict]] = {}
    for (topic, partition), code in results.items():
        message = ELECTION_MESSAGES.get(code) if code else None
        if code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
            message = f"No such partition as {topic}-{partition}"
        by_topic.setdefault(topic, []).append({"partition_id": partition, "error_code": code,
                                               "error_message": message})
    if req["topic_partitions"] is None:
        for topic in node.metadata.topics:
            by_topic.setdefault(topic, [])
    return {"throttle_time_ms": 0, "error_code": 0,
            "replica_election_results": [{"topic": t, "partition_result": r} for t, r in sorted(by_topic.items())]}


# -- AlterPartitionReassignments, ListPartitionReassignments ------------------------------------------------------

NOT_CONTROLLER_MESSAGE = "This is not the correct controller for this cluster."


async def alter_partition_reassignments(ctx, req: dict) -> dict:
    ctx.require(Op.ALTER, Resource.CLUSTER, CLUSTER_NAME)
    node = ctx.broker.cluster
    if _not_controller(node):
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NOT_CONTROLLER, "error_message": NOT_CONTROLLER_MESSAGE,
                "responses": []}
    controller = node.controller
    moves = [(t["name"], p["partition_index"], p["replicas"]) for t in req["topics"] for p in t["partitions"]]
    results = await controller.call(lambda: controller.reassignments.alter(moves))
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "responses": [
        {"name": t["name"], "partitions": [
            {"partition_index": p["partition_index"], "error_code": results[(t["name"], p["partition_index"])][0],
             "error_message": results[(t["name"], p["partition_index"])][1]} for p in t["partitions"]]}
        for t in req["topics"]]}


async def list_partition_reassignments(ctx, req: dict) -> dict:
    ctx.require(Op.DESCRIBE, Resource.CLUSTER, CLUSTER_NAME)
    node = ctx.broker.cluster
    if _not_controller(node):
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NOT_CONTROLLER, "error_message": NOT_CONTROLLER_MESSAGE,
                "topics": []}
    wanted = None if req["topics"] is None else [(t["name"], p) for t in req["topics"] for p in t["partition_indexes"]]
    listed = node.controller.reassignments.listed(wanted)
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None,
            "topics": [{"name": t, "partitions": parts} for t, parts in listed.items()]}


# -- ListOffsets and OffsetForLeaderEpoch: the leader answers ------------------------------------------------------

def _epoch_error(p, current_leader_epoch: int) -> int:
    if current_leader_epoch >= 0 and current_leader_epoch < p.leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH
    if current_leader_epoch > p.leader_epoch:
        return ErrorCode.UNKNOWN_LEADER_EPOCH
    return ErrorCode.NONE


def list_offsets(ctx, req: dict) -> dict:
    replication = ctx.broker.replication
    response = _list_offsets(ctx, req)
    wanted = {(t["name"], p["partition_index"]): p for t in req["topics"] for p in t["partitions"]}
    for topic in response["topics"]:
        for entry in topic["partitions"]:
            if entry["error_code"] == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
                continue   # refused first, as the one broker's handler does
            key = (topic["name"], entry["partition_index"])
            p, code = replication._leader_or_error(*key)
            if not code and entry["error_code"] != ErrorCode.INVALID_REQUEST:
                code = _epoch_error(p, wanted[key].get("current_leader_epoch", -1))
            if code:
                entry.update(error_code=code, offset=-1, timestamp=-1, leader_epoch=-1)
            elif entry["offset"] >= 0:
                offset = entry["offset"]
                epoch = p.log.epochs.epoch_for_offset(offset if offset < p.log.log_end_offset else offset - 1)
                entry["leader_epoch"] = epoch if epoch >= 0 else p.leader_epoch
    return response


async def delete_records(ctx, req: dict) -> dict:
    """DeleteRecords on the leader only; the followers take the new log start from their fetches."""
    replication = ctx.broker.replication
    led, answers = [], {}
    deletable = ctx.authorized(Op.DELETE, Resource.TOPIC, {t["name"] for t in req["topics"]})
    for topic in req["topics"]:
        parts = []
        for part in topic["partitions"]:
            code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            if topic["name"] in deletable:
                _, code = replication._leader_or_error(topic["name"], part["partition_index"])
            if code:
                answers[(topic["name"], part["partition_index"])] = {
                    "partition_index": part["partition_index"], "low_watermark": -1, "error_code": code}
            else:
                parts.append(part)
        if parts:
            led.append({**topic, "partitions": parts})
    if led:
        for topic in (await _delete_records(ctx, {**req, "topics": led}))["topics"]:
            for entry in topic["partitions"]:
                answers[(topic["name"], entry["partition_index"])] = entry
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [answers[(t["name"], p["partition_index"])] for p in t["partitions"]]}
        for t in req["topics"]]}


def offset_for_leader_epoch(ctx, req: dict) -> dict:
    replicas = ctx.broker.cluster.replicas
    topics = []
    # a follower (CLUSTER_ACTION) may ask of any topic, a client of those it may DESCRIBE (Kafka)
    described = None if ctx.authorize(Op.CLUSTER_ACTION, Resource.CLUSTER, CLUSTER_NAME) else \
        ctx.authorized(Op.DESCRIBE, Resource.TOPIC, {t["topic"] for t in req["topics"]})
    for topic in req["topics"]:
        partitions = []
        for part in topic["partitions"]:
            entry = {"error_code": 0, "partition": part["partition"], "leader_epoch": -1, "end_offset": -1}
            partitions.append(entry)
            if described is not None and topic["topic"] not in described:
                entry["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            p = replicas.partitions.get((topic["topic"], part["partition"]))
            if p is None or not p.is_leader or replicas.fenced:
                known = ctx.broker.cluster.metadata.partition(topic["topic"], part["partition"]) is not None
                entry["error_code"] = ErrorCode.NOT_LEADER_OR_FOLLOWER if known or p is not None \
                    else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            code = _epoch_error(p, part["current_leader_epoch"])
            if code:
                entry["error_code"] = code
                continue
            epoch, end_offset = p.log.epochs.end_offset_for(part["leader_epoch"], p.log.log_end_offset)
            entry.update(leader_epoch=epoch, end_offset=end_offset)
        topics.append({"topic": topic["topic"], "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}


def _elect_errors(req: dict, api_version: int, code: int) -> dict:
    return SERVED[ELECT_LEADERS.api_key].error_response(req, api_version, code)


replace(METADATA, metadata)
_describe_cluster = replace(DESCRIBE_CLUSTER, describe_cluster)
replace(CREATE_TOPICS, create_topics, may_wait=True)
replace(DELETE_TOPICS, delete_topics, may_wait=True)
replace(CREATE_PARTITIONS, create_partitions, may_wait=True)
replace(ELECT_LEADERS, elect_leaders, may_wait=True)
_list_offsets = replace(LIST_OFFSETS, list_offsets)
replace(OFFSET_FOR_LEADER_EPOCH, offset_for_leader_epoch)
replace(ALTER_PARTITION_REASSIGNMENTS, alter_partition_reassignments, may_wait=True)
_delete_records = replace(DELETE_RECORDS, delete_records)
replace(LIST_PARTITION_REASSIGNMENTS, list_partition_reassignments)
