"""Clients that send without reading: the broker's memory stays bounded, others are served, order is kept.

Two floods of ApiVersions v0 frames in 13 KB blocks (16 to a send call, as fast as the socket
takes them), from clients that never read: one keeps its frames whole (it resends what a
non-blocking send left out), the other ignores short sends, so the broker sees a frame cut
mid-way and garbage after it. The broker stops reading a connection whose responses are not
read, closes the garbage one with a log line, serves a third client meanwhile, and answers the
whole one in order once it reads. (A broker that keeps reading such a client was seen to grow
by 1.5 GB in these 3 s.)

Where the cut falls decides what the broker reads (the cut frame itself still decodes, as
ApiVersions with a mangled client id): 12 bytes short, a size of 811 KB whose header is no API,
refused before its body is buffered; 2 bytes short, a 1.4 MB frame whose header reads as
Produce v0 and whose garbage body is received (as it arrives), then does not decode.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

import pytest

from broker.testing import BrokerProcess, RawClient, process_rss_bytes
from kproto.codec import decode_response, encode_request
from kproto.messages import API_VERSIONS, FETCH, METADATA, PRODUCE
from storage import Record, build_batch, decode_records, iter_batches

ATTACK_S = 3.0
RSS_BOUND_BYTES = 50 << 20
CLIENT_ID = b"attack-flood"
FRAMES_PER_BLOCK = 500          # 26-byte frames: a 13 KB block
BLOCKS_PER_SEND = 16


def api_versions_v0(correlation_id: int) -> bytes:
    payload = struct.pack(">hhih", API_VERSIONS.api_key, 0, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    return struct.pack(">i", len(payload)) + payload


BLOCK = b"".join(api_versions_v0(i) for i in range(FRAMES_PER_BLOCK))


def ready(sock: socket.socket, *, read: bool = False, write: bool = False, timeout_s: float) -> tuple[bool, bool]:
    """Whether ``sock`` can be read, written, within ``timeout_s`` (poll: select() fails on descriptors
    above 1023, which a long test session reaches)."""
    poller = select.poll()
    poller.register(sock, (select.POLLIN if read else 0) | (select.POLLOUT if write else 0))
    events = 0
    for _, mask in poller.poll(timeout_s * 1000):
        events |= mask
    return bool(events & (select.POLLIN | select.POLLHUP | select.POLLERR)), bool(events & select.POLLOUT)


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    root = tmp_path_factory.mktemp("flood")
    log = root / "broker.log"
    process = BrokerProcess(root / "data", log_path=log).start()
    yield process, log
    code = process.stop()
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "Traceback" not in text and " failed:" not in text, text[-3000:]


class WholeFlood(threading.Thread):
    """Sends whole blocks (``BLOCKS_PER_SEND`` to a send call) without reading until told to stop;
    then reads every response."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        host, _, port = bootstrap.rpartition(":")
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setblocking(False)
        self.stop = threading.Event()
        self.muted = threading.Event()      # a send found the socket full: the broker stopped reading
        self.sent_bytes = 0
        self.pending = b""

    def run(self) -> None:
        burst = BLOCK * BLOCKS_PER_SEND
        while not self.stop.is_set():
            data = self.pending or burst
            try:
                sent = self.sock.send(data)
            except BlockingIOError:
                self.muted.set()
                ready(self.sock, write=True, timeout_s=0.01)
                continue
            self.sent_bytes += sent
            self.pending = data[sent:]

    def read_all(self, timeout_s: float = 60) -> list[int]:
        """Finish the block being sent, then read until every frame sent is answered: their correlation ids."""
        expected = (self.sent_bytes + len(self.pending)) // len(api_versions_v0(0))
        buffer, ids, first = bytearray(), [], None
        deadline = time.monotonic() + timeout_s
        while len(ids) < expected and time.monotonic() < deadline:
            readable, writable = ready(self.sock, read=True, write=bool(self.pending), timeout_s=1)
            if writable:
                sent = self.sock.send(self.pending)
                self.sent_bytes += sent
                self.pending = self.pending[sent:]
            if not readable:
                continue
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                break
            buffer += chunk
            position = 0
            while len(buffer) - position >= 4:
                size = int.from_bytes(buffer[position:position + 4], "big")
                if len(buffer) - position - 4 < size:
                    break
                frame = bytes(buffer[position + 4:position + 4 + size])
                first = first or frame
                ids.append(int.from_bytes(frame[:4], "big"))
                position += 4 + size
            del buffer[:position]
        self.sock.close()
        _, body = decode_response(first, API_VERSIONS, 0)
        assert body["error_code"] == 0 and body["api_keys"]
        assert len(ids) == expected, f"{len(ids)} responses for {expected} requests"
        return ids


CUTS = (12, 2)     # bytes left out of each connection's first block, in turn (see the module docstring)


