"""Produce 0-11 (v0-2, old clients' message sets: produce_legacy.py).

The hot path: each partition's records are one RecordBatch, kept as the client's
bytes. Storage checks the CRC, rewrites the base offset and appends; no record is
decoded, except on a compacted topic, where a record without a key is refused
(INVALID_RECORD with its record_errors, as Kafka does). acks=0 gets no response; if
such a request fails, the connection is closed so the client notices, as Kafka does.
Unknown topics are auto-created when allowed. With the authorizer on: WRITE on each
topic (else TOPIC_AUTHORIZATION_FAILED for its partitions), CREATE on the cluster or the
topic to auto-create it, and WRITE on the transactional id when the batches are
transactional (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
"""

from broker.clock import now_ms
from broker.errors import CloseConnection, storage_error_code
from broker.handlers.produce_legacy import produce_message_sets
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import PRODUCE
from storage import validate_topic_name
from storage.errors import NoRecordBatchError, NotOneBatchError, StorageError, UnsupportedMessageFormatError
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource

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


def _transactional(req: dict) -> bool:
    """Whether any batch is transactional (attributes bit 4; the attributes end at byte 23)."""
    return any(len(p["records"] or b"") > 22 and p["records"][22] & 0x10
               for t in req["topic_data"] for p in t["partition_data"])


@handles(PRODUCE, "0-11", error_response=_errors)
def produce(ctx, req: dict) -> dict | None:
    if ctx.api_version < 3:
        return produce_message_sets(ctx, req)
    acks = req["acks"]
    if acks not in (-1, 0, 1):
        return _errors(req, ctx.api_version, ErrorCode.INVALID_REQUIRED_ACKS)
    broker = ctx.broker
    storage = broker.storage
    authorizer = broker.authorizer
    if authorizer is not None and _transactional(req) and not (
            req["transactional_id"] is not None
            and ctx.authorize(Op.WRITE, Resource.TRANSACTIONAL_ID, req["transactional_id"])):
        return _errors(req, ctx.api_version, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    now = now_ms()
    failed = False
    responses = []
    for topic in req["topic_data"]:
        name = topic["name"]
        info = storage.topic(name)
        topic_error = 0
        if authorizer is not None and not ctx.authorize(Op.WRITE, Resource.TOPIC, name):
            topic_error = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        elif info is None:
            try:
                validate_topic_name(name)
                if authorizer is None or ctx.authorize(Op.CREATE, Resource.CLUSTER, CLUSTER_NAME) \
                        or ctx.authorize(Op.CREATE, Resource.TOPIC, name):
                    info = broker.auto_create(name)
            except StorageError as exc:
                topic_error = storage_error_code(exc)
            if info is None and not topic_error:
                topic_error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        partitions = []
        for part in topic["partition_data"]:
            index = part["index"]
            if topic_error:
                partitions.append(_partition_error(index, topic_error))
                failed = True
                continue
            if not 0 <= index < info.num_partitions:
                partitions.append(_partition_error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
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
            partitions.append({"index": index, "error_code": 0, "base_offset": result.base_offset,
                               "log_append_time_ms": result.log_append_time_ms,
                               "log_start_offset": result.log_start_offset})
        responses.append({"name": name, "partition_responses": partitions})
    if acks == 0:
        if failed:
            raise CloseConnection("an acks=0 produce request failed; closing so the client notices")
        return None
    return {"responses": responses, "throttle_time_ms": 0}
