"""A raw load generator speaking kproto: pipelined Produce requests with one pre-built batch,
so nothing but the broker is measured (no client library in the way)."""

from __future__ import annotations

import socket
import struct
import time

from bench.workloads import CpuMeter, create_topic
from kproto.codec import decode_response, encode_request
from kproto.messages import FETCH, PRODUCE
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


def produce_ceiling(broker, batch_bytes: int, requests: int) -> dict:
    """Raw pipelined Produce requests of one batch each, from the kproto load generator."""
    topic = create_topic(broker.bootstrap)
    batch = batch_of(batch_bytes, record_bytes=min(1000, batch_bytes // 2))
    pipelined_produce(broker.bootstrap, topic, batch, min(200, requests))   # warm up
    with CpuMeter(broker.pid) as cpu:
        elapsed = pipelined_produce(broker.bootstrap, topic, batch, requests)
    return {"requests/s": requests / elapsed, "MB/s": requests * len(batch) / elapsed / 1e6,
            "broker µs/request": cpu.seconds / requests * 1e6}


def fetch_ceiling(broker, total_bytes: int = 1 << 30, batch_bytes: int = 1 << 20) -> dict:
    """Fill one partition with ``total_bytes`` (raw 1 MB batches), then read it all with one
    raw consumer (Fetch v11 requests of up to 64 MB, records not decoded): GB/s from the page cache."""
    topic = create_topic(broker.bootstrap)
    batch = batch_of(batch_bytes, record_bytes=1000)
    pipelined_produce(broker.bootstrap, topic, batch, total_bytes // len(batch), window=8)
    host, _, port = broker.bootstrap.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    view = memoryview(bytearray(80 << 20))
    offset = received = 0
    with CpuMeter(broker.pid) as cpu:
        start = time.perf_counter()
        while received < total_bytes - len(batch):
            body = {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 1, "max_bytes": 64 << 20,
                    "isolation_level": 0, "session_id": 0, "session_epoch": -1,
                    "topics": [{"topic": topic, "partitions": [{"partition": 0, "fetch_offset": offset,
                                                                "partition_max_bytes": 64 << 20}]}]}
            sock.sendall(encode_request(FETCH, FETCH_VERSION, 1, body, "kbroker-loadgen"))
            size = int.from_bytes(_recv_exactly(sock, view, 4), "big")
            records = _records_of(_recv_exactly(sock, view, size), len(topic))
            if not len(records):
                raise RuntimeError(f"fetch at offset {offset} returned no records")
            received += len(records)
            offset = _next_offset(records)
        elapsed = time.perf_counter() - start
    sock.close()
    return {"GB/s": received / elapsed / 1e9, "broker cores": cpu.seconds / elapsed}


FETCH_VERSION = 11
_I32 = struct.Struct(">i")


def _recv_exactly(sock: socket.socket, view: memoryview, n: int) -> memoryview:
    got = 0
    while got < n:
        k = sock.recv_into(view[got:n], n - got)
        if not k:
            raise ConnectionError("broker closed the connection")
        got += k
    return view[:n]


def _records_of(frame: memoryview, topic_length: int) -> memoryview:
    """The records of a Fetch v11 response for one topic and one partition, without copying.

    correlation id 4, throttle 4, error 2, session 4, topics 4, name 2+n, partitions 4,
    index 4, error 2, high watermark 8, last stable 8, log start 8, aborted (-1 or n x 16),
    preferred replica 4, records length 4, records.
    """
    position = 4 + 4 + 2 + 4 + 4 + 2 + topic_length + 4 + 4 + 2 + 8 + 8 + 8
    aborted = _I32.unpack_from(frame, position)[0]
    position += 4 + max(aborted, 0) * 16 + 4
    length = _I32.unpack_from(frame, position)[0]
    return frame[position + 4:position + 4 + max(length, 0)]


def _next_offset(records: memoryview) -> int:
    """One past the last offset of the last whole batch."""
    position, next_offset = 0, None
    while len(records) - position >= 61:
        base = int.from_bytes(records[position:position + 8], "big")
        length = _I32.unpack_from(records, position + 8)[0]
        if position + 12 + length > len(records):
            break
        next_offset = base + _I32.unpack_from(records, position + 23)[0] + 1
        position += 12 + length
    if next_offset is None:
        raise RuntimeError("no whole batch in the fetch response")
    return next_offset
