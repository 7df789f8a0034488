"""DescribeTopicPartitions 0 (KIP-966): topics and their partitions, a page at a time.

Topics are answered in name order, all of them (empty list) or those named, from the
cursor's topic and partition on, with at most ``response_partition_limit`` partitions
(at least 1, at most 2,000, Kafka's ``max.request.partition.size.limit``); the next
cursor points at the first partition left out. A topic named but unknown is answered
with its error (not when listing all); a topic that no partition of fits in the page is
left for the next one. A cursor whose topic is not among the names asked for, or whose
partition is negative, makes the whole request INVALID_REQUEST, as in Kafka.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_TOPIC_PARTITIONS
from storage import validate_topic_name
from storage.errors import StorageError
from kproto.constants import AclOperation as Op, ResourceType as Resource

MAX_PARTITIONS = 2000   # Kafka's max.request.partition.size.limit


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "next_cursor": None, "topics": [
        {"error_code": code, "name": t["name"], "topic_id": bytes(16), "is_internal": False, "partitions": []}
        for t in req["topics"]]}


def _unknown(name: str) -> dict:
    try:
        validate_topic_name(name)
        code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    except StorageError:
        code = ErrorCode.INVALID_TOPIC_EXCEPTION
    return {"error_code": code, "name": name, "topic_id": bytes(16), "is_internal": False, "partitions": []}


@handles(DESCRIBE_TOPIC_PARTITIONS, "0", error_response=_errors)
def describe_topic_partitions(ctx, req: dict) -> dict:
    broker = ctx.broker
    storage = broker.storage
    cursor = req["cursor"]
    first = cursor["topic_name"] if cursor is not None else ""
    listing_all = not req["topics"]
    names = storage.topics() if listing_all else {t["name"] for t in req["topics"]}
    names = sorted(name for name in names if name >= first)
    if cursor is not None and (cursor["partition_index"] < 0 or (not listing_all and first not in names)):
        return _errors(req, ctx.api_version, ErrorCode.INVALID_REQUEST)
    remaining = max(min(MAX_PARTITIONS, req["response_partition_limit"]), 1)
    node = broker.node_id
    topics, next_cursor = [], None
    for name in names:
        if remaining == 0:
            next_cursor = {"topic_name": name, "partition_index": 0}
            break
        if not ctx.authorize(Op.DESCRIBE, Resource.TOPIC, name):   # hidden from a listing, refused by name
            if not listing_all:
                topics.append({**_unknown(name), "error_code": ErrorCode.TOPIC_AUTHORIZATION_FAILED})
            continue
        info = storage.topic(name)
        if info is None:
            if not listing_all:
                topics.append(_unknown(name))
            continue
        start = cursor["partition_index"] if cursor is not None and name == first else 0
        end = min(info.num_partitions, start + remaining)
        topics.append({
            "error_code": 0, "name": name, "topic_id": info.topic_id.bytes, "is_internal": info.internal,
            "partitions": [{"error_code": 0, "partition_index": index, "leader_id": node, "leader_epoch": 0,
                            "replica_nodes": [node], "isr_nodes": [node], "eligible_leader_replicas": [],
                            "last_known_elr": [], "offline_replicas": []} for index in range(start, end)],
            "topic_authorized_operations": ctx.authorized_operations(Resource.TOPIC, name)})
        if end < info.num_partitions:
            next_cursor = {"topic_name": name, "partition_index": end}
            break
        remaining -= max(end - start, 0)
    return {"throttle_time_ms": 0, "topics": topics, "next_cursor": next_cursor}
