"""Pipelined Produce requests handled together (broker/produce_run.py) answer and store exactly
what the same requests handled one at a time do.

Each case sends one burst of frames (one read for the broker) twice to the same broker: with
runs off, to one set of topics, then with runs on, to topics whose names have the same length.
The answers must be the same bytes (the names swapped back), the logs the same batches, and the
partition directories the same segment files of the same bytes (segments roll and flush.messages
is reached inside the runs).
"""

from __future__ import annotations

import os
import uuid

import pytest

from broker.produce_run import ProduceRun
from broker.tests.handlers.serving import batch, create_topic, fetch_body
from kproto.codec import decode_response, encode_request
from kproto.errors import ErrorCode as E
from kproto.messages import API_VERSIONS, FETCH, LIST_OFFSETS, PRODUCE

PID = 4000                # a producer id the idempotent batches use (storage checks sequences, not the id's origin)
# segments roll, index entries are made and flush.messages is reached inside the runs
TOPIC_CONFIGS = {"segment.bytes": "300", "index.interval.bytes": "100", "flush.messages": "7"}


def _produce(topics: dict, version: int = 9, acks: int = 1, transactional_id: str | None = None) -> tuple:
    body = {"transactional_id": transactional_id, "acks": acks, "timeout_ms": 5000, "topic_data": [
        {"name": name, "partition_data": [{"index": p, "records": r} for p, r in parts.items()]}
        for name, parts in topics.items()]}
    return PRODUCE, version, body


def _idempotent(*values: bytes, sequence: int, epoch: int = 0) -> bytes:
    return batch(*values, producer_id=PID, producer_epoch=epoch, base_sequence=sequence)


def _corrupt(good: bytes) -> bytes:
    bad = bytearray(good)
    bad[-1] ^= 0x01    # a record's byte: the CRC no longer matches
    return bytes(bad)


