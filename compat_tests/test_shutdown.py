"""SIGTERM drains: the broker stops accepting, answers what it has received, flushes the log and exits.

Every request a client sent gets a response or sees the connection close; every acknowledged
record is in the log after a restart.
"""

from __future__ import annotations

import signal
import socket
import threading
import time

from broker.testing import BrokerProcess, RawClient
from compat_tests.clients import fetch_log, records_of
from kproto.codec import decode_response, encode_request
from kproto.messages import FETCH, PRODUCE
from storage import Record, build_batch

REQUESTS = 20_000
SIGNAL_AFTER = 200    # responses read before SIGTERM


def produce_frame(topic: str, correlation_id: int) -> bytes:
    batch = build_batch([Record(timestamp=int(time.time() * 1000), value=str(correlation_id).encode())])
    body = {"transactional_id": None, "acks": -1, "timeout_ms": 5000,
            "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": batch}]}]}
    return encode_request(PRODUCE, 9, correlation_id, body, "shutdown-test")


def test_sigterm_amid_pipelined_produces(tmp_path, topic_name):
    broker = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log").start()
    try:
        with RawClient(broker.bootstrap) as raw:     # the topic exists before the flood
            first = raw.sock.sendall(produce_frame(topic_name, 0)) or raw.receive(PRODUCE, 9)[1]
            assert first["responses"][0]["partition_responses"][0]["error_code"] == 0
        frames = [produce_frame(topic_name, i) for i in range(1, REQUESTS + 1)]
        sock = socket.create_connection(("127.0.0.1", broker.port))

        def send_all() -> None:
            try:
                for frame in frames:
                    sock.sendall(frame)
            except OSError:
                pass      # the broker closed: the rest is neither acknowledged nor answered

        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        answered: list[tuple[int, int, int]] = []     # correlation id, error code, base offset
        buffer = bytearray()
        signalled = False
        sock.settimeout(30)
        while True:
            try:
                chunk = sock.recv(1 << 20)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break       # the connection closed: requests not answered by now never will be
            buffer += chunk
            position = 0
            while len(buffer) - position >= 4:
                size = int.from_bytes(buffer[position:position + 4], "big")
                if len(buffer) - position - 4 < size:
                    break
                correlation_id, body = decode_response(bytes(buffer[position + 4:position + 4 + size]), PRODUCE, 9)
                part = body["responses"][0]["partition_responses"][0]
                answered.append((correlation_id, part["error_code"], part["base_offset"]))
                position += 4 + size
            del buffer[:position]
            if not signalled and len(answered) >= SIGNAL_AFTER:
                broker.proc.send_signal(signal.SIGTERM)
                signalled = True
        sock.close()
        sender.join(30)
        assert signalled, f"only {len(answered)} answers before the connection closed"
        assert broker.proc.wait(30) == 0
    finally:
        broker.stop()

    assert [a[0] for a in answered] == list(range(1, len(answered) + 1)), "answers out of order or missing"
    acknowledged = {cid: offset for cid, code, offset in answered if code == 0}
    assert len(acknowledged) >= SIGNAL_AFTER
    assert len(answered) < REQUESTS, "SIGTERM came after the last request: nothing was tested"

    broker.start()
    try:
        on_disk = {record.offset: int(record.value) for record in records_of(fetch_log(broker.bootstrap, topic_name))}
    finally:
        broker.stop()
    for cid, offset in acknowledged.items():
        assert on_disk.get(offset) == cid, f"request {cid}, acknowledged at offset {offset}, is not in the log"
    assert sorted(on_disk) == list(range(len(on_disk))), "a gap in the log"
    assert len(set(on_disk.values())) == len(on_disk), "a request appended twice"
    taken_unanswered = set(on_disk.values()) - set(acknowledged) - {0}
    assert not taken_unanswered, f"appended but never answered: {sorted(taken_unanswered)[:10]}"


def test_sigterm_stops_accepting_and_waits_for_connections(tmp_path):
    """While a client still holds its connection, the drain goes on: no new connection is accepted,
    the client reads the end of the stream, and once it closes the broker exits."""
    broker = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log").start()
    try:
        idle = socket.create_connection(("127.0.0.1", broker.port))
        broker.proc.send_signal(signal.SIGTERM)
        refused = False
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()
            except ConnectionRefusedError:
                refused = True
                break
            time.sleep(0.01)
        assert refused, "the broker still accepts connections while draining"
        assert broker.proc.poll() is None, "the broker did not wait for the open connection"
        idle.settimeout(30)
        assert idle.recv(1) == b"", "the broker did not end the stream"
        idle.close()
        assert broker.proc.wait(30) == 0
        assert "draining connections" in (tmp_path / "broker.log").read_text()
    finally:
        broker.stop()


def test_sigterm_cuts_a_long_poll_short(tmp_path, topic_name):
    """A fetch waiting for data is not waited for: its connection closes and the broker exits."""
    broker = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log").start()
    try:
        with RawClient(broker.bootstrap) as raw:
            raw.sock.sendall(produce_frame(topic_name, 0))
            raw.receive(PRODUCE, 9)
            raw.send(FETCH, 11, {"max_wait_ms": 60_000, "min_bytes": 1 << 20, "max_bytes": 1 << 20,
                                 "isolation_level": 0, "session_id": 0, "forgotten_topics_data": [], "rack_id": "",
                                 "topics": [{"topic": topic_name, "partitions": [
                                     {"partition": 0, "fetch_offset": 1, "partition_max_bytes": 1 << 20}]}]})
            time.sleep(0.2)     # the fetch is waiting
            broker.proc.send_signal(signal.SIGTERM)
            assert raw.is_closed(30)
        assert broker.proc.wait(30) == 0
        log = (tmp_path / "broker.log").read_text()
        assert "not drained" not in log, log
    finally:
        broker.stop()
