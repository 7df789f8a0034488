"""Fault injection and the request log: what a test (or a console) makes the broker do wrong, and sees it receive.

Both are plain objects on the broker (``broker.faults``, ``broker.request_log``), driven from
any thread: the in-process ``broker.testing.KafkaBroker`` hands them to tests, the control
socket (broker/control.py) to a broker in another process.

- ``faults.error(api, code, times=1, topic=None, partition=None)``: the next matching requests
  are answered with that error code, in that API's error shape (each partition, topic or
  group of the request carries the code, as Kafka answers a request it refuses whole).
- ``faults.delay(api, ms, times=None, ...)``: matching requests are held ``ms`` before they
  are handled. The connection's later requests wait behind them, so its order holds; other
  connections are served meanwhile.
- ``faults.disconnect(api, times=1, ...)``: the connection is closed on a matching request,
  which is not handled.
- ``faults.clear()`` removes them all.

APIs are named as Kafka names them ("Produce", "ListOffsets") or by key;
error codes by Kafka's name ("NOT_LEADER_OR_FOLLOWER") or number. A topic (and partition)
filter matches a request that names that topic (partition); a request naming no topic never
matches a filtered fault. Faults apply in the order they were added, one per request.

The connection looks its request's API key up in ``Taps.by_key`` after decoding: an entry is
there only for the APIs a fault names, or for every API while the request log is on, so a
broker with neither pays one dict lookup per request.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator
from uuid import UUID

from kproto.api_keys import ApiKey
from kproto.errors import ErrorCode
from kproto.messages import BY_KEY

from broker.errors import CloseConnection

log = logging.getLogger("kbroker.faults")

API_KEYS_BY_NAME: dict[str, int] = {m.name: m.api_key for m in BY_KEY.values()}

# Where a request names its topics: (topics field, name field, topic id field, partitions field,
# partition field). A partition field of None: the partitions are plain numbers.
TOPIC_FIELDS: dict[int, tuple[str, str | None, str | None, str | None, str | None]] = {
    ApiKey.PRODUCE: ("topic_data", "name", None, "partition_data", "index"),
    ApiKey.FETCH: ("topics", "topic", "topic_id", "partitions", "partition"),
    ApiKey.LIST_OFFSETS: ("topics", "name", None, "partitions", "partition_index"),
    ApiKey.METADATA: ("topics", "name", "topic_id", None, None),
    ApiKey.OFFSET_COMMIT: ("topics", "name", None, "partitions", "partition_index"),
    ApiKey.OFFSET_FETCH: ("topics", "name", None, "partition_indexes", None),
    ApiKey.OFFSET_FOR_LEADER_EPOCH: ("topics", "topic", None, "partitions", "partition"),
    ApiKey.CREATE_TOPICS: ("topics", "name", None, None, None),
    ApiKey.DELETE_TOPICS: ("topics", "name", "topic_id", None, None),
    ApiKey.CREATE_PARTITIONS: ("topics", "name", None, None, None),
    ApiKey.OFFSET_DELETE: ("topics", "name", None, "partitions", "partition_index"),
    ApiKey.SHARE_FETCH: ("topics", None, "topic_id", "partitions", "partition_index"),
    ApiKey.SHARE_ACKNOWLEDGE: ("topics", None, "topic_id", "partitions", "partition_index"),
}


def api_key_of(api: str | int) -> int:
    """A Kafka API name ("Produce") or key (0) as the key the broker knows; ValueError otherwise."""
    if isinstance(api, int) and not isinstance(api, bool):
        if api in BY_KEY:
            return api
    elif isinstance(api, str):
        key = API_KEYS_BY_NAME.get(api)
        if key is None:   # also Kafka's constant style, PRODUCE or LIST_OFFSETS
            key = next((k for k in ApiKey if k.name == api.upper() and k in BY_KEY), None)
        if key is not None:
            return int(key)
    raise ValueError(f"unknown API {api!r}; valid names: {', '.join(sorted(API_KEYS_BY_NAME))}")


def error_code_of(code: str | int) -> int:
    """A Kafka error name ("NOT_LEADER_OR_FOLLOWER") or number (6) as the number; ValueError otherwise."""
    if isinstance(code, int) and not isinstance(code, bool):
        if code in ErrorCode._value2member_map_ and code != 0:
            return code
    elif isinstance(code, str):
        member = ErrorCode.__members__.get(code.upper())
        if member is not None and member != ErrorCode.NONE:
            return int(member)
    names = ", ".join(name for name in ErrorCode.__members__ if name != "NONE")
    raise ValueError(f"unknown error {code!r}; valid names: {names}")


def api_name(api_key: int) -> str:
    message = BY_KEY.get(api_key)
    return message.name if message is not None else str(api_key)


def named_topics(api_key: int, request: dict, topic_name_of: Callable[[bytes], str | None]) -> list[tuple[str, list[int] | None]]:
    """The topics a request names, each with its partitions (None: the topic as a whole)."""
    where = TOPIC_FIELDS.get(api_key)
    if where is None:
        return []
    topics_field, name_field, id_field, partitions_field, partition_field = where
    entries = request.get(topics_field)
    if api_key == ApiKey.OFFSET_FETCH and request.get("groups"):   # v8+: topics per group
        entries = [t for g in request["groups"] for t in (g["topics"] or [])]
    if api_key == ApiKey.DELETE_TOPICS and request.get("topic_names"):   # v0-5: plain names
        return [(name, None) for name in request["topic_names"]]
    found = []
    for entry in entries or ():
        name = entry.get(name_field) if name_field else None
        if not name and id_field and entry.get(id_field):
            name = topic_name_of(entry[id_field])
        if not name:
            continue
        partitions = None
        if partitions_field:
            parts = entry.get(partitions_field) or []
            partitions = list(parts) if partition_field is None else [p[partition_field] for p in parts]
        found.append((name, partitions))
    return found


@dataclass
class Fault:
    """One injected fault: what it does, to what, and how many more times (None: until cleared)."""

    kind: str                     # "error", "delay" or "disconnect"
    api: str                      # Kafka's API name
    api_key: int
    code: int | None = None       # error: the code answered
    delay_ms: int | None = None   # delay: how long requests are held
    topic: str | None = None
    partition: int | None = None
    times: int | None = None      # left to apply
    applied: int = 0              # requests it has matched so far
    id: int = 0

    def matches(self, topics: list[tuple[str, list[int] | None]]) -> bool:
        if self.topic is None:
            return True
        for name, partitions in topics:
            if name == self.topic and (self.partition is None or partitions is None or self.partition in partitions):
                return True
        return False

    def describe(self) -> str:
        if self.kind == "error":
            name = ErrorCode(self.code).name if self.code in ErrorCode._value2member_map_ else str(self.code)
            return f"answered {name}"
        return f"held {self.delay_ms} ms" if self.kind == "delay" else "connection closed"

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("id", "kind", "api", "api_key", "code", "delay_ms", "topic", "partition",
                                              "times", "applied")}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the broker received it."""

    api: str                # Kafka's API name, e.g. "Produce"
    api_key: int
    version: int
    client_id: str | None
    connection: str         # the client's address, "127.0.0.1:54321": one per connection
    correlation_id: int
    time_ms: float          # wall clock, milliseconds since the epoch
    topics: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {"api": self.api, "api_key": self.api_key, "version": self.version, "client_id": self.client_id,
                "connection": self.connection, "correlation_id": self.correlation_id, "time_ms": self.time_ms,
                "topics": list(self.topics)}


