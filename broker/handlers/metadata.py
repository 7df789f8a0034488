"""Metadata 0-12: this broker, and it leads every partition.

Topics are listed all (null list; an empty list in v0) or by name (or id, v10+).
An unknown topic is created when auto-creation is on and the request allows it
(always for v0-3); it is answered at once, ready to use.
"""

from uuid import UUID

from broker.errors import storage_error_code
from broker.registry import Encoded, handles
from kproto.codec import encode_response_body
from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED, AclOperation as Op, authorized_operations
from kproto.errors import ErrorCode
from kproto.messages import METADATA
from storage import validate_topic_name
from storage.errors import StorageError

# No ACLs: every operation that applies to the resource is allowed.
TOPIC_OPERATIONS = authorized_operations(Op.READ, Op.WRITE, Op.CREATE, Op.DELETE, Op.ALTER, Op.DESCRIBE,
                                         Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS)
CLUSTER_OPERATIONS = authorized_operations(Op.CREATE, Op.ALTER, Op.DESCRIBE, Op.CLUSTER_ACTION,
                                           Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS, Op.IDEMPOTENT_WRITE)


def topic_entry(broker, info, include_operations: bool) -> dict:
    node = broker.node_id
    return {
        "error_code": 0, "name": info.name, "topic_id": info.topic_id.bytes, "is_internal": info.internal,
        "partitions": [{"error_code": 0, "partition_index": index, "leader_id": node, "leader_epoch": 0,
                        "replica_nodes": [node], "isr_nodes": [node], "offline_replicas": []}
                       for index in range(info.num_partitions)],
        "topic_authorized_operations": TOPIC_OPERATIONS if include_operations else AUTHORIZED_OPERATIONS_OMITTED,
    }


def error_entry(name, topic_id: bytes, code: int) -> dict:
    return {"error_code": code, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": []}


@handles(METADATA, "0-12")
def metadata(ctx, req: dict) -> dict | Encoded:
    broker = ctx.broker
    storage = broker.storage
    include_ops = req["include_topic_authorized_operations"]
    requested = req["topics"]
    if requested is None or (ctx.api_version == 0 and not requested):
        # The answer for all topics is kept, encoded, until a topic changes.
        key = ("metadata", ctx.api_version, include_ops, req["include_cluster_authorized_operations"])
        cached = broker.topic_cache.get(key)
        if cached is None:
            topics = [topic_entry(broker, info, include_ops) for info in storage.topics().values()]
            cached = broker.topic_cache[key] = Encoded(
                encode_response_body(METADATA, ctx.api_version, _response(ctx, req, topics)))
        return cached
    topics = []
    for wanted in requested:
        name, topic_id = wanted["name"], wanted["topic_id"]
        if name is None:
            info = storage.topic_by_id(UUID(bytes=topic_id))
            topics.append(topic_entry(broker, info, include_ops) if info is not None
                          else error_entry(None, topic_id, ErrorCode.UNKNOWN_TOPIC_ID))
            continue
        info = storage.topic(name)
        if info is None:
            try:
                validate_topic_name(name)
                if req["allow_auto_topic_creation"]:
                    info = broker.auto_create(name)
            except StorageError as exc:
                topics.append(error_entry(name, bytes(16), storage_error_code(exc)))
                continue
        topics.append(topic_entry(broker, info, include_ops) if info is not None
                      else error_entry(name, bytes(16), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
    return _response(ctx, req, topics)


def _response(ctx, req: dict, topics: list[dict]) -> dict:
    broker = ctx.broker
    host, port = broker.advertised
    return {
        "throttle_time_ms": 0,
        "brokers": [{"node_id": broker.node_id, "host": host, "port": port, "rack": None}],
        "cluster_id": broker.cluster_id,
        "controller_id": broker.node_id,
        "topics": topics,
        "cluster_authorized_operations":
            CLUSTER_OPERATIONS if req["include_cluster_authorized_operations"] else AUTHORIZED_OPERATIONS_OMITTED,
    }
