"""Metadata over a real socket: this broker leads every partition; topics all, by name or by id;
auto-creation as the request and the broker allow; unknown and invalid topics in the topic's error shape."""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import NO_OPERATIONS, create_topic
from kproto.errors import ErrorCode as E
from kproto.messages import METADATA

NO_ID = bytes(16)
# No ACLs, every operation allowed. Kafka's AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7,
# DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12))


def topic_entry(name: str, partitions: int, version: int, topic_id: bytes = NO_ID,
                operations: int = NO_OPERATIONS) -> dict:
    """A topic this broker leads, as the client decodes it at ``version``."""
    return {"error_code": 0, "name": name, "topic_id": topic_id if version >= 10 else NO_ID, "is_internal": False,
            "partitions": [{"error_code": 0, "partition_index": p, "leader_id": 1,
                            "leader_epoch": 0 if version >= 7 else -1, "replica_nodes": [1], "isr_nodes": [1],
                            "offline_replicas": []} for p in range(partitions)],
            "topic_authorized_operations": operations}


def error_entry(name: str | None, code: int, topic_id: bytes = NO_ID) -> dict:
    return {"error_code": code, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": [],
            "topic_authorized_operations": NO_OPERATIONS}


def request(topics, *, allow_auto_topic_creation: bool = False, **flags) -> dict:
    return {"topics": topics, "allow_auto_topic_creation": allow_auto_topic_creation, **flags}


@pytest.mark.parametrize("version", [0, 1, 2, 4, 7, 9, 10, 12, 13])
def test_named_topic(served, client, topic, version):
    topic_id = create_topic(client, topic, partitions=2)
    response = client.request(METADATA, version, request([{"name": topic}]))
    assert response == {
        "throttle_time_ms": 0,
        "brokers": [{"node_id": 1, "host": "127.0.0.1", "port": served.port, "rack": None}],
        "cluster_id": served.broker.cluster_id if version >= 2 else None,
        "controller_id": 1 if version >= 1 else -1,
        "topics": [topic_entry(topic, 2, version, topic_id)],
        "cluster_authorized_operations": NO_OPERATIONS,
        "error_code": 0,   # v13's top-level error code (KIP-1102); the schema's default before
    }


@pytest.mark.parametrize("version,everything", [(0, []), (1, None), (9, None), (12, None), (13, None)])
def test_all_topics(client, topic, version, everything):
    """A null list asks for every topic (in v0, where the list is not nullable, an empty one does)."""
    topic_id = create_topic(client, topic, partitions=3)
    topics = client.request(METADATA, version, request(everything))["topics"]
    assert [t for t in topics if t["name"] == topic] == [topic_entry(topic, 3, version, topic_id)]
    # and again (the encoded answer is kept until a topic changes): a new topic shows up
    other_id = create_topic(client, topic + "-2")
    topics = client.request(METADATA, version, request(everything))["topics"]
    assert [t for t in topics if t["name"].startswith(topic)] == [
        topic_entry(topic, 3, version, topic_id), topic_entry(topic + "-2", 1, version, other_id)]


def test_by_topic_id(client, topic):
    topic_id = create_topic(client, topic)
    unknown = bytes(range(16))
    topics = client.request(METADATA, 12, request([{"name": None, "topic_id": topic_id},
                                                   {"name": None, "topic_id": unknown}]))["topics"]
    assert topics == [topic_entry(topic, 1, 12, topic_id), error_entry(None, E.UNKNOWN_TOPIC_ID, unknown)]


@pytest.mark.parametrize("version", [4, 12])
def test_unknown_topic_is_not_created_unless_allowed(client, topic, version):
    assert client.request(METADATA, version, request([{"name": topic}]))["topics"] == [
        error_entry(topic, E.UNKNOWN_TOPIC_OR_PARTITION)]
    [created] = client.request(METADATA, version, request([{"name": topic}], allow_auto_topic_creation=True))["topics"]
    assert created == topic_entry(topic, 1, version, created["topic_id"])   # ready at once
    assert client.request(METADATA, version, request([{"name": topic}]))["topics"] == [created]


@pytest.mark.parametrize("version", [0, 3])
def test_versions_before_4_always_allow_auto_creation(client, topic, version):
    [created] = client.request(METADATA, version, {"topics": [{"name": topic}]})["topics"]
    assert created == topic_entry(topic, 1, version)


def test_broker_without_auto_creation(own_broker, topic):
    with own_broker(memory=True, auto_create_topics=False) as served, served.client() as client:
        topics = client.request(METADATA, 12, request([{"name": topic}], allow_auto_topic_creation=True))["topics"]
        assert topics == [error_entry(topic, E.UNKNOWN_TOPIC_OR_PARTITION)]


@pytest.mark.parametrize("name", ["bad/name", "has space", "..", "x" * 250])
def test_invalid_topic_name(client, name):
    topics = client.request(METADATA, 12, request([{"name": name}], allow_auto_topic_creation=True))["topics"]
    assert topics == [error_entry(name, E.INVALID_TOPIC_EXCEPTION)]


@pytest.mark.parametrize("version", [8, 10, 11, 12])
def test_authorized_operations_when_asked(client, topic, version):
    topic_id = create_topic(client, topic)
    response = client.request(METADATA, version, request(
        [{"name": topic}], include_topic_authorized_operations=True, include_cluster_authorized_operations=True))
    assert response["topics"] == [topic_entry(topic, 1, version, topic_id, operations=TOPIC_OPERATIONS)]
    # the cluster's are in the response up to v10 (v11 moved them to DescribeCluster)
    assert response["cluster_authorized_operations"] == (CLUSTER_OPERATIONS if version <= 10 else NO_OPERATIONS)
