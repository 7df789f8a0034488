"""Old clients' paths, in process: message-set conversion MB/s, and the modern handlers' cost beside them.

    python -m bench.legacy [--rounds 5] [--seconds 0.3]
    python -m bench.legacy --only NAME --iterations N   # one case N times, for callgrind

Fetch v0-3 down-convert the log's v2 batches to message sets, and Produce v0-2 convert
message sets to a v2 batch; both decode records, which Produce v3+ and Fetch v4+ never do.
The conversion cases print MB/s of records (their size as uncompressed v2 batches) per CPU
second, through the handler (read, convert, answer) as an old client's request takes it. The modern cases run the
Produce v9 and Fetch v12 handlers on the same in-memory broker, to check with callgrind that
the old versions cost the modern path nothing: run a case with ``--iterations 0`` and ``N``;
the difference over N is its instructions per request.
"""

from __future__ import annotations

import argparse
import random
import time
from broker.config import BrokerConfig
from broker.context import RequestContext
from broker.core import Broker
from broker.handlers.fetch import fetch
from broker.handlers.produce import produce
from storage import Compression, Record, build_batch

VALUE = random.Random(0).randbytes(50) * 2   # 100 B that compress to about half
TIMESTAMP = 1_700_000_000_000


def _run(coroutine):
    """Drive a handler coroutine that never waits (min_bytes 0, data present) to its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the handler waited")


def _batch(count: int, compression: int = Compression.NONE) -> bytes:
    return build_batch([Record(timestamp=TIMESTAMP + i, key=b"key-%d" % i, value=VALUE) for i in range(count)],
                       compression=compression)


def _fetch_request(topic: str, partitions: int, max_bytes: int) -> dict:
    return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": max_bytes, "isolation_level": 0,
            "session_id": 0, "session_epoch": -1, "rack_id": "", "forgotten_topics_data": [],
            "topics": [{"topic": topic, "topic_id": bytes(16), "partitions": [
                {"partition": p, "current_leader_epoch": -1, "fetch_offset": 0, "log_start_offset": -1,
                 "partition_max_bytes": max_bytes} for p in range(partitions)]}]}


def _produce_request(topic: str, records: bytes, acks: int = 1) -> dict:
    return {"transactional_id": None, "acks": acks, "timeout_ms": 30000,
            "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": records}]}]}


def cases(only: str | None = None) -> dict:
    """name -> (a function of no arguments doing one operation, MB of records it converts, or 0).

    With ``only`` a modern case, nothing of the old versions is built (the script then runs
    on a tree without them too, for a before/after count).
    """
    broker = Broker(BrokerConfig(host="127.0.0.1", port=0, data_dir=None))
    storage = broker.storage
    ctx = lambda version: RequestContext(broker, version, 1, "bench", "127.0.0.1", None)   # noqa: E731
    table = {}

    storage.create_topic("modern", 3)
    for p in range(3):
        storage.partition("modern", p).append(_batch(10), TIMESTAMP)
    storage.create_topic("produced", 1)
    one_kb = _batch(8)
    fetch_v12 = _fetch_request("modern", 3, 1 << 20)
    table["produce_v9_1kb_handler"] = (lambda: produce(ctx(9), _produce_request("produced", one_kb)), 0)
    table["fetch_v12_3p_handler"] = (lambda: _run(fetch(ctx(12), fetch_v12)), 0)
    if only in table:
        return table

    from storage.legacy_records import down_convert

    records_mb = len(_batch(10)) * 100 / 1e6   # 1,000 records of 100 B, as uncompressed v2 batches of 10
    for name, codec in (("none", Compression.NONE), ("gzip", Compression.GZIP), ("lz4", Compression.LZ4),
                        ("snappy", Compression.SNAPPY)):
        topic = f"old-{name}"
        storage.create_topic(topic, 1)
        log = storage.partition(topic, 0)
        for _ in range(100):
            log.append(_batch(10, codec), TIMESTAMP)
        for version in (0, 3):
            request = _fetch_request(topic, 1, 1 << 24)
            table[f"fetch_v{version}_down_convert_{name}"] = (
                lambda version=version, request=request: _run(fetch(ctx(version), request)), records_mb)

    message_set = b"".join(b"".join(down_convert(_batch(10), 1, 0)) for _ in range(100))
    storage.create_topic("from-old", 1)
    table["produce_v2_message_set_to_v2"] = (
        lambda: produce(ctx(2), _produce_request("from-old", message_set)), records_mb)
    return table


def per_op_us(op, seconds: float) -> float:
    """CPU microseconds per call of ``op``, over a loop of about ``seconds``."""
    n = 1
    while True:
        start = time.process_time()
        for _ in range(n):
            op()
        spent = time.process_time() - start
        if spent >= seconds:
            return spent / n * 1e6
        n *= 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--only")
    parser.add_argument("--iterations", type=int)
    args = parser.parse_args()
    table = cases(args.only)
    if args.iterations is not None:
        op, _ = table[args.only]
        op()   # first-use work outside the counted loop
        for _ in range(args.iterations):
            op()
        return
    for name, (op, stored_mb) in table.items():
        if args.only and name != args.only:
            continue
        op()
        best = min(per_op_us(op, args.seconds) for _ in range(args.rounds))
        rate = f"{stored_mb / best * 1e6:8.1f} MB/s" if stored_mb else ""
        print(f"{name:36s} {best:10.1f} us/op {rate}")


if __name__ == "__main__":
    main()
