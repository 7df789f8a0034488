"""Produce 0-11 (v0-2, old clients' message sets: produce_legacy.py).

The hot path: each partition's records are one RecordBatch, kept as the client's
bytes. Storage checks the CRC, rewrites the base offset and appends; no record is
decoded, except on a compacted topic, where a record without a key is refused
(INVALID_RECORD with its record_errors, as Kafka does). acks=0 gets no response; if
such a request fails, the connection is closed so the client notices, as Kafka does.
Unknown topics are auto-created when allowed.
"""

from broker.clock import now_ms
from broker.errors import CloseConnection, storage_error_code
from broker.handlers.produce_legacy import produce_message_sets
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import PRODUCE
from storage import validate_topic_name
from storage.errors import NoRecordBatchError, NotOneBatchError, StorageError, UnsupportedMessageFormatError

# Kafka's messages for its rule of Produce v3+, exactly one whole magic-2 batch per partition,
# which storage checks (append(..., one_batch=True)); each error's code is INVALID_RECORD.
ONE_BATCH_MESSAGES = {
    NoRecordBatchError: "Produce requests must have at least one record batch per partition",
    UnsupportedMessageFormatError: "Produce requests are only allowed to contain record batches with magic version 2",
    NotOneBatchError: "Produce requests must contain exactly one whole record batch per partition",
}


def _partition_error(index: int, code: int, message: str | None = None, record_errors=()) -> dict:
    return {"index": index, "error_code": code, "base_offset": -1, "log_append_time_ms": -1,
            "log_start_offset": -1, "error_message": message, "record_errors": [
                {"batch_index": i, "batch_index_error_message": m} for i, m in record_errors]}


def _errors(req: dict, api_version: int, code: int) -> dict:
    if req["acks"] == 0:   # no response is due: close, as for any failed acks=0 request
        raise CloseConnection(f"an acks=0 produce request failed with error {code}; closing so the client notices")
    return {"responses": [{"name": t["name"], "partition_responses": [
        _partition_error(p["index"], code) for p in t["partition_data"]]} for t in req["topic_data"]],
        "throttle_time_ms": 0}


@handles(PRODUCE, "0-11", error_response=_errors)
def produce(ctx, req: dict) -> dict | None:
    if ctx.api_version < 3:
        return produce_message_sets(ctx, req)
    acks = req["acks"]
    if acks not in (-1, 0, 1):
        return _errors(req, ctx.api_version, ErrorCode.INVALID_REQUIRED_ACKS)
    broker = ctx.broker
    storage = broker.storage
    replication = broker.replication   # cluster mode: leadership, ISR and acks=all; None for one broker
    now = now_ms()
    failed = False
    responses = []
    for topic in req["topic_data"]:
        name = topic["name"]
        info = storage.topic(name)
        topic_error = 0
        if info is None and replication is None:
            try:
                validate_topic_name(name)
                info = broker.auto_create(name)
            except StorageError as exc:
                topic_error = storage_error_code(exc)
            if info is None and not topic_error:
                topic_error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        partitions = []
        for part in topic["partition_data"]:
            index = part["index"]
            if replication is not None:
                code = replication.produce_error(name, index, acks)
            elif topic_error:
                code = topic_error
            else:
                code = 0 if 0 <= index < info.num_partitions else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            if code:
                partitions.append(_partition_error(index, code))
                failed = True
                continue
            try:
                result = storage.partition(name, index).append(part["records"] or b"", now, one_batch=True)
            except StorageError as exc:
                message = ONE_BATCH_MESSAGES.get(type(exc)) or str(exc) or None
                partitions.append(_partition_error(index, storage_error_code(exc), message,
                                                   getattr(exc, "record_errors", ())))
                failed = True
                continue
            if not result.duplicate:
                broker.notify_append(name, index)
            if replication is not None:
                replication.appended(name, index, result.last_offset + 1, acks)
            partitions.append({"index": index, "error_code": 0, "base_offset": result.base_offset,
                               "log_append_time_ms": result.log_append_time_ms,
                               "log_start_offset": result.log_start_offset})
        responses.append({"name": name, "partition_responses": partitions})
    if acks == 0:
        if failed:
            raise CloseConnection("an acks=0 produce request failed; closing so the client notices")
        return None
    return {"responses": responses, "throttle_time_ms": 0}
