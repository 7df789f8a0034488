"""The codec alone, in process: CPU time per operation of a few frames every client sends.

    python -m bench.codec [--rounds 7] [--seconds 0.3]
    python -m bench.codec --only NAME --iterations N   # one case N times, for callgrind

Each case runs in a loop for about ``--seconds`` of CPU time, ``--rounds`` times; the
minimum per operation is printed (the machine is shared: the least disturbed round is
the truest). For instruction counts, run one case under callgrind twice, with
``--iterations 0`` and ``--iterations N``: the difference over N is the count per op.
"""

from __future__ import annotations

import argparse
import time

from kproto.codec import decode_request, decode_response, encode_request, encode_response
from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED
from kproto.messages import FETCH, METADATA, PRODUCE

PRODUCE_VERSION, FETCH_VERSION, METADATA_VERSION = 10, 16, 12


def _produce_body() -> dict:
    batch = bytes(61) + b"v" * (1024 - 61)   # a 1 KB record batch: the codec never looks inside
    return {"transactional_id": None, "acks": -1, "timeout_ms": 30000,
            "topic_data": [{"name": "bench", "partition_data": [{"index": 0, "records": batch}]}]}


def _fetch_body() -> dict:
    return {"replica_id": -1, "max_wait_ms": 500, "min_bytes": 1, "max_bytes": 52428800, "isolation_level": 0,
            "session_id": 0, "session_epoch": -1, "rack_id": "",
            "topics": [{"topic_id": bytes(range(16)), "partitions": [
                {"partition": p, "current_leader_epoch": -1, "fetch_offset": 1000 * p, "last_fetched_epoch": -1,
                 "log_start_offset": -1, "partition_max_bytes": 1048576} for p in range(3)]}],
            "forgotten_topics_data": []}


def _metadata_body() -> dict:
    """10 topics of 10 partitions each, as the all-topics answer lists them."""
    return {"throttle_time_ms": 0, "cluster_id": "kbroker", "controller_id": 1,
            "brokers": [{"node_id": 1, "host": "127.0.0.1", "port": 9092, "rack": None}],
            "topics": [{"error_code": 0, "name": f"topic-{t}", "topic_id": bytes([t]) * 16, "is_internal": False,
                        "partitions": [{"error_code": 0, "partition_index": p, "leader_id": 1, "leader_epoch": 0,
                                        "replica_nodes": [1], "isr_nodes": [1], "offline_replicas": []}
                                       for p in range(10)],
                        "topic_authorized_operations": AUTHORIZED_OPERATIONS_OMITTED} for t in range(10)],
            "cluster_authorized_operations": AUTHORIZED_OPERATIONS_OMITTED}


def cases() -> dict:
    """name -> a function of no arguments doing one operation."""
    produce = encode_request(PRODUCE, PRODUCE_VERSION, 1, _produce_body())
    fetch = encode_request(FETCH, FETCH_VERSION, 1, _fetch_body())
    metadata_body = _metadata_body()
    metadata = b"".join(encode_response(METADATA, METADATA_VERSION, 1, metadata_body))
    produce_body, fetch_body = _produce_body(), _fetch_body()
    return {
        f"produce_v{PRODUCE_VERSION}_1kb_decode": lambda: decode_request(produce[4:], PRODUCE, PRODUCE_VERSION),
        f"produce_v{PRODUCE_VERSION}_1kb_encode": lambda: encode_request(PRODUCE, PRODUCE_VERSION, 1, produce_body),
        f"fetch_v{FETCH_VERSION}_request_decode": lambda: decode_request(fetch[4:], FETCH, FETCH_VERSION),
        f"fetch_v{FETCH_VERSION}_request_encode": lambda: encode_request(FETCH, FETCH_VERSION, 1, fetch_body),
        f"metadata_v{METADATA_VERSION}_10x10_response_encode":
            lambda: encode_response(METADATA, METADATA_VERSION, 1, metadata_body),
        f"metadata_v{METADATA_VERSION}_10x10_response_decode":
            lambda: decode_response(metadata[4:], METADATA, METADATA_VERSION),
    }


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
        n *= 2 if spent < seconds / 10 else max(2, int(seconds / max(spent, 1e-9) * n) // n + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--only")
    parser.add_argument("--iterations", type=int)
    args = parser.parse_args()
    table = cases()
    if args.iterations is not None:
        op = table[args.only]
        op()   # compile the schemas outside the counted loop
        for _ in range(args.iterations):
            op()
        return
    for name, op in table.items():
        if args.only and name != args.only:
            continue
        op()
        best = min(per_op_us(op, args.seconds) for _ in range(args.rounds))
        print(f"{name:40s} {best:8.2f} us/op")


if __name__ == "__main__":
    main()
