"""Fetch 0-17: whole batches from the log, long-polling until min_bytes or max_wait_ms.

Sessionless: every request is a full fetch and the answer's session id is 0, which
clients read as "no session", so they keep sending full fetches. v13+ names topics
by id. Records leave as file ranges for sendfile. As Kafka does (KIP-74), the first
partition with data returns at least one whole batch even when it exceeds the limits;
later partitions stop at the byte limits. A waiting fetch (a long poll) is answered by the
append that brings its data, in that call.
v0-3 get what was read down-converted to message sets (fetch_legacy.py).

isolation_level 1 (read_committed) returns only batches below the last stable offset, and
the aborted transactions overlapping what it returns (from the segments' .txnindex): the
consumer drops their records. Markers and aborted records still go out as they are on disk:
nothing is decoded, as in Kafka.
"""

import asyncio
from uuid import UUID

from broker.clock import now_ms
from broker.errors import storage_error_code
from broker.handlers.fetch_legacy import down_convert_partitions
from broker.quotas import user_of
from broker.registry import ANSWERED, handles
from kproto.constants import CLUSTER_NAME, AclOperation as Op, IsolationLevel, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import FETCH
from storage.errors import StorageError
from storage.results import FileSlice


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "session_id": 0, "responses": []}


class _Partition:
    """One partition of the request and the response entry being filled in."""

    __slots__ = ("log", "topic", "offset", "max_bytes", "entry")

    def __init__(self, log, topic, offset, max_bytes, entry):
        self.log, self.topic, self.offset, self.max_bytes, self.entry = log, topic, offset, max_bytes, entry


def _replica_id(ctx, req: dict) -> int:
    return req["replica_state"]["replica_id"] if ctx.api_version >= 15 else req["replica_id"]