class RequestLog:
    """What the broker received, oldest first; off until enabled, then the last ``max_entries`` kept."""

    def __init__(self, taps: "Taps", max_entries: int = 10_000):
        self._taps = taps
        self.enabled = False
        self._entries: deque[ReceivedRequest] = deque(maxlen=max_entries)

    def enable(self, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries != self._entries.maxlen:
            self._entries = deque(self._entries, maxlen=max_entries)
        self.enabled = True
        self._taps.update()

    def disable(self) -> None:
        self.enabled = False
        self._taps.update()

    def clear(self) -> None:
        self._entries.clear()

    def record(self, entry: ReceivedRequest) -> None:
        self._entries.append(entry)

    def entries(self, api: str | int | None = None) -> list[ReceivedRequest]:
        """The requests received (of one API if given), oldest first."""
        snapshot = list(self._entries)
        if api is None:
            return snapshot
        key = api_key_of(api)
        return [entry for entry in snapshot if entry.api_key == key]

    def __iter__(self) -> Iterator[ReceivedRequest]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index):
        return self.entries()[index]


class Faults:
    """The faults in force, by API key. Safe to change from any thread: the tables are replaced, not edited."""

    def __init__(self, taps: "Taps"):
        self._taps = taps
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.by_key: dict[int, tuple[Fault, ...]] = {}

    def error(self, api: str | int, code: str | int, *, times: int | None = 1, topic: str | None = None,
              partition: int | None = None) -> Fault:
        """Answer the next ``times`` matching requests (None: all) with error ``code``."""
        return self._add(Fault("error", "", api_key_of(api), code=error_code_of(code), topic=topic,
                               partition=partition, times=times))

    def delay(self, api: str | int, ms: int, *, times: int | None = None, topic: str | None = None,
              partition: int | None = None) -> Fault:
        """Hold matching requests ``ms`` milliseconds before handling them."""
        if not isinstance(ms, (int, float)) or ms < 0:
            raise ValueError(f"delay ms must be a number >= 0, not {ms!r}")
        return self._add(Fault("delay", "", api_key_of(api), delay_ms=ms, topic=topic, partition=partition,
                               times=times))

    def disconnect(self, api: str | int, *, times: int | None = 1, topic: str | None = None,
                   partition: int | None = None) -> Fault:
        """Close the connection on matching requests, without handling them."""
        return self._add(Fault("disconnect", "", api_key_of(api), topic=topic, partition=partition, times=times))

    def add(self, kind: str, api: str | int, **settings) -> Fault:
        """A fault by kind name (the control socket's door): ``add("error", "Produce", code=6, times=2)``."""
        makers = {"error": self.error, "delay": self.delay, "disconnect": self.disconnect}
        if kind not in makers:
            raise ValueError(f"unknown fault kind {kind!r}; valid kinds: {', '.join(makers)}")
        return makers[kind](api, **settings)

    def _add(self, fault: Fault) -> Fault:
        if fault.times is not None and (not isinstance(fault.times, int) or fault.times < 1):
            raise ValueError(f"times must be a number >= 1 or None, not {fault.times!r}")
        if fault.partition is not None and fault.topic is None:
            raise ValueError("a partition filter needs a topic")
        if fault.topic is not None and fault.api_key not in TOPIC_FIELDS:
            raise ValueError(f"{api_name(fault.api_key)} requests name no topic; topic filters work with: "
                             f"{', '.join(sorted(api_name(k) for k in TOPIC_FIELDS))}")
        fault.api = api_name(fault.api_key)
        with self._lock:
            fault.id = next(self._ids)
            self.by_key[fault.api_key] = (*self.by_key.get(fault.api_key, ()), fault)
        self._taps.update()
        return fault

    def remove(self, fault: Fault | int) -> None:
        fault_id = fault if isinstance(fault, int) else fault.id
        with self._lock:
            for key, faults in list(self.by_key.items()):
                kept = tuple(f for f in faults if f.id != fault_id)
                if kept:
                    self.by_key[key] = kept
                elif faults:
                    del self.by_key[key]
        self._taps.update()

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self.by_key = {}
        self._taps.update()

    @property
    def active(self) -> list[Fault]:
        """The faults in force (copies), in the order they were added."""
        return sorted((replace(f) for faults in self.by_key.values() for f in faults), key=lambda f: f.id)

    def take(self, api_key: int, topics_of: Callable[[], list]) -> Fault | None:
        """The first fault matching this request, counted as applied (dropped when used up)."""
        faults = self.by_key.get(api_key)
        if not faults:
            return None
        topics = None
        for fault in faults:
            if fault.topic is not None:
                if topics is None:
                    topics = topics_of()
                if not fault.matches(topics):
                    continue
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
                if fault.times == 0:
                    self.remove(fault)
            fault.applied += 1
            return fault
        return None


