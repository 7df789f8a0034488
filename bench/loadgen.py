"""A raw load generator speaking kproto: pipelined Produce requests with one pre-built batch,
so nothing but the broker is measured (no client library in the way)."""

from __future__ import annotations

import socket
import struct
import time

from bench.workloads import CpuMeter, create_topic
from kproto.codec import decode_response, encode_request
from kproto.messages import FETCH, METADATA, PRODUCE
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


def produce_fixed_batches(broker, messages: int = 200_000, per_request: int = 11, size: int = 100,
                          window: int = 5) -> dict:
    """``produce_100b`` without librdkafka: the same 100-byte messages in requests of a fixed
    ``per_request`` (what librdkafka sent on average under pipelining), ``window`` in flight
    (its max.in.flight). Both brokers then get the same requests, so their CPU per message
    compares like for like, whatever batching a client would have chosen on that run."""
    topic = create_topic(broker.bootstrap)
    now = int(time.time() * 1000)
    batch = build_batch([Record(timestamp=now, value=b"x" * size) for _ in range(per_request)])
    requests = messages // per_request
    pipelined_produce(broker.bootstrap, topic, batch, min(200, requests), window=window)   # warm up
    with CpuMeter(broker.pid) as cpu:
        elapsed = pipelined_produce(broker.bootstrap, topic, batch, requests, window=window)
    return {"msgs/s": requests * per_request / elapsed, "broker µs/msg": cpu.seconds / (requests * per_request) * 1e6,
            "broker µs/request": cpu.seconds / requests * 1e6}


def fetch_ceiling(broker, total_bytes: int = 1 << 30, batch_bytes: int = 1 << 20) -> dict:
    """Fill one partition with ``total_bytes`` (raw 1 MB batches), then read it all with one
    raw consumer (Fetch v13 by topic id, as modern clients fetch, up to 64 MB a request;
    records not decoded): GB/s from the page cache."""
    topic = create_topic(broker.bootstrap)
    batch = batch_of(batch_bytes, record_bytes=1000)
    pipelined_produce(broker.bootstrap, topic, batch, total_bytes // len(batch), window=8)
    host, _, port = broker.bootstrap.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    topic_id = _topic_id(sock, topic)
    view = memoryview(bytearray(80 << 20))
    offset = received = 0
    with CpuMeter(broker.pid) as cpu:
        start = time.perf_counter()
        while received < total_bytes - len(batch):
            body = {"replica_id": -1, "max_wait_ms": 500, "min_bytes": 1, "max_bytes": 64 << 20,
                    "isolation_level": 0, "session_id": 0, "session_epoch": -1,
                    "topics": [{"topic_id": topic_id, "partitions": [{"partition": 0, "fetch_offset": offset,
                                                                      "partition_max_bytes": 64 << 20}]}]}
            sock.sendall(encode_request(FETCH, FETCH_VERSION, 1, body, "kbroker-loadgen"))
            size = int.from_bytes(_recv_exactly(sock, view, 4), "big")
            records = _records_of(_recv_exactly(sock, view, size))
            if not len(records):
                raise RuntimeError(f"fetch at offset {offset} returned no records")
            received += len(records)
            offset = _next_offset(records)
        elapsed = time.perf_counter() - start
    sock.close()
    return {"GB/s": received / elapsed / 1e9, "broker cores": cpu.seconds / elapsed}


FETCH_VERSION = 13
_I32 = struct.Struct(">i")


def _topic_id(sock: socket.socket, topic: str) -> bytes:
    sock.sendall(encode_request(METADATA, 12, 1, {"topics": [{"topic_id": bytes(16), "name": topic}],
                                                   "allow_auto_topic_creation": False}, "kbroker-loadgen"))
    size = int.from_bytes(sock.recv(4, socket.MSG_WAITALL), "big")
    _, body = decode_response(sock.recv(size, socket.MSG_WAITALL), METADATA, 12)
    return body["topics"][0]["topic_id"]


def _recv_exactly(sock: socket.socket, view: memoryview, n: int) -> memoryview:
    got = 0
    while got < n:
        k = sock.recv_into(view[got:n], n - got)
        if not k:
            raise ConnectionError("broker closed the connection")
        got += k
    return view[:n]


def _uvarint(frame: memoryview, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = frame[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _records_of(frame: memoryview) -> memoryview:
    """The records of a Fetch v13 response for one topic and one partition, without copying.

    correlation id 4, header tags, throttle 4, error 2, session 4, [tags come last],
    topics (uvarint), topic id 16, partitions (uvarint), index 4, error 2, high watermark 8,
    last stable 8, log start 8, aborted (uvarint count+1, entries of 16 + tags),
    preferred replica 4, records (uvarint length+1), records.
    """
    _, position = _uvarint(frame, 4)
    position += 4 + 2 + 4
    _, position = _uvarint(frame, position)
    position += 16
    _, position = _uvarint(frame, position)
    position += 4 + 2 + 8 + 8 + 8
    aborted, position = _uvarint(frame, position)
    for _ in range(max(aborted - 1, 0)):
        position += 16
        _, position = _uvarint(frame, position)   # each entry's (empty) tags
    position += 4
    length, position = _uvarint(frame, position)
    return frame[position:position + max(length - 1, 0)]


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


def fetch_small(broker, requests: int = 20_000) -> dict:
    """A raw consumer that keeps up: one Fetch v13 in flight at a time, each returning the same
    batch of 10 x 100 B (what a consumer polling a partition written in small batches asks):
    requests/s and broker CPU per request."""
    topic = create_topic(broker.bootstrap)
    batch = batch_of(1000, record_bytes=100)
    pipelined_produce(broker.bootstrap, topic, batch, 1)
    host, _, port = broker.bootstrap.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    topic_id = _topic_id(sock, topic)
    body = {"replica_id": -1, "max_wait_ms": 500, "min_bytes": 1, "max_bytes": 1 << 20,
            "isolation_level": 0, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic_id": topic_id, "partitions": [{"partition": 0, "fetch_offset": 0,
                                                              "partition_max_bytes": 1 << 20}]}]}
    frame = encode_request(FETCH, FETCH_VERSION, 1, body, "kbroker-loadgen")
    view = memoryview(bytearray(1 << 20))

    def one() -> None:
        sock.sendall(frame)
        size = int.from_bytes(_recv_exactly(sock, view, 4), "big")
        if not len(_records_of(_recv_exactly(sock, view, size))):
            raise RuntimeError("fetch returned no records")

    for _ in range(200):   # warm up
        one()
    with CpuMeter(broker.pid) as cpu:
        start = time.perf_counter()
        for _ in range(requests):
            one()
        elapsed = time.perf_counter() - start
    sock.close()
    return {"requests/s": requests / elapsed, "broker µs/request": cpu.seconds / requests * 1e6}
