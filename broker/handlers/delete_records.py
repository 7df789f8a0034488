"""DeleteRecords 0-2: move each partition's log start offset to the offset given (-1: the
high watermark); the records below it are gone for every reader at once, and their
segments go at the next retention check.

Per partition, as Kafka answers: the new log start offset (the low watermark), or
UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION for an internal topic,
POLICY_VIOLATION unless cleanup.policy has delete, OFFSET_OUT_OF_RANGE for an offset
past the high watermark (or negative); low_watermark -1 with an error. The answer waits
until log-start-offset-checkpoint is written, so deleted records stay deleted after a crash.
"""

from broker.errors import storage_error_code
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import DELETE_RECORDS
from storage.errors import StorageError

INVALID_LOW_WATERMARK = -1


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [_result(p["partition_index"], code) for p in t["partitions"]]}
        for t in req["topics"]]}


def _result(index: int, code: int, low_watermark: int = INVALID_LOW_WATERMARK) -> dict:
    return {"partition_index": index, "low_watermark": low_watermark, "error_code": code}


@handles(DELETE_RECORDS, "0-2", error_response=_errors)
async def delete_records(ctx, req: dict) -> dict:
    broker = ctx.broker
    storage = broker.storage
    topics = []
    moved = False
    for topic in req["topics"]:
        name = topic["name"]
        info = storage.topic(name)
        partitions = []
        topics.append({"name": name, "partitions": partitions})
        for part in topic["partitions"]:
            index = part["partition_index"]
            if info is None or not 0 <= index < info.num_partitions:
                partitions.append(_result(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            elif info.internal:
                partitions.append(_result(index, ErrorCode.INVALID_TOPIC_EXCEPTION))
            else:
                log = storage.partition(name, index)
                before = log.log_start_offset
                try:
                    low_watermark = log.delete_records(part["offset"])
                except StorageError as exc:
                    partitions.append(_result(index, storage_error_code(exc)))
                    continue
                moved = moved or low_watermark != before
                partitions.append(_result(index, ErrorCode.NONE, low_watermark))
    if moved:
        await broker.log_service.checkpoint_log_start_offsets()
    return {"throttle_time_ms": 0, "topics": topics}