class Taps:
    """What the connection looks up per request: ``by_key`` maps an API key to the tap, for the APIs
    a fault names, or all of them while the request log is on; otherwise it is empty."""

    def __init__(self, broker):
        self.broker = broker
        self.by_key: dict[int, Callable] = {}
        self.faults = Faults(self)
        self.request_log = RequestLog(self)

    def update(self) -> None:
        """Make ``by_key`` say which APIs are tapped (the dict is edited in place: connections hold it)."""
        wanted = set(BY_KEY) if self.request_log.enabled else set(self.faults.by_key)
        for key in list(self.by_key):
            if key not in wanted:
                self.by_key.pop(key, None)
        for key in wanted:
            self.by_key[key] = self.tap

    def _topic_name(self, topic_id: bytes) -> str | None:
        info = self.broker.storage.topic_by_id(UUID(bytes=bytes(topic_id)))
        return info.name if info is not None else None

    def tap(self, connection, frame: bytes, served, api_version: int, correlation_id: int, header: dict,
            request: dict):
        """Log the request, apply the first matching fault, or hand the request on to its handler."""
        api_key = served.message.api_key
        topics = None
        if self.request_log.enabled:
            topics = named_topics(api_key, request, self._topic_name)
            self.request_log.record(ReceivedRequest(
                served.message.name, api_key, api_version, header.get("client_id"), connection.peer,
                correlation_id, time.time() * 1000, tuple(name for name, _ in topics)))
        fault = None
        if served.low <= api_version <= served.high:
            fault = self.faults.take(api_key, lambda: topics if topics is not None
                                     else named_topics(api_key, request, self._topic_name))
        if fault is None:
            return connection.pass_on(frame)
        log.info("fault %d: %s v%d from %s (%s): %s%s", fault.id, fault.api, api_version, connection.peer,
                 header.get("client_id"), fault.describe(),
                 "" if fault.times is None else f" ({fault.times} more)")
        if fault.kind == "disconnect":
            raise CloseConnection(f"fault injected: disconnect on {fault.api}")
        if fault.kind == "delay":
            return connection.pass_on_later(fault.delay_ms / 1000, frame)
        response = self.error_response(served, request, api_version, fault.code)
        return connection.respond(served, api_version, correlation_id, response)

    def error_response(self, served, request: dict, api_version: int, code: int) -> dict:
        shape = ERROR_SHAPES.get(served.message.api_key)
        if shape is not None:
            return shape(self.broker, request, api_version, code)
        return connection_error_response(served, request, api_version, code)


