"""An in-process broker for handler tests, and the small request builders they share.

``running_broker()`` starts the real thing: a ``Broker`` on a log (files under a
directory, or memory) served by ``broker.server.serve`` on 127.0.0.1 port 0, on an
event loop of its own thread (anyio's blocking portal). Tests talk to it as a client
does, with raw kproto frames over a real socket (``broker.testing.RawClient``), so a
handler test covers decoding, the handler, encoding and the connection, and starts in
milliseconds instead of a process's second.

The fixtures (``broker/tests/handlers/conftest.py``) share one such broker per
session; a test that needs other settings starts its own with ``own_broker(...)``.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import anyio
from anyio.from_thread import start_blocking_portal

from broker.config import BrokerConfig
from broker.core import Broker
from broker.server import serve
from broker.testing import RawClient
from kproto.messages import CREATE_TOPICS, PRODUCE
from storage import Record, build_batch, decode_records, iter_batches

TIMESTAMP = 1_700_000_000_000   # record timestamps start here (CreateTime)
NO_OPERATIONS = -2147483648     # authorized operations not requested


class ServedBroker:
    """A running in-process broker: where it listens, and a way into its loop."""

    def __init__(self, portal, broker: Broker, port: int):
        self._portal = portal
        self.broker = broker
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"

    def client(self, **kwargs) -> RawClient:
        """A new connection (close it, or use it in a ``with``)."""
        return RawClient(self.bootstrap, **kwargs)

    def call(self, func, *args):
        """Run ``func(*args)`` on the broker's event loop thread and return its result."""
        return self._portal.call(func, *args)

    def wait_until_waited_on(self, topic: str, partition: int, timeout_s: float = 10) -> None:
        """Return once a request is parked waiting for data on the partition (a long-poll fetch).

        It reads the broker's table of waiters, the one place a test needs the broker's insides:
        without it, a produce sent "after" a fetch could be served before the fetch parks.
        """
        key = (topic, partition)
        deadline = time.monotonic() + timeout_s
        while not self.call(lambda: key in self.broker._waiters):
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing waits on {topic}-{partition}")
            time.sleep(0.001)


@contextmanager
def running_broker(data_dir: Path | None, **settings) -> Iterator[ServedBroker]:
    """A broker with ``BrokerConfig(**settings)`` on 127.0.0.1, port 0, until the block ends.

    ``data_dir`` None keeps the log in memory. Metadata advertises the bound port.
    """
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir, **settings)
    with start_blocking_portal() as portal:
        broker = portal.call(Broker, config)   # made on the loop's thread, as the server does
        try:
            stop = portal.call(anyio.Event)
            task, address = portal.start_task(_serve_until, broker, stop)
            try:
                config.advertised_port = address[1]   # before any client can ask
                yield ServedBroker(portal, broker, address[1])
            finally:
                portal.call(stop.set)
                task.result()   # every connection closed
        finally:
            portal.call(broker.close)


async def _serve_until(broker: Broker, stop: anyio.Event, *, task_status) -> None:
    async with anyio.create_task_group() as tg:
        task_status.started(await tg.start(serve, broker))
        await stop.wait()
        tg.cancel_scope.cancel()


class BrokerErrors(logging.Handler):
    """Collects what the broker logs at ERROR and above: a handler failure, a connection that crashed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def report(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@contextmanager
def broker_errors() -> Iterator[BrokerErrors]:
    """Everything logged by the ``kbroker`` loggers at ERROR while the block runs."""
    errors = BrokerErrors()
    logger = logging.getLogger("kbroker")
    logger.addHandler(errors)
    try:
        yield errors
    finally:
        logger.removeHandler(errors)


# -- requests ---------------------------------------------------------------------------------

def batch(*values: bytes, timestamp: int = TIMESTAMP, **kwargs) -> bytes:
    """One magic-2 record batch of ``values`` (keys None), timestamps ``timestamp``, +1, ..."""
    return build_batch([Record(timestamp=timestamp + i, value=v) for i, v in enumerate(values)], **kwargs)


def values_of(records) -> list[tuple[int, bytes]]:
    """(offset, value) of every record in a fetched ``records`` field (None or empty: none)."""
    out = []
    for one in iter_batches(bytes(records or b"")):
        out += [(r.offset, r.value) for r in decode_records(one)]
    return out


def create_topic(client: RawClient, name: str, partitions: int = 1, configs: dict[str, str] | None = None) -> bytes:
    """Create ``name`` with CreateTopics v7; returns its topic id."""
    response = client.request(CREATE_TOPICS, 7, {"topics": [{
        "name": name, "num_partitions": partitions, "replication_factor": 1, "assignments": [],
        "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}], "timeout_ms": 5000})
    [result] = response["topics"]
    assert result["error_code"] == 0, result
    return result["topic_id"]


def produce_body(topic: str, records_by_partition: dict[int, bytes | None], *, acks: int = -1) -> dict:
    """A Produce of one topic: ``records`` (a batch, or anything to refuse) by partition."""
    return {"transactional_id": None, "acks": acks, "timeout_ms": 5000, "topic_data": [
        {"name": topic, "partition_data": [{"index": p, "records": r} for p, r in records_by_partition.items()]}]}


def produce(client: RawClient, topic: str, records: bytes | None, *, partition: int = 0, version: int = 11,
            acks: int = -1) -> dict:
    """Produce one partition's records; returns that partition's response."""
    response = client.request(PRODUCE, version, produce_body(topic, {partition: records}, acks=acks))
    [topic_response] = response["responses"]
    [part] = topic_response["partition_responses"]
    return part


def fetch_body(topic: str, offsets: dict[int, int], *, topic_id: bytes = bytes(16), max_wait_ms: int = 0,
               min_bytes: int = 0, max_bytes: int = 1 << 20, partition_max_bytes: int = 1 << 20,
               isolation_level: int = 0, current_leader_epoch: int = -1) -> dict:
    """A sessionless Fetch of one topic (by name, and by ``topic_id`` from v13) from ``offsets``."""
    return {"max_wait_ms": max_wait_ms, "min_bytes": min_bytes, "max_bytes": max_bytes,
            "isolation_level": isolation_level, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": topic, "topic_id": topic_id, "partitions": [
                {"partition": p, "fetch_offset": offset, "partition_max_bytes": partition_max_bytes,
                 "current_leader_epoch": current_leader_epoch} for p, offset in offsets.items()]}],
            "forgotten_topics_data": [], "rack_id": ""}
