"""The per-request path in process: a real Connection fed frames by a transport in memory.

    python -m bench.hotpath [--rounds 5] [--seconds 0.3] [--only NAME]
    python -m bench.hotpath --only NAME --iterations N   # one case N times, for callgrind

Everything the broker's own code does for a request runs (the protocol's ``get_buffer``
and ``buffer_updated``, framing, decoding, the handler, the append to a log on disk,
encoding, the write of the responses of one read); the socket, the event loop's
selector and the kernel do not. So it ranks changes to our code by CPU time, or by
instructions under callgrind (``--iterations 0`` and ``N``: the difference over N is
the count per read; the cases print how many requests one read holds).

Cases:
- ``produce_small_1``: one Produce v9 of one batch of 10 x 100 B per read (one in flight);
- ``produce_small_11``: eleven such requests in one read (librdkafka pipelining);
- ``produce_spread_11``: eleven requests in one read, each to another of 1,000 partitions;
- ``produce_1kb_64``: 64 requests of one 1 KB batch per read (the raw ceiling's window);
- ``metadata_one``: Metadata v12 for one topic, one per read;
- ``fetch_small_1``: one Fetch v12 per read that finds one batch of 10 x 100 B (a consumer keeping up);
- ``fetch_idle_1000``: one Fetch v12 per read over 1,000 partitions (100 topics x 10), none with
  new data and ``max_wait_ms`` 0 (the poll of a consumer of many quiet partitions);
- ``produce_wide_1000``: one Produce v9 per read with a batch of 3 x 100 B for each of the 1,000
  partitions of ``spread`` (librdkafka's request when messages are spread over many partitions).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from broker.config import BrokerConfig
from broker.connections import Connections
from broker.core import Broker
import broker.handlers  # noqa: F401  (registers every handler)
from kproto.codec import encode_request
from kproto.messages import FETCH, METADATA, PRODUCE
from storage import Record, build_batch

PRODUCE_VERSION = 9
TIMESTAMP = 1_700_000_000_000


class MemoryTransport(asyncio.Transport):
    """What a Connection needs of a transport; the bytes written are counted and dropped."""

    def __init__(self):
        super().__init__()
        self.written = 0
        self.writes = 0
        self._reading = True

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 50000) if name == "peername" else default

    def write(self, data) -> None:
        self.written += len(data)
        self.writes += 1

    def is_reading(self) -> bool:
        return self._reading

    def pause_reading(self) -> None:
        self._reading = False

    def resume_reading(self) -> None:
        self._reading = True

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass


def _batch(count: int, size: int) -> bytes:
    return build_batch([Record(timestamp=TIMESTAMP + i, value=b"x" * size) for i in range(count)])


def _produce(topic: str, partition: int, batch: bytes, correlation_id: int = 1) -> bytes:
    body = {"transactional_id": None, "acks": 1, "timeout_ms": 30000,
            "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": batch}]}]}
    return encode_request(PRODUCE, PRODUCE_VERSION, correlation_id, body, "rdkafka")


def _fetch(topics: list[tuple[str, list[tuple[int, int]]]], correlation_id: int = 1) -> bytes:
    """Fetch v12 of (topic, [(partition, offset)]) with max_wait_ms 0."""
    body = {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 1, "max_bytes": 52428800, "isolation_level": 0,
            "session_id": 0, "session_epoch": -1, "forgotten_topics_data": [], "rack_id": "",
            "topics": [{"topic": name, "partitions": [
                {"partition": index, "current_leader_epoch": -1, "fetch_offset": offset, "last_fetched_epoch": -1,
                 "log_start_offset": -1, "partition_max_bytes": 1048576} for index, offset in partitions]}
                for name, partitions in topics]}
    return encode_request(FETCH, 12, correlation_id, body, "rdkafka")


class Bench:
    """A broker on a temporary data directory and one connection to it, inside a running loop."""

    def __init__(self, data_dir: str):
        self.broker = Broker(BrokerConfig(host="127.0.0.1", port=9092, data_dir=Path(data_dir)))
        self.connections = Connections(self.broker)
        self.connection = self.connections.new()
        self.transport = MemoryTransport()
        self.connection.connection_made(self.transport)

    async def feed(self, data: bytes) -> None:
        """One read of ``data``, as the loop hands it over; then the loop runs until the requests an
        async handler (fetch) took over in a task of the connection are answered."""
        connection = self.connection
        view = memoryview(data)
        while view:
            buffer = connection.get_buffer(len(view))
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            connection.buffer_updated(n)
            view = view[n:]
        while connection._worker is not None:
            await connection._worker


def cases(bench: Bench) -> dict:
    """name -> (the bytes of one read, requests in it)."""
    storage = bench.broker.storage
    storage.create_topic("one", 1)
    for t in range(100):
        storage.create_topic(f"spread-{t:03d}", 10)
        storage.create_topic(f"quiet-{t:03d}", 10)
    storage.create_topic("read", 1)
    small = _batch(10, 100)
    one_kb = _batch(1, 1000)
    storage.partition("read", 0).append(small, TIMESTAMP, one_batch=True)
    spread = [(f"spread-{t:03d}", list(range(10))) for t in range(100)]
    three = _batch(3, 100)
    wide = {"transactional_id": None, "acks": 1, "timeout_ms": 30000,
            "topic_data": [{"name": name, "partition_data": [{"index": i, "records": three} for i in indexes]}
                           for name, indexes in spread]}
    table = {
        "produce_small_1": (_produce("one", 0, small), 1),
        "produce_small_11": (_produce("one", 0, small) * 11, 11),
        "produce_spread_11": (b"".join(_produce(f"spread-{i % 100:03d}", (i // 100) % 10, small)
                                       for i in range(0, 11 * 37, 37)), 11),
        "produce_1kb_64": (_produce("one", 0, one_kb) * 64, 64),
        "metadata_one": (encode_request(METADATA, 12, 1, {"topics": [{"topic_id": bytes(16), "name": "one"}],
                                                          "allow_auto_topic_creation": False}, "rdkafka"), 1),
        "fetch_small_1": (_fetch([("read", [(0, 0)])]), 1),
        "fetch_idle_1000": (_fetch([(f"quiet-{t:03d}", [(i, 0) for i in range(10)]) for t in range(100)]), 1),
        "produce_wide_1000": (encode_request(PRODUCE, PRODUCE_VERSION, 1, wide, "rdkafka"), 1),
    }
    return table


async def per_request_us(bench: Bench, data: bytes, requests: int, seconds: float) -> float:
    n = 1
    while True:
        start = time.process_time()
        for _ in range(n):
            await bench.feed(data)
        spent = time.process_time() - start
        if spent >= seconds:
            return spent / n / requests * 1e6
        n *= 2


async def _main(args) -> None:
    with tempfile.TemporaryDirectory(prefix="kbroker-hotpath-") as data_dir:
        bench = Bench(data_dir)
        try:
            table = cases(bench)
            if args.iterations is not None:
                data, _ = table[args.only]
                await bench.feed(data)   # first-use work outside the counted loop
                for _ in range(args.iterations):
                    await bench.feed(data)
                return
            for name, (data, requests) in table.items():
                if args.only and name not in args.only.split(","):
                    continue
                await bench.feed(data)
                best = min([await per_request_us(bench, data, requests, args.seconds) for _ in range(args.rounds)])
                print(f"{name:24s} {best:8.2f} us/request   ({requests} per read)")
        finally:
            bench.broker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--only")
    parser.add_argument("--iterations", type=int)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
