"""Produce v0-2: message sets of magic 0 and 1, as clients before Kafka 0.11 send them.

Each partition's message set is checked as Kafka 3.9 checks it (the CRC-32 of every
message, wrappers and their inner messages: storage.legacy_records) and appended as one v2
batch of its records, each record its own offset; the response names the first. A v2 batch
in these versions is appended as it is. A message set without one whole message appends
nothing and answers base offset -1 without an error, as Kafka does. These versions carry no
transactional id: a transactional batch gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED for the
whole request. With the authorizer on, the checks of v3+: WRITE on each topic (else
TOPIC_AUTHORIZATION_FAILED for its partitions), CREATE on the cluster or the topic to
auto-create it. acks=0 gets no response; a failure then closes the connection.

Only these versions decode records; Produce v3+ (produce.py) never does.
"""

from broker.authz import writable_topic
from broker.clock import now_ms
from broker.errors import CloseConnection
from broker.errors import storage_error_code
from kproto.errors import ErrorCode
from storage.errors import StorageError
from storage.legacy_records import MAGIC_POS, to_record_batch
from storage.records import ATTR_TRANSACTIONAL, ATTRIBUTES_POS, CURRENT_MAGIC, HEADER_BYTES


def _answer(index: int, code: int, base_offset: int = -1, log_append_time_ms: int = -1) -> dict:
    return {"index": index, "error_code": code, "base_offset": base_offset, "log_append_time_ms": log_append_time_ms}


def _everywhere(req: dict, code: int) -> dict:
    if req["acks"] == 0:
        raise CloseConnection(f"an acks=0 produce request failed with error {code}; closing so the client notices")
    return {"responses": [{"name": t["name"], "partition_responses": [_answer(p["index"], code)
                                                                      for p in t["partition_data"]]}
                          for t in req["topic_data"]], "throttle_time_ms": 0}


def _transactional(records) -> bool:
    """A v2 batch with its transactional bit set (a message set has no such bit)."""
    return (records is not None and len(records) >= HEADER_BYTES and records[MAGIC_POS] == CURRENT_MAGIC
            and bool(records[ATTRIBUTES_POS + 1] & ATTR_TRANSACTIONAL))


def produce_message_sets(ctx, req: dict) -> dict | None:
    acks = req["acks"]
    if acks not in (-1, 0, 1):
        return _everywhere(req, ErrorCode.INVALID_REQUIRED_ACKS)
    if any(_transactional(p["records"]) for t in req["topic_data"] for p in t["partition_data"]):
        return _everywhere(req, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    broker = ctx.broker
    storage = broker.storage
    now = now_ms()
    failed = False
    responses = []
    for topic in req["topic_data"]:
        name = topic["name"]
        info, topic_error = writable_topic(ctx, name)
        partitions = []
        for part in topic["partition_data"]:
            index = part["index"]
            if not topic_error and not 0 <= index < info.num_partitions:
                code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                code = topic_error
            if code:
                partitions.append(_answer(index, code))
                failed = True
                continue
            log = storage.partition(name, index)
            config = log.config
            try:
                batch = to_record_batch(part["records"] or b"", max_message_bytes=config.max_message_bytes,
                                        log_append_time=config.log_append_time,
                                        compacted="compact" in config.cleanup_policy)
                if batch is None:
                    partitions.append(_answer(index, 0))
                    continue
                result = log.append(batch, now, one_batch=True)
            except StorageError as exc:
                partitions.append(_answer(index, storage_error_code(exc)))
                failed = True
                continue
            if not result.duplicate:
                broker.notify_append(name, index)
            partitions.append(_answer(index, 0, result.base_offset, result.log_append_time_ms))
        responses.append({"name": name, "partition_responses": partitions})
    if acks == 0:
        if failed:
            raise CloseConnection("an acks=0 produce request failed; closing so the client notices")
        return None
    return {"responses": responses, "throttle_time_ms": 0}
