"""What the broker advertises, it serves: every advertised version of every API answers a minimal request."""

from __future__ import annotations

import pytest

from broker.testing import RawClient
from compat_tests.clients import create_topic, end_offsets
from kproto.messages import (API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS, FETCH, FIND_COORDINATOR, INIT_PRODUCER_ID,
                             LIST_OFFSETS, METADATA, PRODUCE)
from storage import Record, build_batch


def values_of(records: bytes) -> list[bytes]:
    """The values of fetched records, RecordBatch v2 or message sets (kafka-python reads both)."""
    from kafka.record.memory_records import MemoryRecords
    batches, out = MemoryRecords(records), []
    while (one := batches.next_batch()) is not None:
        out += [r.value for r in one]
    return out

EXPECTED_RANGES = {0: (0, 11), 1: (0, 17), 2: (0, 10), 3: (0, 12), 10: (0, 6), 18: (0, 4), 19: (0, 7), 20: (0, 6),
                   22: (0, 5)}


@pytest.fixture(scope="module")
def advertised(broker) -> dict[int, tuple[int, int]]:
    with RawClient(broker.bootstrap) as raw:
        response = raw.request(API_VERSIONS, 3, {"client_software_name": "compat-tests",
                                                 "client_software_version": "1"})
    assert response["error_code"] == 0
    return {k["api_key"]: (k["min_version"], k["max_version"]) for k in response["api_keys"]}


def versions(api_key: int, low: int | None = None):
    lo, hi = EXPECTED_RANGES[api_key]
    return range(lo if low is None else low, hi + 1)


def test_advertised_ranges(advertised):
    # groups are being built elsewhere: only the foundation's APIs are pinned here
    assert {k: v for k, v in advertised.items() if k in EXPECTED_RANGES} == EXPECTED_RANGES


@pytest.mark.parametrize("version", versions(18))
def test_api_versions(version, bootstrap, advertised):
    body = {"client_software_name": "compat-tests", "client_software_version": "1"} if version >= 3 else {}
    with RawClient(bootstrap) as raw:
        response = raw.request(API_VERSIONS, version, body)
    assert response["error_code"] == 0
    assert {k["api_key"]: (k["min_version"], k["max_version"]) for k in response["api_keys"]} == advertised


@pytest.mark.parametrize("version", versions(3))
def test_metadata(version, bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 2)
    topic = {"name": topic_name, "topic_id": bytes(16)}
    with RawClient(bootstrap) as raw:
        response = raw.request(METADATA, version, {"topics": [topic], "allow_auto_topic_creation": False,
                                                   "include_cluster_authorized_operations": False,
                                                   "include_topic_authorized_operations": False})
    [t] = response["topics"]
    assert (t["error_code"], t["name"], sorted(p["partition_index"] for p in t["partitions"])) == \
        (0, topic_name, [0, 1])
    assert [(b["node_id"], b["host"]) for b in response["brokers"]] == [(1, "127.0.0.1")]


def test_produce_fetch_and_list_offsets_every_version(bootstrap, topic_name):
    """A v2 batch at every Produce version (v0-2 take one too, as Kafka's do), read back at every Fetch
    version (v0-3 as message sets), and the latest offset and offsets by time at every ListOffsets version."""
    create_topic("confluent", bootstrap, topic_name, 1)
    produce_versions = list(versions(0))
    with RawClient(bootstrap) as raw:
        for n, version in enumerate(produce_versions):
            batch = build_batch([Record(timestamp=1_700_000_000_000 + n, key=b"v%d" % version, value=b"%d" % n)])
            response = raw.request(PRODUCE, version, {"transactional_id": None, "acks": -1, "timeout_ms": 5000,
                                                      "topic_data": [{"name": topic_name, "partition_data": [
                                                          {"index": 0, "records": batch}]}]})
            part = response["responses"][0]["partition_responses"][0]
            assert (version, part["error_code"], part["base_offset"]) == (version, 0, n)
        count = len(produce_versions)

        topic_id = raw.request(METADATA, 12, {"topics": [{"name": topic_name, "topic_id": bytes(16)}],
                                              "allow_auto_topic_creation": False,
                                              "include_topic_authorized_operations": False})["topics"][0]["topic_id"]
        assert topic_id != bytes(16)
        for version in versions(1):
            response = raw.request(FETCH, version, {
                "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20, "isolation_level": 0, "session_id": 0,
                "session_epoch": -1, "topics": [{"topic": topic_name, "topic_id": topic_id, "partitions": [
                    {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}]}],
                "forgotten_topics_data": [], "rack_id": ""})
            part = response["responses"][0]["partitions"][0]
            assert (version, part["error_code"], part["high_watermark"]) == (version, 0, count)
            assert values_of(bytes(part["records"])) == [b"%d" % n for n in range(count)], version

        for version in versions(2):
            response = raw.request(LIST_OFFSETS, version, {"replica_id": -1, "isolation_level": 0, "timeout_ms": 1000,
                                                           "topics": [{"name": topic_name, "partitions": [
                                                               {"partition_index": 0, "timestamp": t,
                                                                "max_num_offsets": 1} for t in (-1,)]}]})
            part = response["topics"][0]["partitions"][0]
            if version == 0:   # an array of offsets; offsets by record time came with v1
                assert (part["error_code"], part["old_style_offsets"]) == (0, [count])
                continue
            assert (version, part["error_code"], part["offset"]) == (version, 0, count)
            by_time = raw.request(LIST_OFFSETS, version, {"replica_id": -1, "isolation_level": 0, "timeout_ms": 1000,
                                                          "topics": [{"name": topic_name, "partitions": [
                                                              {"partition_index": 0,
                                                               "timestamp": 1_700_000_000_002}]}]})
            part = by_time["topics"][0]["partitions"][0]
            assert (version, part["error_code"], part["offset"], part["timestamp"]) == \
                (version, 0, 2, 1_700_000_000_002)
    assert end_offsets(bootstrap, topic_name, 1) == [count]


