"""Produce 0-12 (v0-2, old clients' message sets: produce_legacy.py).

The hot path: each partition's records are one RecordBatch, kept as the client's
bytes. Storage checks the CRC, rewrites the base offset and appends; no record is
decoded, except on a compacted topic, where a record without a key is refused
(INVALID_RECORD with its record_errors, as Kafka does). acks=0 gets no response; if
such a request fails, the connection is closed so the client notices, as Kafka does.
Unknown topics are auto-created when allowed. With the authorizer on: WRITE on each
topic (else TOPIC_AUTHORIZATION_FAILED for its partitions), CREATE on the cluster or the
topic to auto-create it, and WRITE on the transactional id when the batches are
transactional (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED).

A transactional batch (read from its header) goes only to a partition its transaction has
added (KIP-890 part 1: the transaction coordinator verifies it; if not, v11+ clients get
TRANSACTION_ABORTABLE, older ones INVALID_TXN_STATE, as Kafka answers by version), and only
with the request's transactional id: without one, the whole request gets
TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka answers it.

v12 (Kafka 4.0) has v11's fields. On a Kafka whose finalized transaction.version is 2
(KIP-890 part 2), a transactional v12 batch also adds its partition to the transaction, with
no AddPartitionsToTxn. kbroker finalizes no transaction.version (ApiVersions lists no such
feature), which is the state Kafka's specs describe as "the client can't use produce request
version higher than 11 within a transaction": the Java producer caps a transaction at v11
then, and uses v12 only outside transactions, where v12 is v11. So v12 is served as v11: a
transactional batch is verified, never added, and a partition its transaction did not add
gets TRANSACTION_ABORTABLE. (Kafka's broker itself picks "add" from the version alone; a
client that broke that contract there would have its partition added under the transaction
protocol v2's rules, which kbroker's coordinator does not implement.)
"""

import asyncio

from broker.authz import writable_topic
from broker.clock import now_ms
from broker.errors import CloseConnection, storage_error_code
from broker.handlers.produce_legacy import produce_message_sets
from broker.quotas import user_of
from broker.registry import Encoded, handles
from kproto.errors import ErrorCode
from kproto.messages import PRODUCE
from kproto.produce_fast import encode_success_body
from storage import read_header
from storage.results import AppendResult
from storage.errors import NoRecordBatchError, NotOneBatchError, StorageError, UnsupportedMessageFormatError
from kproto.constants import AclOperation as Op, ResourceType as Resource
from storage.records import ATTR_CONTROL, ATTR_TRANSACTIONAL, ATTRIBUTES_POS, HEADER_BYTES

_ATTRIBUTES_LOW_BYTE = ATTRIBUTES_POS + 1   # the transactional bit is in the low byte of the int16

# Kafka's messages for its rule of Produce v3+, exactly one whole magic-2 batch per partition,
# which storage checks (append(..., one_batch=True)); each error's code is INVALID_RECORD.
ONE_BATCH_MESSAGES = {
    NoRecordBatchError: "Produce requests must have at least one record batch per partition",
    UnsupportedMessageFormatError: "Produce requests are only allowed to contain record batches with magic version 2",
    NotOneBatchError: "Produce requests must contain exactly one whole record batch per partition",
}
NOT_IN_TRANSACTION = "Partition was not added to the transaction"


def _transactional_data(records) -> bool:
    """A transactional batch of records, not a control batch (which storage refuses from clients)."""
    return records is not None and len(records) >= HEADER_BYTES and (
        records[_ATTRIBUTES_LOW_BYTE] & (ATTR_TRANSACTIONAL | ATTR_CONTROL)) == ATTR_TRANSACTIONAL


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


def _any_transactional(req: dict) -> bool:
    """Whether any batch is transactional (one byte of each header)."""
    for topic in req["topic_data"]:
        for part in topic["partition_data"]:
            records = part["records"]
            if records is not None and len(records) >= HEADER_BYTES and records[_ATTRIBUTES_LOW_BYTE] & ATTR_TRANSACTIONAL:
                return True
    return False


