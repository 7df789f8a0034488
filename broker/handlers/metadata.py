"""Metadata 0-13: this broker, and it leads every partition.

Topics are listed all (null list; an empty list in v0) or by name (or id, v10+).
An unknown topic is created when auto-creation is on and the request allows it
(always for v0-3); it is answered at once, ready to use. The broker's address is
that of the listener the request came in on. v13's top-level error code (KIP-1102) is
NONE: Kafka sets none in a broker's answer either (a client reads REBOOTSTRAP_REQUIRED
there as "start over from the bootstrap servers", which one broker never needs to say).

With the authorizer on, as Kafka: a topic the client may not DESCRIBE is left out of an
all-topics answer and answered TOPIC_AUTHORIZATION_FAILED when named (by id: with its id,
without its name); an unknown topic is auto-created only with CREATE on the cluster or on
the topic (else TOPIC_AUTHORIZATION_FAILED); the authorized operations (v8+) are computed
from the ACLs, and the cluster's are 0 without DESCRIBE on the cluster.
"""

from uuid import UUID

from broker.errors import storage_error_code
from broker.registry import Encoded, handles
from broker.security.authorizer import SUPPORTED_OPERATIONS
from kproto.codec import encode_response_body
from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_NAME, AclOperation as Op, ResourceType
from kproto.constants import authorized_operations
from kproto.errors import ErrorCode
from kproto.messages import METADATA
from storage import validate_topic_name
from storage.errors import StorageError

# No ACLs: every operation that applies to the resource is allowed.
TOPIC_OPERATIONS = authorized_operations(*SUPPORTED_OPERATIONS[ResourceType.TOPIC])
CLUSTER_OPERATIONS = authorized_operations(*SUPPORTED_OPERATIONS[ResourceType.CLUSTER])


def topic_entry(broker, info, include_operations: bool, ctx=None) -> dict:
    node = broker.node_id
    if not include_operations:
        operations = AUTHORIZED_OPERATIONS_OMITTED
    elif ctx is None or broker.authorizer is None:
        operations = TOPIC_OPERATIONS
    else:
        operations = ctx.authorized_operations(ResourceType.TOPIC, info.name)
    return {
        "error_code": 0, "name": info.name, "topic_id": info.topic_id.bytes, "is_internal": info.internal,
        "partitions": [{"error_code": 0, "partition_index": index, "leader_id": node, "leader_epoch": 0,
                        "replica_nodes": [node], "isr_nodes": [node], "offline_replicas": []}
                       for index in range(info.num_partitions)],
        "topic_authorized_operations": operations,
    }


def error_entry(name, topic_id: bytes, code: int) -> dict:
    return {"error_code": code, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": []}


def cluster_operations(ctx, included: bool) -> int:
    if not included:
        return AUTHORIZED_OPERATIONS_OMITTED
    if ctx.broker.authorizer is None:
        return CLUSTER_OPERATIONS
    if not ctx.authorize(Op.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):
        return 0
    return ctx.authorized_operations(ResourceType.CLUSTER, CLUSTER_NAME)


@handles(METADATA, "0-13")
def metadata(ctx, req: dict) -> dict | Encoded:
    """The topics auto-created are made durable together (one write to disk), before the answer."""
    with ctx.broker.storage.topic_changes():
        return _metadata(ctx, req)


def _metadata(ctx, req: dict) -> dict | Encoded:
    broker = ctx.broker
    storage = broker.storage
    include_ops = req["include_topic_authorized_operations"]
    requested = req["topics"]
    secured = broker.authorizer is not None
    if requested is None or (ctx.api_version == 0 and not requested):
        if secured:   # what a client sees depends on who it is: nothing kept
            topics = [topic_entry(broker, info, include_ops, ctx) for name, info in storage.topics().items()
                      if ctx.authorize(Op.DESCRIBE, ResourceType.TOPIC, name)]
            return _response(ctx, req, topics)
        # The answer for all topics is kept, encoded, until a topic changes.
        key = ("metadata", ctx.listener.name, ctx.api_version, include_ops, req["include_cluster_authorized_operations"])
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
            if info is None:
                topics.append(error_entry(None, topic_id, ErrorCode.UNKNOWN_TOPIC_ID))
            elif secured and not ctx.authorize(Op.DESCRIBE, ResourceType.TOPIC, info.name):
                topics.append(error_entry(None, topic_id, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
            else:
                topics.append(topic_entry(broker, info, include_ops, ctx))
            continue
        if secured and not ctx.authorize(Op.DESCRIBE, ResourceType.TOPIC, name):
            topics.append(error_entry(name, bytes(16), ErrorCode.TOPIC_AUTHORIZATION_FAILED))
            continue
        info = storage.topic(name)
        if info is None:
            try:
                validate_topic_name(name)
                if req["allow_auto_topic_creation"] and broker.config.auto_create_topics and secured and not (
                        ctx.authorize(Op.CREATE, ResourceType.CLUSTER, CLUSTER_NAME)
                        or ctx.authorize(Op.CREATE, ResourceType.TOPIC, name)):
                    topics.append(error_entry(name, bytes(16), ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                    continue
                if req["allow_auto_topic_creation"]:
                    info = broker.auto_create(name)
            except StorageError as exc:
                topics.append(error_entry(name, bytes(16), storage_error_code(exc)))
                continue
        topics.append(topic_entry(broker, info, include_ops, ctx) if info is not None
                      else error_entry(name, bytes(16), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
    return _response(ctx, req, topics)


def _response(ctx, req: dict, topics: list[dict]) -> dict:
    broker = ctx.broker
    host, port = ctx.listener.advertised
    return {
        "throttle_time_ms": 0,
        "brokers": [{"node_id": broker.node_id, "host": host, "port": port, "rack": None}],
        "cluster_id": broker.cluster_id,
        "controller_id": broker.node_id,
        "topics": topics,
        "cluster_authorized_operations": cluster_operations(ctx, req["include_cluster_authorized_operations"]),
        "error_code": ErrorCode.NONE,
    }