@pytest.mark.parametrize("version", versions(19))
def test_create_and_delete_topics(version, bootstrap, topic_name):
    with RawClient(bootstrap) as raw:
        created = raw.request(CREATE_TOPICS, version, {"topics": [
            {"name": topic_name, "num_partitions": 2, "replication_factor": 1, "assignments": [],
             "configs": [{"name": "retention.ms", "value": "60000"}]}], "timeout_ms": 5000, "validate_only": False})
        [t] = created["topics"]
        assert (t["name"], t["error_code"]) == (topic_name, 0)
        delete_version = min(version, 6)   # 0..6 across the parametrization
        body = ({"topics": [{"name": topic_name, "topic_id": bytes(16)}], "timeout_ms": 5000} if delete_version >= 6
                else {"topic_names": [topic_name], "timeout_ms": 5000})
        deleted = raw.request(DELETE_TOPICS, delete_version, body)
        [d] = deleted["responses"]
        assert (d["name"], d["error_code"]) == (topic_name, 0)


@pytest.mark.parametrize("version", versions(22))
def test_init_producer_id(version, bootstrap):
    with RawClient(bootstrap) as raw:
        first = raw.request(INIT_PRODUCER_ID, version, {"transactional_id": None, "transaction_timeout_ms": 60000,
                                                        "producer_id": -1, "producer_epoch": -1})
        second = raw.request(INIT_PRODUCER_ID, version, {"transactional_id": None, "transaction_timeout_ms": 60000,
                                                         "producer_id": -1, "producer_epoch": -1})
        transactional = [raw.request(INIT_PRODUCER_ID, version, {
            "transactional_id": f"versions-txn-{version}", "transaction_timeout_ms": 60000, "producer_id": -1,
            "producer_epoch": -1}) for _ in range(2)]
    assert (first["error_code"], first["producer_epoch"], second["error_code"]) == (0, 0, 0)
    assert second["producer_id"] > first["producer_id"] >= 0
    # a transactional id keeps its producer id; initialising it again bumps the epoch
    assert [(t["error_code"], t["producer_epoch"]) for t in transactional] == [(0, 0), (0, 1)]
    assert transactional[0]["producer_id"] == transactional[1]["producer_id"] > second["producer_id"]


@pytest.mark.parametrize("version", versions(10))
def test_find_coordinator(version, bootstrap):
    port = int(bootstrap.rsplit(":", 1)[1])
    body = {"key": "g", "key_type": 0, "coordinator_keys": ["g", "h"]}
    with RawClient(bootstrap) as raw:
        response = raw.request(FIND_COORDINATOR, version, body)
    if version >= 4:
        assert [(c["key"], c["error_code"], c["node_id"], c["host"], c["port"]) for c in response["coordinators"]] \
            == [("g", 0, 1, "127.0.0.1", port), ("h", 0, 1, "127.0.0.1", port)]
    else:
        assert (response["error_code"], response["node_id"], response["host"], response["port"]) == \
            (0, 1, "127.0.0.1", port)
