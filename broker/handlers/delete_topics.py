"""DeleteTopics 0-6: delete topics by name (v6: or by id), their files with them.

Deleting a topic also drops what waits on it and the committed offsets of its
partitions (the broker tells its topic listeners).
"""

from uuid import UUID

from broker.errors import storage_error_code
from broker.quotas import THROTTLED_MESSAGE
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import DELETE_TOPICS
from storage.errors import StorageError
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _requested(req: dict, api_version: int) -> list[tuple[str | None, bytes]]:
    if api_version >= 6:
        return [(t["name"], t["topic_id"]) for t in req["topics"]]
    return [(name, bytes(16)) for name in req["topic_names"]]


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "responses": [
        {"name": name, "topic_id": topic_id, "error_code": code} for name, topic_id in _requested(req, api_version)]}


@handles(DELETE_TOPICS, "0-6", error_response=_errors)
def delete_topics(ctx, req: dict) -> dict:
    """The topics deleted are made durable together (one write to disk), before the answer."""
    with ctx.broker.storage.topic_changes():
        return _delete_topics(ctx, req)


def _delete_topics(ctx, req: dict) -> dict:
    broker = ctx.broker
    storage = broker.storage
    responses = []
    quota = broker.mutation_quotas.for_request(ctx, DELETE_TOPICS.name)   # controller_mutation_rate
    for name, topic_id in _requested(req, ctx.api_version):
        entry = {"name": name, "topic_id": topic_id, "error_code": 0, "error_message": None}
        responses.append(entry)
        by_id = name is None
        info = storage.topic_by_id(UUID(bytes=topic_id)) if by_id else storage.topic(name)
        if by_id and info is not None and not ctx.authorize(Op.DESCRIBE, Resource.TOPIC, info.name):
            entry["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED   # its name stays unsaid
            continue
        if not ctx.authorize(Op.DELETE, Resource.TOPIC, info.name if info is not None else name or ""):
            entry.update(name=info.name if info is not None else name, error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            continue
        if info is None:
            entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_ID if by_id else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            continue
        entry.update(name=info.name, topic_id=info.topic_id.bytes)
        if info.internal:
            entry.update(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION,
                         error_message=f"Topic {info.name} is an internal topic and cannot be deleted")
            continue
        if not quota.record(info.num_partitions):
            entry.update(error_code=ErrorCode.THROTTLING_QUOTA_EXCEEDED, error_message=THROTTLED_MESSAGE)
            continue
        try:
            broker.delete_topic(info.name)
        except StorageError as exc:
            entry.update(error_code=storage_error_code(exc), error_message=str(exc) or None)
    return {"throttle_time_ms": quota.throttle_time_ms(), "responses": responses}
