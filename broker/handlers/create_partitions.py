"""CreatePartitions 0-3: grow topics; the existing partitions keep their data, so keys already
written stay where they are (new records of a key may hash to a new partition, as in Kafka).

One broker: the new partitions are led here with one replica, so assignments given by a
client must name this broker once per new partition, checked with the controller's
messages. A name given twice is answered once, first, with INVALID_REQUEST. A request
adding more than Kafka's controller takes in one batch (10,000 partitions) is refused
with POLICY_VIOLATION. ``__consumer_offsets`` keeps its count: group ids are hashed
over its partitions, so growing it would lose every group's committed offsets;
kafka-topics refuses this too. validate_only checks and creates nothing.
"""

from collections import Counter

from broker.errors import storage_error_code
from broker.quotas import THROTTLED_MESSAGE
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import CREATE_PARTITIONS
from storage.errors import StorageError
from kproto.constants import AclOperation as Op, ResourceType as Resource

MAX_NEW_PARTITIONS = 10000   # the most records Kafka's controller writes for one request


class _Refused(Exception):
    def __init__(self, code: int, message: str | None):
        super().__init__(message)
        self.code, self.message = code, message


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "results": [
        {"name": t["name"], "error_code": code, "error_message": None} for t in req["topics"]]}


def _check_assignments(assignments: list[dict] | None, current: int, additional: int, node_id: int) -> None:
    if assignments is None:
        return
    if len(assignments) != additional:
        raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"Attempted to add {additional} additional "
                       f"partition(s), but only {len(assignments)} assignment(s) were specified.")
    for assignment in assignments:
        replicas = sorted(assignment["broker_ids"])
        if not replicas:
            raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                           "The manual partition assignment includes an empty replica list.")
        for i, broker_id in enumerate(replicas):
            if broker_id != node_id:
                raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes "
                               f"broker {broker_id}, but no such broker is registered.")
            if i and replicas[i - 1] == broker_id:
                raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes "
                               f"the broker {broker_id} more than once.")


def _plan(ctx, topic: dict) -> tuple[int, int]:
    """(current count, new count); _Refused with the code and message Kafka gives."""
    if not ctx.authorize(Op.ALTER, Resource.TOPIC, topic["name"]):
        raise _Refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED, "The topic authorization is failed.")
    info = ctx.broker.storage.topic(topic["name"])
    if info is None:
        raise _Refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None)
    if info.internal:
        raise _Refused(ErrorCode.INVALID_TOPIC_EXCEPTION,
                       f"The number of partitions for the internal topic {info.name} cannot be changed.")
    current, count = info.num_partitions, topic["count"]
    if count == current:
        raise _Refused(ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partition(s).")
    if count < current:
        raise _Refused(ErrorCode.INVALID_PARTITIONS, f"The topic {info.name} currently has {current} partition(s); "
                       f"{count} would not be an increase.")
    _check_assignments(topic["assignments"], current, count - current, ctx.broker.node_id)
    return current, count


@handles(CREATE_PARTITIONS, "0-3", error_response=_errors)
def create_partitions(ctx, req: dict) -> dict:
    storage = ctx.broker.storage
    counts = Counter(t["name"] for t in req["topics"])
    duplicates = list(dict.fromkeys(name for name in counts if counts[name] > 1))
    results = [{"name": name, "error_code": ErrorCode.INVALID_REQUEST, "error_message": "Duplicate topic name."}
               for name in duplicates]
    budget = MAX_NEW_PARTITIONS
    quota = ctx.broker.mutation_quotas.for_request(ctx, CREATE_PARTITIONS.name)   # controller_mutation_rate
    for topic in req["topics"]:
        if counts[topic["name"]] > 1:
            continue
        result = {"name": topic["name"], "error_code": 0, "error_message": None}
        results.append(result)
        try:
            current, count = _plan(ctx, topic)
            budget -= count - current
            if budget < 0:
                raise _Refused(ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation.")
            if not quota.record(count - current):
                raise _Refused(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLED_MESSAGE)
            if not req["validate_only"]:
                storage.create_partitions(topic["name"], count)
        except _Refused as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        except StorageError as exc:
            result.update(error_code=storage_error_code(exc), error_message=str(exc) or None)
    return {"throttle_time_ms": quota.throttle_time_ms(), "results": results}
