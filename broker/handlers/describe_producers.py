"""DescribeProducers 0: the producers a partition's log knows (kafka-transactions.sh
describe-producers, to find a hanging transaction): epoch, last sequence and timestamp, the
coordinator epoch of its last marker, and where its open transaction starts.

A name no topic can have gets INVALID_TOPIC_EXCEPTION with Kafka's reason, before anything
else; then, with the authorizer on, READ on each topic (else TOPIC_AUTHORIZATION_FAILED for
its partitions), as Kafka checks."""

from broker.authz import TOPIC_AUTHORIZATION_FAILED_MESSAGE
from broker.registry import handles
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_PRODUCERS
from storage import InvalidTopicError, validate_topic_name

MAX_TOPIC_NAME_LENGTH = 249
UNKNOWN_TOPIC_MESSAGE = "This server does not host this topic-partition."   # Kafka's Errors message


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p, "error_code": code, "error_message": None,
                                            "active_producers": []} for p in t["partition_indexes"]]}
        for t in req["topics"]]}


def _invalid(name: str) -> str | None:
    """Kafka's message (Topic.validate) for a name no topic can have; None for a valid one."""
    try:
        validate_topic_name(name)
        return None
    except InvalidTopicError:
        pass
    if not name:
        reason = "the empty string is not allowed"
    elif name in (".", ".."):
        reason = f"'{name}' is not allowed"
    elif len(name) > MAX_TOPIC_NAME_LENGTH:
        reason = f"the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME_LENGTH}"
    else:
        reason = f"'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
    return "Topic name is invalid: " + reason


def _error(index: int, code: int, message: str | None) -> dict:
    return {"partition_index": index, "error_code": code, "error_message": message, "active_producers": []}


def _producers(log) -> list[dict]:
    return [{"producer_id": producer_id, "producer_epoch": entry.producer_epoch,
             "last_sequence": entry.last_sequence(), "last_timestamp": entry.last_timestamp,
             "coordinator_epoch": entry.coordinator_epoch,
             "current_txn_start_offset": entry.current_txn_first_offset}
            for producer_id, entry in sorted(log.producer_state.producers.items())]


@handles(DESCRIBE_PRODUCERS, "0", error_response=_errors)
def describe_producers(ctx, req: dict) -> dict:
    storage = ctx.broker.storage
    topics = []
    readable = ctx.authorized(Op.READ, Resource.TOPIC, {t["name"] for t in req["topics"]})
    for topic in req["topics"]:
        name = topic["name"]
        info = storage.topic(name)
        invalid = _invalid(name)
        partitions = []
        for index in topic["partition_indexes"]:
            if invalid is not None:
                partitions.append(_error(index, ErrorCode.INVALID_TOPIC_EXCEPTION, invalid))
            elif name not in readable:
                partitions.append(_error(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                                         TOPIC_AUTHORIZATION_FAILED_MESSAGE))
            elif info is None:   # Kafka's handler answers this one, with the error's message
                partitions.append(_error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_MESSAGE))
            elif not 0 <= index < info.num_partitions:   # and the replica manager this one, without
                partitions.append(_error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None))
            else:
                partitions.append({"partition_index": index, "error_code": ErrorCode.NONE, "error_message": None,
                                   "active_producers": _producers(storage.partition(info.name, index))})
        topics.append({"name": name, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
