"""The broker under test's remote control: plain calls on a running broker, in this process or another.

``Control`` answers what a test harness asks beyond the Kafka protocol: create and delete
topics, read the stored records straight from the log, committed offsets, faults to
inject, the requests received, and taking the listener down and up. Its calls take and
return plain values, so the same object serves the in-process ``broker.testing.KafkaBroker``
(called on the broker's loop) and a broker process started with ``--control PATH``, which
answers one JSON object per line on that Unix socket (``serve_control``).
"""

from __future__ import annotations

import base64
import inspect
import json
import logging
import os
from dataclasses import dataclass, field
from types import SimpleNamespace

import anyio

from broker.errors import storage_error_code
from storage import decode_records, iter_batches, read_header
from storage.errors import StorageError

log = logging.getLogger("kbroker.control")

READ_BYTES = 1 << 20


@dataclass
class StoredRecord:
    """One record as the log holds it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    timestamp: int = -1      # milliseconds since the epoch (CreateTime or LogAppendTime, as the topic says)


class Control:
    """Calls on one broker and its server, made on the broker's event loop."""

    # what the control socket may call
    CALLS = ("ping", "topics", "create_topic", "delete_topic", "records", "record_count", "committed",
             "add_fault", "remove_fault", "clear_faults", "faults", "enable_request_log", "requests",
             "clear_requests", "stop", "start", "listening")

    def __init__(self, broker, server):
        self.broker = broker
        self.server = server

    def ping(self) -> str:
        return "pong"

    # -- topics and records ----------------------------------------------------------

    def topics(self) -> dict[str, int]:
        """Partition counts by topic name (internal topics included)."""
        return {name: info.num_partitions for name, info in self.broker.storage.topics().items()}

    def create_topic(self, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
        try:
            self.broker.storage.create_topic(name, partitions, {k: str(v) for k, v in (config or {}).items()})
            log.info("created topic %s with %d partition(s)", name, partitions)
        except StorageError as exc:
            raise ValueError(f"cannot create topic {name!r}: {exc} ({storage_error_code(exc).name})") from None

    def delete_topic(self, name: str) -> None:
        if self.broker.storage.topic(name) is None:
            raise ValueError(f"no topic {name!r}")
        self.broker.delete_topic(name)

    def _partitions(self, topic: str, partition: int | None) -> list:
        info = self.broker.storage.topic(topic)
        if info is None:
            raise ValueError(f"no topic {topic!r}")
        if partition is None:
            return [self.broker.storage.partition(topic, index) for index in range(info.num_partitions)]
        if not 0 <= partition < info.num_partitions:
            raise ValueError(f"topic {topic!r} has no partition {partition} (it has {info.num_partitions})")
        return [self.broker.storage.partition(topic, partition)]

    def records(self, topic: str, partition: int | None = None) -> list[StoredRecord]:
        """Every record the log holds (of one partition, or of all in partition order); control
        records (transaction markers) are left out."""
        found = []
        for log_ in self._partitions(topic, partition):
            for batch in _batches(log_):
                if read_header(batch).is_control:
                    continue
                for r in decode_records(batch):
                    found.append(StoredRecord(topic, log_.partition, r.offset, r.key, r.value, list(r.headers),
                                              r.timestamp))
        return found

    def record_count(self, topic: str) -> int:
        """Records in the topic's logs, from batch headers alone (control records not counted)."""
        if self.broker.storage.topic(topic) is None:
            return 0
        count = 0
        for log_ in self._partitions(topic, None):
            for batch in _batches(log_):
                header = read_header(batch)
                if not header.is_control:
                    count += header.records_count
        return count

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        """The group's committed offsets by (topic, partition)."""
        caller = SimpleNamespace(client_id="kbroker-control", client_host="", api_version=7)
        answer = self.broker.groups.fetch_offsets(caller, {"group_id": group, "topics": None, "require_stable": False})
        return {(t["name"], p["partition_index"]): p["committed_offset"]
                for t in answer["topics"] for p in t["partitions"] if p["committed_offset"] >= 0}

    # -- faults and the request log ------------------------------------------------------

    def add_fault(self, kind: str, api, **settings) -> dict:
        return self.broker.faults.add(kind, api, **settings).as_dict()

    def remove_fault(self, fault_id: int) -> None:
        self.broker.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.broker.faults.clear()

    def faults(self) -> list[dict]:
        return [f.as_dict() for f in self.broker.faults.active]

    def enable_request_log(self, max_entries: int | None = None) -> None:
        self.broker.request_log.enable(max_entries)

    def requests(self, api=None) -> list[dict]:
        return [r.as_dict() for r in self.broker.request_log.entries(api)]

    def clear_requests(self) -> None:
        self.broker.request_log.clear()

    # -- the listener --------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop listening (connections are then refused) and close every connection, after the
        requests they sent are answered; the broker and its data stay."""
        log.info("stopping: listener closed, connections closed once answered")
        await self.server.drain(deadline_s=5)
        log.info("stopped")

    async def start(self) -> None:
        """Listen again, on the same port."""
        if not self.server.listening:
            await self.server.listen()
            log.info("listening again on %s:%d", self.broker.config.host, self.server.port)

    def listening(self) -> bool:
        return self.server.listening


def _batches(log_):
    """Each batch of a partition log, from its start offset to its end."""
    offset = log_.log_start_offset
    while offset < log_.log_end_offset:
        result = log_.read(offset, READ_BYTES)
        data = result.read_bytes()
        if not data:
            return
        last = offset
        for batch in iter_batches(data):
            last = read_header(batch).last_offset
            yield batch
        if last + 1 <= offset:
            return
        offset = last + 1


# -- the control socket ------------------------------------------------------------------------

def to_json(value):
    """Plain values as JSON: bytes as {"$bytes": base64}, dataclasses and tuples as what they hold."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, StoredRecord):
        return {"$record": {k: to_json(v) for k, v in value.__dict__.items()}}
    if isinstance(value, dict):
        if value and all(isinstance(k, tuple) for k in value):
            return {"$pairs": [[to_json(k), to_json(v)] for k, v in value.items()]}
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(value):
    if isinstance(value, dict):
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if "$record" in value:
            fields = {k: from_json(v) for k, v in value["$record"].items()}
            fields["headers"] = [tuple(h) for h in fields["headers"]]
            return StoredRecord(**fields)
        if "$pairs" in value:
            return {tuple(from_json(k)): from_json(v) for k, v in value["$pairs"]}
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


async def serve_control(control: Control, path: str, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
    """Answer ``{"call": NAME, "args": [...], "kwargs": {...}}`` lines on a Unix socket with
    ``{"result": ...}`` or ``{"error": TYPE, "message": TEXT}``, one call at a time per connection."""
    if os.path.exists(path):
        os.unlink(path)
    listener = await anyio.create_unix_listener(path)
    os.chmod(path, 0o600)

    async def one(stream) -> None:
        from anyio.streams.buffered import BufferedByteReceiveStream

        reader = BufferedByteReceiveStream(stream)
        async with stream:
            while True:
                try:
                    line = await reader.receive_until(b"\n", 64 << 20)
                except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                    return
                await stream.send(json.dumps(await _call(control, line)).encode() + b"\n")

    try:
        task_status.started()
        await listener.serve(one)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


async def _call(control: Control, line: bytes) -> dict:
    try:
        request = json.loads(line)
        name = request["call"]
        if name not in Control.CALLS:
            raise ValueError(f"no such call {name!r}")
        result = getattr(control, name)(*from_json(request.get("args", [])), **from_json(request.get("kwargs", {})))
        if inspect.isawaitable(result):
            result = await result
        return {"result": to_json(result)}
    except Exception as exc:   # the caller gets it back as its own exception
        if not isinstance(exc, (ValueError, TypeError, KeyError)):
            log.exception("control call failed")
        return {"error": type(exc).__name__, "message": str(exc)}
