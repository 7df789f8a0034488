"""DescribeProducers 0: the producers a partition's log knows (kafka-transactions.sh
describe-producers, to find a hanging transaction): epoch, last sequence and timestamp, the
coordinator epoch of its last marker, and where its open transaction starts."""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_PRODUCERS


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p, "error_code": code, "error_message": None,
                                            "active_producers": []} for p in t["partition_indexes"]]}
        for t in req["topics"]]}


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
    for topic in req["topics"]:
        info = storage.topic(topic["name"])
        partitions = []
        for index in topic["partition_indexes"]:
            if info is None or not 0 <= index < info.num_partitions:
                partitions.append({"partition_index": index, "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                   "error_message": None, "active_producers": []})
            else:
                partitions.append({"partition_index": index, "error_code": ErrorCode.NONE, "error_message": None,
                                   "active_producers": _producers(storage.partition(info.name, index))})
        topics.append({"name": topic["name"], "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
