"""KafkaBroker, its faults and its request log, seen over real sockets with raw kproto frames.

The clients' side of the same features (retries, delays, reconnects) is in
compat_tests/testkit_sample, run by compat_tests/test_testkit.py.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from broker.faults import Faults, Taps, api_key_of, error_code_of
from broker.testing import KafkaBroker, RawClient
from broker.tests.handlers.serving import batch, fetch_body, produce, produce_body
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_GROUPS, FETCH, HEARTBEAT, LIST_OFFSETS, METADATA, PRODUCE


@pytest.fixture(scope="module")
def kb():
    with KafkaBroker(topics={"a": 2, "b": 1}) as kb:
        yield kb


@pytest.fixture(autouse=True)
def clean(kb):
    kb.faults.clear()
    kb.requests.clear()
    yield
    kb.faults.clear()


def metadata(client: RawClient, *names: str) -> dict:
    return client.request(METADATA, 12, {"topics": [{"name": n, "topic_id": bytes(16)} for n in names] or None,
                                         "allow_auto_topic_creation": False,
                                         "include_topic_authorized_operations": False})


def test_names_and_numbers_of_apis_and_errors():
    assert api_key_of("Produce") == 0 == api_key_of(0) and api_key_of("LIST_OFFSETS") == 2
    assert error_code_of("NOT_LEADER_OR_FOLLOWER") == 6 == error_code_of(6)
    with pytest.raises(ValueError, match=r"unknown API 'Produse'; valid names: .*Fetch, .*Produce"):
        api_key_of("Produse")
    with pytest.raises(ValueError, match=r"unknown API 999"):
        api_key_of(999)
    with pytest.raises(ValueError, match=r"unknown error 'NOT_LEADER'; valid names: .*NOT_LEADER_OR_FOLLOWER"):
        error_code_of("NOT_LEADER")
    with pytest.raises(ValueError, match="unknown error 0"):   # NONE is no error
        error_code_of(0)


def test_bad_fault_settings_are_refused(kb):
    with pytest.raises(ValueError, match="Heartbeat requests name no topic"):
        kb.faults.error("Heartbeat", "REBALANCE_IN_PROGRESS", topic="a")
    with pytest.raises(ValueError, match="a partition filter needs a topic"):
        kb.faults.error("Produce", 6, partition=0)
    with pytest.raises(ValueError, match="times must be"):
        kb.faults.disconnect("Produce", times=0)
    with pytest.raises(ValueError, match="delay ms must be"):
        kb.faults.delay("Fetch", ms=-1)
    assert kb.faults.active == []


def test_an_error_answers_in_the_apis_shape_and_counts_down(kb):
    fault = kb.faults.error("Produce", "NOT_LEADER_OR_FOLLOWER", times=2)
    assert (fault.api, fault.code, fault.times) == ("Produce", 6, 2)
    with RawClient(kb.bootstrap_servers) as client:
        for _ in range(2):
            part = produce(client, "a", batch(b"x"))
            assert (part["error_code"], part["base_offset"]) == (ErrorCode.NOT_LEADER_OR_FOLLOWER, -1)
        assert produce(client, "a", batch(b"stored"))["error_code"] == 0
    assert [r.value for r in kb.records("a", 0)] == [b"stored"]
    assert kb.faults.active == []


def test_topic_and_partition_filters(kb):
    kb.faults.error("Produce", "KAFKA_STORAGE_ERROR", topic="a", partition=1, times=None)
    with RawClient(kb.bootstrap_servers) as client:
        assert produce(client, "a", batch(b"p0"), partition=0)["error_code"] == 0
        assert produce(client, "b", batch(b"b"), partition=0)["error_code"] == 0
        assert produce(client, "a", batch(b"p1"), partition=1)["error_code"] == ErrorCode.KAFKA_STORAGE_ERROR
        assert produce(client, "a", batch(b"p1"), partition=1)["error_code"] == ErrorCode.KAFKA_STORAGE_ERROR
    [active] = kb.faults.active
    assert (active.applied, active.times) == (2, None)


def test_fetch_errors_are_per_partition(kb):
    kb.faults.error("Fetch", "NOT_LEADER_OR_FOLLOWER")
    with RawClient(kb.bootstrap_servers) as client:
        response = client.request(FETCH, 12, fetch_body("a", {0: 0, 1: 0}))
    assert response["error_code"] == 0
    assert [(p["partition_index"], p["error_code"]) for p in response["responses"][0]["partitions"]] == [
        (0, ErrorCode.NOT_LEADER_OR_FOLLOWER), (1, ErrorCode.NOT_LEADER_OR_FOLLOWER)]


def test_metadata_errors_keep_the_broker_list(kb):
    kb.faults.error("Metadata", "LEADER_NOT_AVAILABLE", topic="b")
    with RawClient(kb.bootstrap_servers) as client:
        assert metadata(client, "a")["topics"][0]["error_code"] == 0    # another topic: not matched
        response = metadata(client, "b")
        assert [(t["name"], t["error_code"]) for t in response["topics"]] == [("b", ErrorCode.LEADER_NOT_AVAILABLE)]
        assert [b["port"] for b in response["brokers"]] == [kb.port]
        assert metadata(client, "b")["topics"][0]["error_code"] == 0    # used up


def test_every_api_has_an_error_shape(kb):
    kb.faults.error("DescribeGroups", "COORDINATOR_LOAD_IN_PROGRESS")
    kb.faults.error("Heartbeat", "REBALANCE_IN_PROGRESS")
    kb.faults.error("ListOffsets", "UNKNOWN_TOPIC_OR_PARTITION")
    with RawClient(kb.bootstrap_servers) as client:
        groups = client.request(DESCRIBE_GROUPS, 5, {"groups": ["g1", "g2"], "include_authorized_operations": False})
        assert [(g["group_id"], g["error_code"]) for g in groups["groups"]] == [
            ("g1", ErrorCode.COORDINATOR_LOAD_IN_PROGRESS), ("g2", ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)]
        beat = client.request(HEARTBEAT, 4, {"group_id": "g", "generation_id": 1, "member_id": "m",
                                             "group_instance_id": None})
        assert beat["error_code"] == ErrorCode.REBALANCE_IN_PROGRESS
        offsets = client.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
            {"name": "a", "partitions": [{"partition_index": 1, "current_leader_epoch": -1, "timestamp": -1}]}]})
        assert offsets["topics"][0]["partitions"][0]["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_disconnect_closes_only_that_connection_and_handles_nothing(kb):
    kb.faults.disconnect("Produce", topic="b")
    with RawClient(kb.bootstrap_servers) as client, RawClient(kb.bootstrap_servers) as other:
        client.send(PRODUCE, 11, produce_body("b", {0: batch(b"lost")}))
        assert client.is_closed()
        assert produce(other, "b", batch(b"kept"))["error_code"] == 0
    assert b"lost" not in [r.value for r in kb.records("b")]


def test_a_delay_holds_one_connection_in_order_while_others_are_served(kb):
    kb.faults.delay("Metadata", ms=60_000, times=1)
    with RawClient(kb.bootstrap_servers) as held, RawClient(kb.bootstrap_servers) as other:
        first = held.send(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False})
        second = held.send(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": []})
        # the other connection is answered while the held one waits (a Metadata, not matched any more)
        assert [b["port"] for b in metadata(other)["brokers"]] == [kb.port]
        assert [r.api for r in kb.requests] == ["Metadata", "Metadata"]   # the held connection's second waits
        held.sock.settimeout(0.2)
        with pytest.raises(socket.timeout):
            held.read_frame()
        kb.faults.clear()    # a held request is not released by clearing: it waits its time
        assert len(kb.requests) == 2
    # closing the held connection cancels the wait; the broker serves on
    with RawClient(kb.bootstrap_servers) as client:
        assert metadata(client)["brokers"]
    assert first < second


def test_a_short_delay_answers_in_order(kb):
    kb.faults.delay("Metadata", ms=50, times=1)
    with RawClient(kb.bootstrap_servers) as client:
        first = client.send(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False})
        second = client.send(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": []})
        assert client.receive(METADATA, 12)[0] == first
        assert client.receive(LIST_OFFSETS, 7)[0] == second


def test_the_request_log(kb):
    with RawClient(kb.bootstrap_servers, client_id="logged") as client:
        produce(client, "a", batch(b"x"), partition=1)
        metadata(client, "b")
        address = client.sock.getsockname()
    entries = list(kb.requests)
    assert [(r.api, r.version, r.client_id, r.topics) for r in entries] == [
        ("Produce", 11, "logged", ("a",)), ("Metadata", 12, "logged", ("b",))]
    assert {r.connection for r in entries} == {f"{address[0]}:{address[1]}"}
    assert entries[0].time_ms <= entries[1].time_ms <= time.time() * 1000
    assert [r.api for r in kb.requests.of("Metadata")] == ["Metadata"]
    kb.requests.clear()
    assert len(kb.requests) == 0


def test_no_fault_and_no_log_leaves_the_lookup_table_empty():
    taps = Taps(broker=None)
    assert taps.by_key == {}
    fault = taps.faults.error("Produce", 6)
    assert list(taps.by_key) == [0]
    taps.request_log.enable()
    assert len(taps.by_key) > 30
    taps.request_log.disable()
    taps.faults.remove(fault)
    assert taps.by_key == {}
    assert isinstance(taps.faults, Faults)


def test_faults_are_safe_to_add_from_threads_while_serving(kb):
    with RawClient(kb.bootstrap_servers) as client:
        stop = threading.Event()

        def churn() -> None:
            while not stop.is_set():
                kb.faults.error("Produce", "NOT_ENOUGH_REPLICAS", topic="no-such-topic")
                kb.faults.clear()

        thread = threading.Thread(target=churn)
        thread.start()
        try:
            for _ in range(50):
                assert produce(client, "b", batch(b"x"))["error_code"] == 0
        finally:
            stop.set()
            thread.join()


def test_lifecycle_data_dir_and_errors(tmp_path):
    kb = KafkaBroker(topics=["t"], data_dir=tmp_path / "data")
    with pytest.raises(RuntimeError, match="not running"):
        kb.records("t")
    with kb:
        with RawClient(kb.bootstrap_servers) as client:
            produce(client, "t", batch(b"kept"))
        with pytest.raises(TimeoutError, match="topic 't' holds 1 of 2 records after 0.05 s"):
            kb.wait_for("t", 2, timeout=0.05)
        with pytest.raises(ValueError, match="no topic 'nope'"):
            kb.records("nope")
        with pytest.raises(ValueError, match="TOPIC_ALREADY_EXISTS"):
            kb.create_topic("t")
        assert kb.config(group_id="g", error_cb=print) == {"bootstrap.servers": kb.bootstrap_servers,
                                                          "group.id": "g", "error_cb": print}
    assert not kb.running
    with pytest.raises(RuntimeError, match="closed"):
        kb.start()
    # the data directory holds what was stored, for the next broker on it
    with KafkaBroker(data_dir=tmp_path / "data") as again:
        assert [r.value for r in again.records("t")] == [b"kept"]