class CutFlood(threading.Thread):
    """Sends blocks ignoring short sends, its first block cut short (``CUTS``, in turn); reconnects when closed."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        host, _, port = bootstrap.rpartition(":")
        self.address = (host, int(port))
        self.stop = threading.Event()
        self.closed_by_broker = 0

    def run(self) -> None:
        connections = 0
        while not self.stop.is_set():
            sock = socket.create_connection(self.address)
            cut = CUTS[connections % len(CUTS)]
            connections += 1
            try:
                sock.sendall(BLOCK[:-cut])
                sock.setblocking(False)
                burst = BLOCK * BLOCKS_PER_SEND
                while not self.stop.is_set():
                    try:
                        sock.send(burst)
                    except BlockingIOError:
                        readable, _ = ready(sock, read=True, timeout_s=0.01)
                        if readable and not sock.recv(1 << 16):
                            raise ConnectionResetError
            except (ConnectionError, OSError):
                self.closed_by_broker += 1
                self.stop.wait(0.05)
            finally:
                sock.close()


def served_meanwhile(bootstrap: str, topic: str, count: int) -> int:
    """Requests of another client, each answered: a produce (the first creates the topic) and Metadata."""
    batch = build_batch([Record(timestamp=int(time.time() * 1000), value=b"served")])
    answered = 0
    with RawClient(bootstrap) as raw:
        for _ in range(count):
            produce = raw.request(PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 5000,
                                               "topic_data": [{"name": topic, "partition_data": [
                                                   {"index": 0, "records": batch}]}]})
            assert produce["responses"][0]["partition_responses"][0]["error_code"] == 0
            metadata = raw.request(METADATA, 9, {"topics": [{"name": topic}], "allow_auto_topic_creation": False,
                                                 "include_cluster_authorized_operations": False,
                                                 "include_topic_authorized_operations": False})
            assert metadata["topics"][0]["error_code"] == 0
            answered += 1
    return answered


def test_clients_that_do_not_read_cannot_exhaust_memory(flooded, topic_name):
    broker, log = flooded
    served_meanwhile(broker.bootstrap, topic_name, 5)     # the broker's usual allocations made
    start_rss = process_rss_bytes(broker.pid)
    samples = []
    for _ in range(2):    # twice: what the first round took must be given back, or the second adds to it
        whole, cut = WholeFlood(broker.bootstrap), CutFlood(broker.bootstrap)
        whole.start()
        cut.start()
        started = time.monotonic()
        assert whole.muted.wait(30), "the broker never stopped reading the client that does not read"
        assert served_meanwhile(broker.bootstrap, topic_name, 20) == 20
        while time.monotonic() - started < ATTACK_S:
            samples.append(process_rss_bytes(broker.pid))
            time.sleep(0.02)
        whole.stop.set()
        cut.stop.set()
        whole.join()
        cut.join()
        samples.append(process_rss_bytes(broker.pid))
        assert max(samples) - start_rss < RSS_BOUND_BYTES, \
            f"RSS grew from {start_rss >> 20} MB to {max(samples) >> 20} MB"
        ids = whole.read_all()
        assert ids == [i % FRAMES_PER_BLOCK for i in range(len(ids))], "responses out of order"
        assert cut.closed_by_broker >= len(CUTS)
        samples.append(process_rss_bytes(broker.pid))
    assert max(samples) - start_rss < RSS_BOUND_BYTES, \
        f"RSS grew from {start_rss >> 20} MB to {max(samples) >> 20} MB"
    text = log.read_text()
    assert "unknown or unserved API key" in text and "malformed frame" in text, text[-3000:]
    assert served_meanwhile(broker.bootstrap, topic_name, 1) == 1


def test_responses_do_not_pile_up_for_a_client_that_does_not_read(flooded, topic_name):
    """Small fetches with 60 KB answers (read from the log into memory, below the sendfile size),
    3,000 of them sent before a byte is read, behind a fetch that waits its max_wait_ms so that
    they are all there when the broker turns to them: it stops reading once the answers wait,
    so it never holds the 180 MB they add up to; once the client reads, each comes, in order."""
    broker, _ = flooded
    requests, value = 3000, bytes(60_000)
    with RawClient(broker.bootstrap) as raw:
        part = raw.request(PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 5000, "topic_data": [
            {"name": topic_name, "partition_data": [{"index": 0, "records": build_batch(
                [Record(timestamp=int(time.time() * 1000), value=value)])}]}]})["responses"][0]
        assert part["partition_responses"][0]["error_code"] == 0

    def fetch(max_wait_ms: int = 0, min_bytes: int = 0) -> dict:
        return {"max_wait_ms": max_wait_ms, "min_bytes": min_bytes, "max_bytes": 1 << 20, "isolation_level": 0,
                "session_id": 0, "forgotten_topics_data": [], "rack_id": "", "topics": [{
                    "topic": topic_name, "partitions": [
                        {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}]}]}

    data = encode_request(FETCH, 11, 0, fetch(max_wait_ms=300, min_bytes=1 << 20), "no-reader") + b"".join(
        encode_request(FETCH, 11, i, fetch(), "no-reader") for i in range(1, requests + 1))
    start_rss = process_rss_bytes(broker.pid)
    host, _, port = broker.bootstrap.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sender = threading.Thread(target=sock.sendall, args=(data,), daemon=True)
        sender.start()
        peak = process_rss_bytes(broker.pid)
        reader = sock.makefile("rb")
        for i in range(requests + 1):
            if i % 50 == 0:
                peak = max(peak, process_rss_bytes(broker.pid))
            size = int.from_bytes(reader.read(4), "big")
            correlation_id, body = decode_response(reader.read(size), FETCH, 11)
            assert correlation_id == i
            [fetched] = [r.value for b in iter_batches(bytes(body["responses"][0]["partitions"][0]["records"]))
                         for r in decode_records(b)]
            assert fetched == value
        sender.join()
    assert peak - start_rss < RSS_BOUND_BYTES, f"RSS grew from {start_rss >> 20} MB to {peak >> 20} MB"


def test_large_requests_under_a_small_broker_wide_budget(tmp_path, topic_name):
    """queued.max.request.bytes below the size of the requests in flight: each is admitted in turn, none starves."""
    batch = build_batch([Record(timestamp=int(time.time() * 1000), value=bytes(300_000)) for _ in range(3)])
    with BrokerProcess(tmp_path / "data", overrides={"queued.max.request.bytes": str(512 << 10)},
                       log_path=tmp_path / "broker.log") as broker:
        clients = [RawClient(broker.bootstrap) for _ in range(4)]
        body = {"transactional_id": None, "acks": 1, "timeout_ms": 5000,
                "topic_data": [{"name": topic_name, "partition_data": [{"index": 0, "records": batch}]}]}
        senders = [threading.Thread(target=lambda c=c: [c.send(PRODUCE, 9, body) for _ in range(3)]) for c in clients]
        for sender in senders:
            sender.start()
        offsets = []
        for client in clients:
            for _ in range(3):
                _, response = client.receive(PRODUCE, 9)
                part = response["responses"][0]["partition_responses"][0]
                assert part["error_code"] == 0
                offsets.append(part["base_offset"])
        for sender in senders:
            sender.join()
        for client in clients:
            client.close()
    assert sorted(offsets) == [3 * i for i in range(12)]


def test_requests_around_sendfile_fetches_answered_in_order(flooded, topic_name):
    """A long-polling fetch answered by sendfile, a large produce received while it waits, small
    requests, another fetch, all sent before a byte is read: each is answered in order, and each
    fetch carries exactly the records produced before it."""
    broker, _ = flooded
    now = int(time.time() * 1000)
    values = [bytes([i]) * (256 << 10) for i in range(4)]
    with RawClient(broker.bootstrap) as raw:
        for value in values:    # 1 MB in the partition: the first fetch's range goes by sendfile
            part = raw.request(PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 5000, "topic_data": [
                {"name": topic_name, "partition_data": [{"index": 0, "records": build_batch(
                    [Record(timestamp=now, value=value)])}]}]})["responses"][0]["partition_responses"][0]
            assert part["error_code"] == 0

    def fetch(offset: int, max_wait_ms: int = 0, min_bytes: int = 0) -> dict:
        return {"max_wait_ms": max_wait_ms, "min_bytes": min_bytes, "max_bytes": 4 << 20, "isolation_level": 0, "session_id": 0,
                "forgotten_topics_data": [], "rack_id": "", "topics": [{"topic": topic_name, "partitions": [
                    {"partition": 0, "fetch_offset": offset, "partition_max_bytes": 4 << 20}]}]}

    last = b"z" * (700 << 10)     # larger than one read: received in a buffer of its own
    metadata = {"topics": [{"name": topic_name}], "allow_auto_topic_creation": False,
                "include_cluster_authorized_operations": False, "include_topic_authorized_operations": False}
    # The first fetch waits its max_wait_ms for more than there is, while the produce after it arrives.
    requests = [(FETCH, 11, fetch(0, max_wait_ms=300, min_bytes=8 << 20)),
                (PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 5000, "topic_data": [
                    {"name": topic_name, "partition_data": [{"index": 0, "records": build_batch(
                        [Record(timestamp=now, value=last)])}]}]}),
                *[(METADATA, 9, metadata)] * 10,
                (FETCH, 11, fetch(len(values)))]
    data = b"".join(encode_request(m, v, i, body, "order") for i, (m, v, body) in enumerate(requests))
    host, _, port = broker.bootstrap.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        first = len(encode_request(*requests[0][:2], 0, requests[0][2], "order")) + (64 << 10)
        sock.sendall(data[:first])     # the fetch and the produce's start, read together
        sender = threading.Thread(target=sock.sendall, args=(data[first:],), daemon=True)
        sender.start()
        reader = sock.makefile("rb")
        answers = []
        for message, version, _ in requests:
            size = int.from_bytes(reader.read(4), "big")
            answers.append(decode_response(reader.read(size), message, version))
        sender.join()
    assert [correlation_id for correlation_id, _ in answers] == list(range(len(requests)))
    fetched = [answers[0][1], answers[-1][1]]
    records = [[r.value for b in iter_batches(bytes(f["responses"][0]["partitions"][0]["records"]))
                for r in decode_records(b)] for f in fetched]
    assert records == [values, [last]]
    assert answers[1][1]["responses"][0]["partition_responses"][0]["base_offset"] == len(values)
    assert all(body["topics"][0]["error_code"] == 0 for _, body in answers[2:-1])