def connection_error_response(served, request: dict, api_version: int, code: int) -> dict:
    from broker.registry import top_level_error

    return (served.error_response or top_level_error)(request, api_version, code)


# -- error shapes where the registered one is not what Kafka sends for a per-partition error ----------

def _fetch_errors(broker, request: dict, api_version: int, code: int) -> dict:
    """Each partition carries the code, the request's top-level code stays 0: what Kafka sends for
    NOT_LEADER_OR_FOLLOWER and the like, and what clients act on (a top-level code is a session error)."""
    return {"throttle_time_ms": 0, "error_code": 0, "session_id": 0, "responses": [
        {"topic": t["topic"], "topic_id": t["topic_id"], "partitions": [
            {"partition_index": p["partition"], "error_code": code, "high_watermark": -1, "last_stable_offset": -1,
             "log_start_offset": -1, "aborted_transactions": None, "preferred_read_replica": -1, "records": b""}
            for p in t["partitions"]]} for t in request["topics"]]}


def _metadata_errors(broker, request: dict, api_version: int, code: int) -> dict:
    """The broker as usual, each topic asked for (all topics when none is named) with the code."""
    from broker.handlers.metadata import CLUSTER_OPERATIONS
    from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED

    if request["topics"]:
        asked = [(t["name"], t["topic_id"]) for t in request["topics"]]
    else:
        asked = [(info.name, info.topic_id.bytes) for info in broker.storage.topics().values()]
    host, port = broker.advertised
    return {
        "throttle_time_ms": 0,
        "brokers": [{"node_id": broker.node_id, "host": host, "port": port, "rack": None}],
        "cluster_id": broker.cluster_id, "controller_id": broker.node_id,
        "topics": [{"error_code": code, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": []}
                   for name, topic_id in asked],
        "cluster_authorized_operations":
            CLUSTER_OPERATIONS if request["include_cluster_authorized_operations"] else AUTHORIZED_OPERATIONS_OMITTED,
    }


def _describe_groups_errors(broker, request: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "groups": [
        {"error_code": code, "group_id": group_id, "group_state": "", "protocol_type": "", "protocol_data": "",
         "members": []} for group_id in request["groups"]]}


ERROR_SHAPES: dict[int, Callable[..., dict]] = {
    ApiKey.FETCH: _fetch_errors,
    ApiKey.METADATA: _metadata_errors,
    ApiKey.DESCRIBE_GROUPS: _describe_groups_errors,
}
