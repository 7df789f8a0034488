"""A raw load generator speaking kproto: pipelined Produce requests with one pre-built batch,
so nothing but the broker is measured (no client library in the way)."""

from __future__ import annotations

import socket
import time

from kproto.codec import decode_response, encode_request
from kproto.messages import PRODUCE
from storage import Record, build_batch

PRODUCE_VERSION = 9


def batch_of(total_bytes: int, record_bytes: int = 1000) -> bytes:
    """A RecordBatch of about ``total_bytes`` (records of ``record_bytes``)."""
    count = max(1, total_bytes // (record_bytes + 10))
    value = b"x" * record_bytes
    now = int(time.time() * 1000)
    return build_batch([Record(timestamp=now, value=value) for _ in range(count)])


def produce_frame(topic: str, batch: bytes, acks: int = 1) -> bytes:
    body = {"transactional_id": None, "acks": acks, "timeout_ms": 30000,
            "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": batch}]}]}
    return encode_request(PRODUCE, PRODUCE_VERSION, 1, body, "kbroker-loadgen")


def pipelined_produce(bootstrap: str, topic: str, batch: bytes, requests: int, window: int = 64) -> float:
    """Send ``requests`` Produce requests keeping ``window`` in flight; seconds until the last response.

    Every request is the same frame (Kafka does not need distinct correlation ids), so
    the generator does no work per request beyond the socket calls.
    """
    host, _, port = bootstrap.rpartition(":")
    frame = produce_frame(topic, batch)
    burst = frame * max(1, min(window, (1 << 20) // len(frame)))
    per_burst = len(burst) // len(frame)
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent = received = 0
    buffer = bytearray()
    first_response = None
    start = time.perf_counter()
    while received < requests:
        while sent < requests and sent - received + per_burst <= max(window, per_burst):
            n = min(per_burst, requests - sent)
            sock.sendall(burst if n == per_burst else frame * n)
            sent += n
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buffer += chunk
        position = 0
        while len(buffer) - position >= 4:
            size = int.from_bytes(buffer[position:position + 4], "big")
            if len(buffer) - position < 4 + size:
                break
            if first_response is None:
                first_response = bytes(buffer[position + 4:position + 4 + size])
            position += 4 + size
            received += 1
        del buffer[:position]
    elapsed = time.perf_counter() - start
    sock.close()
    _, body = decode_response(first_response, PRODUCE, PRODUCE_VERSION)
    code = body["responses"][0]["partition_responses"][0]["error_code"]
    if code:
        raise RuntimeError(f"produce failed with error {code}")
    return elapsed