@handles(PRODUCE, "0-12", error_response=_errors)
def produce(ctx, req: dict) -> dict | None:
    throttle_ms = _throttle_ms(ctx, req) if ctx.broker.client_quotas.byte_rates else 0
    if ctx.api_version < 3:
        response = produce_message_sets(ctx, req)
        if response is not None and throttle_ms:
            response["throttle_time_ms"] = throttle_ms
        return response
    acks = req["acks"]
    if acks not in (-1, 0, 1):
        return _errors(req, ctx.api_version, ErrorCode.INVALID_REQUIRED_ACKS)
    transactional_id = req["transactional_id"]
    broker = ctx.broker
    storage = broker.storage
    replication = broker.replication   # cluster mode: leadership, ISR and acks=all; None for one broker
    authorizer = broker.authorizer
    if (transactional_id is None or authorizer is not None) and _any_transactional(req):
        # Transactional batches need the request's transactional id, and WRITE on it.
        if transactional_id is None or not ctx.authorize(Op.WRITE, Resource.TRANSACTIONAL_ID, transactional_id):
            return _errors(req, ctx.api_version, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    now = now_ms()
    failed = False
    responses = []
    for topic in req["topic_data"]:
        name = topic["name"]
        info, topic_error = writable_topic(ctx, name, may_create=replication is None)
        partitions = []
        for part in topic["partition_data"]:
            index = part["index"]
            if topic_error:
                code = topic_error
            elif replication is not None:
                code = replication.produce_error(name, index, acks)
            else:
                code = 0 if 0 <= index < info.num_partitions else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            if code:
                partitions.append(_partition_error(index, code))
                failed = True
                continue
            records = part["records"]
            if transactional_id is not None and _transactional_data(records):
                header = read_header(records)
                code = broker.transactions.verify_produce(ctx.api_version, transactional_id, header.producer_id,
                                                          header.producer_epoch, name, index)
                if code:
                    message = NOT_IN_TRANSACTION if code == ErrorCode.INVALID_TXN_STATE else None
                    partitions.append(_partition_error(index, code, message))
                    failed = True
                    continue
            try:
                result = storage.partition(name, index).append(records or b"", now, one_batch=True)
            except StorageError as exc:
                partitions.append(_refused(index, exc))
                failed = True
                continue
            if not result.duplicate:
                broker.notify_append(name, index)
            if replication is not None:
                replication.appended(name, index, result.last_offset + 1, acks)
            partitions.append((index, result.base_offset, result.log_append_time_ms, result.log_start_offset))
        responses.append((name, partitions))
    return _answer(ctx.api_version, acks, responses, failed, throttle_ms,
                   one_broker=replication is None, encodable=ctx.connection is not None)


def produce_requests(ctx, requests: list[tuple[int, int, dict]]) -> list:
    """Several plain Produce v3+ requests of one read, (api_version, acks, body) each, handled
    together on one broker (broker/produce_run.py says which): the answer of each, in order,
    as ``produce`` gives it, or the exception that failed it (to be answered as ``produce``'s
    would be). An acks=0 request may only come last: its failure raises CloseConnection.

    The same rules as ``produce``, in one pass: each topic is checked (and auto-created) once,
    the batches of each partition go through one ClientBatches (each checked as one append
    would check it, then all written with one write), waiting fetches are woken once per
    partition, and each request's answer is made from the outcomes of its batches."""
    broker = ctx.broker
    storage = broker.storage
    now = now_ms()
    topics = {}   # name -> (TopicInfo, 0) of the topics found writable
    runs = {}     # (name, index) -> ClientBatches
    plans = []
    for _, _, req in requests:
        plan = []
        for topic in req["topic_data"]:
            name = topic["name"]
            checked = topics.get(name)
            if checked is None:
                checked = writable_topic(ctx, name)
                if not checked[1]:
                    topics[name] = checked   # a refusal is asked again, as each request would ask
            info, topic_error = checked
            entries = []
            for part in topic["partition_data"]:
                index = part["index"]
                code = topic_error or (0 if 0 <= index < info.num_partitions else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                if code:
                    entries.append(_partition_error(index, code))
                    continue
                run = runs.get((name, index))
                if run is None:
                    run = runs[(name, index)] = storage.partition(name, index).client_batches(now)
                entries.append((index, run.outcomes, len(run.outcomes)))
                run.add(part["records"] or b"")
            plan.append((name, entries))
        plans.append(plan)
    for (name, index), run in runs.items():
        if run.store():
            broker.notify_append(name, index)
    answers = []
    for (api_version, acks, _), plan in zip(requests, plans):
        failed = False
        broken = None
        responses = []
        for name, entries in plan:
            partitions = []
            for entry in entries:
                if type(entry) is dict:
                    failed = True
                    partitions.append(entry)
                    continue
                index, outcomes, slot = entry
                outcome = outcomes[slot]
                if type(outcome) is AppendResult:
                    partitions.append((index, outcome.base_offset, outcome.log_append_time_ms,
                                       outcome.log_start_offset))
                elif isinstance(outcome, StorageError):
                    failed = True
                    partitions.append(_refused(index, outcome))
                else:
                    broken = outcome    # a write failed: the request fails, as when it was alone
            responses.append((name, partitions))
        answers.append(broken or _answer(api_version, acks, responses, failed))
    return answers


def _refused(index: int, exc: StorageError) -> dict:
    """The partition's entry for a batch storage refused: Kafka's code and message."""
    message = ONE_BATCH_MESSAGES.get(type(exc)) or str(exc) or None
    return _partition_error(index, storage_error_code(exc), message, getattr(exc, "record_errors", ()))


def _answer(api_version: int, acks: int, responses: list, failed: bool, throttle_ms: int = 0,
            one_broker: bool = True, encodable: bool = True):
    """The answer of a Produce v3+ request from its topics' (name, [partition entry]) (a tuple
    for an appended partition, an error dict else): none for acks=0 (a failure closes the
    connection), the cached skeleton's bytes when everything was appended on one broker, else
    the response dict."""
    if acks == 0:
        if failed:
            raise CloseConnection("an acks=0 produce request failed; closing so the client notices")
        if throttle_ms and one_broker:
            return _muted(throttle_ms)   # no answer to carry the throttle: the connection is muted as long
        return None
    if not failed and one_broker and encodable and not throttle_ms:
        # All appended, nothing to add later (cluster mode's acks=all outcome, leader hints):
        # the answer a connection sends is encoded into its cached skeleton.
        return Encoded(encode_success_body(api_version, responses))
    return {"responses": [{"name": name, "partition_responses": [
        _success(entry) if type(entry) is tuple else entry for entry in partitions]}
        for name, partitions in responses], "throttle_time_ms": throttle_ms}


async def _muted(throttle_ms: int) -> None:
    """An acks=0 client over its quota: the connection's task waits (reading nothing) and answers nothing."""
    await asyncio.sleep(throttle_ms / 1000)


def _throttle_ms(ctx, req: dict) -> int:
    """producer_byte_rate (broker/quotas.py): the request's record bytes counted against the
    client's quota, and how long it must then wait (the connection mutes it that long)."""
    if ctx.connection is None:
        return 0
    size = sum(len(p["records"] or b"") for t in req["topic_data"] for p in t["partition_data"])
    return ctx.broker.produce_quotas.record(user_of(ctx.principal), ctx.client_id or "", size, now_ms())


def _success(entry: tuple) -> dict:
    index, base_offset, log_append_time_ms, log_start_offset = entry
    return {"index": index, "error_code": 0, "base_offset": base_offset, "log_append_time_ms": log_append_time_ms,
            "log_start_offset": log_start_offset}
