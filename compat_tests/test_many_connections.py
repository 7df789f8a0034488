"""Many connections at once: none starves, while one client floods the broker with pipelined produces.

400 raw connections to one broker process, and a flooder keeping 32 produce requests in flight
on its own connection throughout. Every connection sends a produce at the same moment and must
get its answer; then every connection long-polls a partition of its own, one produce per
partition wakes them, and each must be answered with the record written for it.
"""

from __future__ import annotations

import threading
import time

import pytest

from broker.testing import BrokerProcess, RawClient
from kproto.messages import FETCH, PRODUCE
from storage import Record, build_batch, decode_records, iter_batches

CONNECTIONS = 400
PARTITIONS = 40
FLOOD_IN_FLIGHT = 32


def produce_body(topic: str, partition: int, value: bytes) -> dict:
    batch = build_batch([Record(timestamp=int(time.time() * 1000), value=value)])
    return {"transactional_id": None, "acks": 1, "timeout_ms": 5000, "topic_data": [
        {"name": topic, "partition_data": [{"index": partition, "records": batch}]}]}


def fetch_body(topic: str, partition: int, offset: int) -> dict:
    return {"max_wait_ms": 20_000, "min_bytes": 1, "max_bytes": 1 << 20, "isolation_level": 0,
            "session_id": 0, "forgotten_topics_data": [], "rack_id": "", "topics": [{
                "topic": topic, "partitions": [
                    {"partition": partition, "fetch_offset": offset, "partition_max_bytes": 1 << 20}]}]}


class Flooder(threading.Thread):
    """Pipelined produces to partition 0 as fast as the broker answers them, until stopped."""

    def __init__(self, bootstrap: str, topic: str):
        super().__init__(daemon=True)
        self.client, self.topic = RawClient(bootstrap, timeout_s=30), topic
        self.stop, self.answered, self.errors = threading.Event(), 0, []

    def run(self) -> None:
        body = produce_body(self.topic, 0, b"flood" * 20)
        in_flight = 0
        try:
            while not self.stop.is_set() or in_flight:
                while in_flight < FLOOD_IN_FLIGHT and not self.stop.is_set():
                    self.client.send(PRODUCE, 9, body)
                    in_flight += 1
                _, response = self.client.receive(PRODUCE, 9)
                in_flight -= 1
                self.answered += 1
                assert response["responses"][0]["partition_responses"][0]["error_code"] == 0
        except Exception as exc:   # reported by the test
            self.errors.append(exc)
        finally:
            self.client.close()


@pytest.fixture
def broker(tmp_path):
    with BrokerProcess(tmp_path / "data", overrides={"num.partitions": str(PARTITIONS)},
                       log_path=tmp_path / "broker.log") as process:
        yield process


def test_no_connection_starves_beside_a_flooding_client(broker, topic_name):
    with RawClient(broker.bootstrap) as first:   # creates the topic
        answer = first.request(PRODUCE, 9, produce_body(topic_name, 0, b"first"))
        assert answer["responses"][0]["partition_responses"][0]["error_code"] == 0
    clients = [RawClient(broker.bootstrap, timeout_s=60) for _ in range(CONNECTIONS)]
    flooder = Flooder(broker.bootstrap, topic_name)
    flooder.start()
    try:
        # every connection's produce sent before any answer is read
        sent = [client.send(PRODUCE, 9, produce_body(topic_name, 1 + i % (PARTITIONS - 1), b"c%d" % i))
                for i, client in enumerate(clients)]
        offsets: dict[int, set[int]] = {}
        for i, (client, correlation_id) in enumerate(zip(clients, sent)):
            got, response = client.receive(PRODUCE, 9)
            assert got == correlation_id
            [part] = response["responses"][0]["partition_responses"]
            assert part["error_code"] == 0, f"connection {i}: error {part['error_code']}"
            offsets.setdefault(1 + i % (PARTITIONS - 1), set()).add(part["base_offset"])
        assert sum(len(o) for o in offsets.values()) == CONNECTIONS, "two produces given one offset"

        # each connection long-polls the end of a partition; one produce per partition wakes them all
        ends = {p: max(o) + 1 for p, o in offsets.items()}
        polls = [client.send(FETCH, 11, fetch_body(topic_name, 1 + i % (PARTITIONS - 1), ends[1 + i % (PARTITIONS - 1)]))
                 for i, client in enumerate(clients)]
        time.sleep(0.5)     # the polls are waiting (answered early, they would hold no record: asserted below)
        with RawClient(broker.bootstrap) as writer:
            for partition in ends:
                answer = writer.request(PRODUCE, 9, produce_body(topic_name, partition, b"wake-%d" % partition))
                assert answer["responses"][0]["partition_responses"][0]["error_code"] == 0
        for i, (client, correlation_id) in enumerate(zip(clients, polls)):
            partition = 1 + i % (PARTITIONS - 1)
            got, response = client.receive(FETCH, 11)
            assert got == correlation_id
            [fetched] = response["responses"][0]["partitions"]
            values = [r.value for b in iter_batches(bytes(fetched["records"] or b"")) for r in decode_records(b)]
            assert values == [b"wake-%d" % partition], f"connection {i}: {values}"
    finally:
        flooder.stop.set()
        flooder.join(30)
        for client in clients:
            client.close()
    assert not flooder.errors, flooder.errors
    assert flooder.answered > 0, "the flooding client was starved"