def _resolve(ctx, req: dict) -> tuple[list[dict], list[_Partition], bool]:
    """Response skeleton, the readable partitions, and whether any partition is in error.

    With the authorizer on, a consumer needs READ on each topic; a follower (a replica id of
    0 or more) needs CLUSTER_ACTION on the cluster instead, without which every partition is
    refused, as Kafka answers (TOPIC_AUTHORIZATION_FAILED both)."""
    storage = ctx.broker.storage
    by_id = ctx.api_version >= 13
    responses, readable, errors = [], [], False
    from_follower = ctx.broker.authorizer is not None and _replica_id(ctx, req) >= 0
    follower_refused = from_follower and not ctx.authorize(Op.CLUSTER_ACTION, Resource.CLUSTER, CLUSTER_NAME)
    for topic in req["topics"]:
        info = storage.topic_by_id(UUID(bytes=topic["topic_id"])) if by_id else storage.topic(topic["topic"])
        partitions = []
        responses.append({"topic": topic["topic"], "topic_id": topic["topic_id"], "partitions": partitions})
        for part in topic["partitions"]:
            index = part["partition"]
            entry = partition_entry(index)
            partitions.append(entry)
            if follower_refused or (not from_follower and (info is not None or not by_id) and not ctx.authorize(
                    Op.READ, Resource.TOPIC, info.name if info is not None else topic["topic"])):
                entry["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            elif info is None:
                entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_ID if by_id else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif not 0 <= index < info.num_partitions:
                entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif part["current_leader_epoch"] > 0:
                entry["error_code"] = ErrorCode.UNKNOWN_LEADER_EPOCH
            else:
                readable.append(_Partition(storage.partition(info.name, index), info.name, part["fetch_offset"],
                                           part["partition_max_bytes"], entry))
                continue
            errors = True
    return responses, readable, errors


def _read(partitions: list[_Partition], max_bytes: int, read_committed: bool,
          to_log_end: bool = False) -> tuple[int, bool]:
    """Fill every entry from the log; (bytes gathered, whether any partition is in error).
    Consumers read below the high watermark (or last stable offset); a follower's replica
    fetch (``to_log_end``) to the log end."""
    total, errors = 0, False
    for p in partitions:
        log, entry = p.log, p.entry
        high_watermark = log.high_watermark
        last_stable_offset = log.last_stable_offset
        entry["high_watermark"] = high_watermark
        entry["last_stable_offset"] = last_stable_offset
        entry["log_start_offset"] = log.log_start_offset
        entry["records"] = b""
        end_offset = log.log_end_offset
        end = end_offset if to_log_end else last_stable_offset if read_committed else high_watermark
        if end <= p.offset <= end_offset and p.offset >= log.log_start_offset:
            continue
        limit = min(p.max_bytes, max_bytes - total)
        try:
            result = log.read(p.offset, max(limit, 1), end if end < end_offset else None)
        except StorageError as exc:   # below the log start or past the end: offsets unknown, as Kafka answers
            entry.update(error_code=storage_error_code(exc), high_watermark=-1, last_stable_offset=-1,
                         log_start_offset=-1)
            errors = True
            continue
        if result.size == 0 or (total and result.size > limit):
            continue   # only the first partition with data may exceed the limits
        entry["records"] = result.chunks
        total += result.size
        if read_committed:
            entry["aborted_transactions"] = [
                {"producer_id": aborted.producer_id, "first_offset": aborted.first_offset}
                for aborted in log.aborted_transactions(p.offset, result.next_offset)]
    return total, errors


def partition_entry(index: int) -> dict:
    """A partition's answer before it is read: no offsets known, no records."""
    return {"partition_index": index, "error_code": 0, "high_watermark": -1, "last_stable_offset": -1,
            "log_start_offset": -1, "aborted_transactions": None, "preferred_read_replica": -1, "records": b""}


def _mark_deleted(ctx, partitions: list[_Partition]) -> bool:
    """After a wait: give partitions whose topic was deleted (or re-created) meanwhile the topic's error."""
    storage = ctx.broker.storage
    code = ErrorCode.UNKNOWN_TOPIC_ID if ctx.api_version >= 13 else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    gone = False
    for p in partitions:
        try:
            live = storage.partition(p.topic, p.entry["partition_index"]) is p.log
        except StorageError:
            live = False
        if not live:
            p.entry.update(error_code=code, records=b"", high_watermark=-1, last_stable_offset=-1, log_start_offset=-1)
            gone = True
    return gone


@handles(FETCH, "0-17", may_wait=True, error_response=_errors)
def fetch(ctx, req: dict):
    """Answered at once when there is enough to return or nothing to wait for (no task, no loop
    turn); otherwise the coroutine that long-polls, which the connection runs in its task."""
    read_committed = req["isolation_level"] == IsolationLevel.READ_COMMITTED
    replication = ctx.broker.replication   # cluster mode: leadership and replica fetches; None for one broker
    responses, partitions, errors = (_resolve if replication is None else replication.resolve_fetch)(ctx, req)
    if read_committed:
        for p in partitions:
            p.entry["aborted_transactions"] = []
    replica = replication is not None and (req["replica_id"] if ctx.api_version <= 14
                                           else req["replica_state"]["replica_id"]) >= 0
    if ctx.broker.client_quotas.byte_rates and ctx.connection is not None and not replica:
        window = ctx.broker.fetch_quotas.max_bytes_in_window(user_of(ctx.principal), ctx.client_id or "")
        if window is not None and window < req["max_bytes"]:   # no more than the quota's window may take
            req["max_bytes"] = max(window, 1)
    total, read_errors = _read(partitions, req["max_bytes"], read_committed, replica)
    if total < req["min_bytes"] and req["max_wait_ms"] > 0 and partitions and not (errors or read_errors):
        return _long_poll(ctx, req, responses, partitions, read_committed, replica)
    return _response(ctx, responses, partitions, replica)


async def _long_poll(ctx, req: dict, responses: list[dict], partitions: list[_Partition],
                     read_committed: bool, replica: bool) -> dict:
    """Wait until min_bytes are there, max_wait_ms has passed, or a partition went away.

    This runs in a task that starts a loop turn after the first read: a produce (or a deletion)
    handled in between woke no one, so the partitions are looked at again before each wait.
    While parked, the append that brings data answers in its own call (``_Poll.set``)."""
    FETCH.response.compiled(ctx.api_version)   # the encoder is made now, not once the data is there
    loop = asyncio.get_running_loop()
    deadline = loop.time() + req["max_wait_ms"] / 1000
    keys = [(p.topic, p.entry["partition_index"]) for p in partitions]
    poll = _Poll(ctx, req, responses, partitions, read_committed, replica)
    while not poll.finished():
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        step = await poll.wait(loop, keys, remaining)
        if step is not _WOKEN:   # answered already, by the append
            if step is not None:
                await step    # the rest of a file range the socket did not take at once
            return ANSWERED
    return _response(ctx, responses, partitions, replica)


_WOKEN = object()   # a parked poll's wait ended without an answer: look again (or time out)


class _Poll:
    """A long poll parked on its partitions (``Broker.park``). The append that brings one of them
    data calls ``set()``: the partitions are read there and then, and when that is enough, the
    response is sent from that call (``Connection.answer_waiting``), a loop turn before its task
    would run. Otherwise (not enough yet, or no connection to answer on) the task is woken to look
    again, as a plain event would."""

    __slots__ = ("ctx", "req", "responses", "partitions", "read_committed", "replica", "future")

    def __init__(self, ctx, req, responses, partitions, read_committed, replica):
        self.ctx, self.req, self.responses, self.partitions = ctx, req, responses, partitions
        self.read_committed, self.replica = read_committed, replica
        self.future = None

    def finished(self) -> bool:
        """Read the partitions: whether the fetch is to be answered now."""
        if _mark_deleted(self.ctx, self.partitions):
            return True   # as Kafka completes a delayed fetch whose partition went away
        total, read_errors = _read(self.partitions, self.req["max_bytes"], self.read_committed, self.replica)
        return total >= self.req["min_bytes"] or read_errors

    async def wait(self, loop, keys: list[tuple[str, int]], timeout_s: float):
        """The step left once answered by ``set()`` (None when nothing), or _WOKEN."""
        self.future = loop.create_future()
        broker = self.ctx.broker
        broker.park(keys, self)
        timer = loop.call_later(timeout_s, self._wake)
        try:
            return await self.future
        except asyncio.CancelledError:   # answered, then cut short (the client went): nothing left to send
            step = self.future.result() if self.future.done() and not self.future.cancelled() else None
            if step is not None and step is not _WOKEN:
                step.close()
            raise
        finally:
            timer.cancel()
            broker.unpark(keys, self)

    def _wake(self) -> None:
        if not self.future.done():
            self.future.set_result(_WOKEN)

    def set(self) -> None:
        future = self.future
        if future is None or future.done():
            return
        connection = self.ctx.connection
        try:
            response = _response(self.ctx, self.responses, self.partitions, self.replica) \
                if connection is not None and self.finished() else None
        except Exception:   # the task looks again, and answers for whatever this was
            response = None
        if response is None:
            future.set_result(_WOKEN)
        else:
            future.set_result(connection.answer_waiting(response))


def _response(ctx, responses: list[dict], partitions: list[_Partition], replica: bool = False) -> dict:
    if ctx.broker.client_quotas.byte_rates and ctx.connection is not None and not replica:
        throttle_ms = _throttle_ms(ctx, partitions)
        if throttle_ms:   # Kafka answers a throttled fetch empty, and takes its bytes back
            return {"throttle_time_ms": throttle_ms, "error_code": 0, "session_id": 0, "responses": []}
    if ctx.api_version < 4:
        down_convert_partitions(ctx.broker, partitions, ctx.api_version)
    return {"throttle_time_ms": 0, "error_code": 0, "session_id": 0, "responses": responses}


def throttled_answer(broker, user: str, client_id: str, response: dict, throttle_ms: int) -> dict:
    """A fetch over its request quota (request_percentage) is answered empty, as Kafka answers it;
    the bytes its answer had counted against consumer_byte_rate are taken back."""
    if broker.client_quotas.byte_rates:
        size = 0
        for topic in response["responses"]:
            for p in topic["partitions"]:
                records = p["records"]
                size += sum(chunk.size if isinstance(chunk, FileSlice) else len(chunk) for chunk in records) \
                    if isinstance(records, list) else len(records or b"")
        broker.fetch_quotas.unrecord(user, client_id, size, now_ms())
    return {"throttle_time_ms": throttle_ms, "error_code": 0, "session_id": 0, "responses": []}


def _throttle_ms(ctx, partitions: list[_Partition]) -> int:
    """consumer_byte_rate (broker/quotas.py): the answer's record bytes counted against the
    client's quota; when that goes over it, the throttle time, and the bytes are taken back."""
    size = 0
    for p in partitions:
        records = p.entry["records"]
        size += sum(chunk.size if isinstance(chunk, FileSlice) else len(chunk) for chunk in records) \
            if isinstance(records, list) else len(records or b"")
    quotas, user, client_id, now = ctx.broker.fetch_quotas, user_of(ctx.principal), ctx.client_id or "", now_ms()
    throttle_ms = quotas.record(user, client_id, size, now)
    if throttle_ms:
        quotas.unrecord(user, client_id, size, now)
    return throttle_ms