def _other(a: str) -> list[tuple]:
    list_offsets = {"replica_id": -1, "isolation_level": 0, "topics": [
        {"name": a, "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}]}]}
    return [(API_VERSIONS, 3, {"client_software_name": "t", "client_software_version": "1"}),
            (LIST_OFFSETS, 7, list_offsets), (FETCH, 12, fetch_body(a, {0: 0, 1: 0}))]


def _mixed(a: str, b: str) -> list[tuple]:
    """Plain requests, interrupted by other APIs, errors, several partitions and topics, acks=0."""
    one, two = batch(b"a", b"b"), batch(b"c" * 300)
    api_versions, list_offsets, fetch = _other(a)
    return [
        _produce({a: {0: one}}), _produce({a: {0: two}}), _produce({a: {1: one}}, version=3),
        _produce({a: {0: one, 1: two}, b: {0: one}}, version=7), _produce({a: {0: one}}, version=12),
        api_versions,
        _produce({a: {0: two}}), _produce({a: {0: _corrupt(one)}}), _produce({a: {0: one}}),
        _produce({a: {7: one}}), _produce({a: {0: None}}), _produce({a: {0: one + one}}),
        list_offsets,
        _produce({a: {1: one}}, acks=-1), _produce({a: {1: two}}, acks=0), _produce({a: {1: one}}),
        _produce({a: {0: one}}, acks=2), _produce({a: {0: batch(b"t", is_transactional=True, producer_id=PID + 1,
                                                                producer_epoch=0, base_sequence=0)}}),
        _produce({a: {0: one}}, version=2), _produce({b: {0: two}}, version=11),
        fetch,
        _produce({a: {0: two, 1: two}}), _produce({b: {0: one}}, acks=0),
    ]


def _sequences(a: str, b: str) -> list[tuple]:
    """Idempotent batches of one producer: in order, duplicates of batches just before them (not
    yet written when a run checks them), gaps, a new epoch, an old one, and a corrupt one."""
    s = _idempotent
    return [
        _produce({a: {0: s(b"1", b"2", sequence=0)}}), _produce({a: {0: s(b"3", sequence=2)}}),
        _produce({a: {0: s(b"1", b"2", sequence=0)}}),               # a duplicate of a batch of this run
        _produce({a: {0: s(b"3", sequence=2)}}),                      # ... of the one just before
        _produce({a: {0: s(b"4", sequence=3)}, b: {0: s(b"x", sequence=0)}}),
        _produce({a: {0: s(b"9", sequence=9)}}),                      # a gap: out of order
        _produce({a: {0: _corrupt(s(b"5", sequence=4))}}),            # corrupt: refused, the next takes 4
        _produce({a: {0: s(b"5", b"6", sequence=4)}, b: {0: s(b"y", sequence=1)}}),
        _produce({a: {1: s(b"p", sequence=0)}}),
        _produce({a: {0: s(b"e", sequence=0, epoch=1)}}),             # a new epoch starts at 0
        _produce({a: {0: s(b"o", sequence=6)}}),                      # the old epoch is fenced now
        _produce({a: {0: s(b"e", sequence=0, epoch=1)}}),             # a duplicate in the new epoch
        _produce({a: {0: s(b"f", sequence=1, epoch=1)}, b: {0: s(b"z", sequence=1)}}),   # b: a duplicate
        _produce({a: {0: s(b"g", sequence=3, epoch=1)}}),             # a gap in the new epoch
        _produce({a: {1: s(b"q", sequence=1)}}, acks=0),
        _produce({a: {0: s(b"g", sequence=2, epoch=1)}}),
    ]


def _names(tag: str) -> tuple[str, str]:
    uid = uuid.uuid4().hex[:8]
    return f"runs-{tag}-a-{uid}", f"runs-{tag}-b-{uid}"


def _burst(served, requests: list[tuple], a: str, b: str, runs: bool) -> tuple[list[bytes], dict]:
    """Send ``requests`` in one burst; (the answers' frames, the logs and segment files of a, b)."""
    with served.client() as client:
        for name, partitions in ((a, 2), (b, 1)):
            create_topic(client, name, partitions, TOPIC_CONFIGS)
    data = b"".join(encode_request(message, version, cid, body, "runs-test")
                    for cid, (message, version, body) in enumerate(requests, 1))
    answers = sum(1 for message, _, body in requests if message is not PRODUCE or body["acks"] != 0)
    served.call(setattr, ProduceRun, "enabled", runs)
    try:
        with served.client() as client:
            client.send_raw(data)
            frames = [client.read_frame() for _ in range(answers)]
    finally:
        served.call(setattr, ProduceRun, "enabled", True)
    return frames, _logs(served, a, b)


def _logs(served, a: str, b: str) -> dict:
    logs = {}
    with served.client() as client:
        for role, name, partitions in (("a", a, 2), ("b", b, 1)):
            for p in range(partitions):
                response = client.request(FETCH, 12, fetch_body(name, {p: 0}, max_bytes=1 << 22))
                logs[(role, p)] = bytes(response["responses"][0]["partitions"][0]["records"] or b"")
                if served.broker.config.data_dir is None:
                    continue    # a log in memory
                directory = served.broker.config.data_dir / f"{name}-{p}"
                logs[(role, p, "files")] = sorted(
                    (f, (directory / f).read_bytes()) for f in os.listdir(directory)
                    if f.endswith((".log", ".index", ".timeindex")))
    return logs


def _same(one_side: tuple, other_side: tuple, names: tuple, other_names: tuple) -> None:
    frames, logs = one_side
    other_frames, other_logs = other_side
    for name, other in zip(names, other_names):
        other_frames = [f.replace(other.encode(), name.encode()) for f in other_frames]
    assert other_frames == frames
    assert other_logs == logs


@pytest.mark.parametrize("requests", [_mixed, _sequences])
def test_runs_answer_and_store_as_one_at_a_time(served, requests):
    alone, together = _names("one"), _names("run")
    expected = _burst(served, requests(*alone), *alone, runs=False)
    got = _burst(served, requests(*together), *together, runs=True)
    _same(expected, got, alone, together)
    # The bursts do hold what they are meant to: appends, refusals, duplicates.
    codes = {part["error_code"] for frame, (message, version, _) in zip(
                expected[0], [r for r in requests(*alone) if r[0] is not PRODUCE or r[2]["acks"]])
             if message is PRODUCE
             for topic in decode_response(frame, PRODUCE, version)[1]["responses"]
             for part in topic["partition_responses"]}
    assert {0, E.CORRUPT_MESSAGE} <= codes
    assert ({E.UNKNOWN_TOPIC_OR_PARTITION, E.INVALID_RECORD, E.INVALID_REQUIRED_ACKS} <= codes
            if requests is _mixed else {E.OUT_OF_ORDER_SEQUENCE_NUMBER, E.INVALID_PRODUCER_EPOCH} <= codes)
    assert len({f for key, files in expected[1].items() if "files" in key for f, _ in files}) > 3   # rolled


def test_runs_on_a_log_in_memory(own_broker):
    with own_broker(memory=True) as served:
        for requests in (_mixed, _sequences):
            alone, together = _names("one"), _names("run")
            expected = _burst(served, requests(*alone), *alone, runs=False)
            _same(expected, _burst(served, requests(*together), *together, runs=True), alone, together)


def test_failed_acks0_request_in_a_run_closes_as_alone(served):
    """An acks=0 request that fails closes the connection; what came before it is appended, what
    came after it is not."""
    results = []
    for tag, runs in (("one", False), ("run", True)):
        a, b = _names(tag)
        requests = [_produce({a: {0: batch(b"1")}}), _produce({a: {0: batch(b"2")}}),
                    _produce({a: {0: _corrupt(batch(b"3"))}}, acks=0), _produce({a: {0: batch(b"4")}})]
        with served.client() as client:
            for name, partitions in ((a, 2), (b, 1)):
                create_topic(client, name, partitions, TOPIC_CONFIGS)
        served.call(setattr, ProduceRun, "enabled", runs)
        try:
            with served.client() as client:
                client.send_raw(b"".join(encode_request(m, v, cid, body, "runs-test")
                                         for cid, (m, v, body) in enumerate(requests, 1)))
                assert client.is_closed()
        finally:
            served.call(setattr, ProduceRun, "enabled", True)
        results.append(_logs(served, a, b))
    assert results[1] == results[0]
    assert results[0][("a", 0)]   # the two before it were appended
