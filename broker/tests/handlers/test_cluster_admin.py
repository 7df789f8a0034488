"""The admin APIs a one-broker, one-log-directory Kafka answers trivially but exactly, over a real
socket: DescribeCluster, DescribeTopicPartitions (with its cursor), DescribeLogDirs (real sizes),
AlterReplicaLogDirs, OffsetForLeaderEpoch, ElectLeaders and the partition reassignment APIs."""

from __future__ import annotations

import os

import pytest

from broker.tests.handlers.serving import NO_OPERATIONS, batch, create_topic, produce
from kproto.errors import ErrorCode as E
from kproto.messages import (ALTER_PARTITION_REASSIGNMENTS, ALTER_REPLICA_LOG_DIRS, DESCRIBE_CLUSTER,
                             DESCRIBE_LOG_DIRS, DESCRIBE_TOPIC_PARTITIONS, ELECT_LEADERS, LIST_PARTITION_REASSIGNMENTS,
                             OFFSET_FOR_LEADER_EPOCH)

TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12))


# -- DescribeCluster ---------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [0, 1, 2])
@pytest.mark.parametrize("operations", [False, True])
def test_describe_cluster(served, client, version, operations):
    response = client.request(DESCRIBE_CLUSTER, version, {"include_cluster_authorized_operations": operations})
    assert response == {
        "throttle_time_ms": 0, "error_code": 0, "error_message": None, "endpoint_type": 1,
        "cluster_id": served.broker.cluster_id, "controller_id": 1,
        "brokers": [{"broker_id": 1, "host": "127.0.0.1", "port": served.port, "rack": None, "is_fenced": False}],
        "cluster_authorized_operations": CLUSTER_OPERATIONS if operations else NO_OPERATIONS}


@pytest.mark.parametrize("include_fenced_brokers", [False, True])
def test_describe_cluster_v2_lists_this_broker_unfenced(served, client, include_fenced_brokers):
    """KIP-1073: fenced brokers only when asked for, each broker marked; the one answering is never fenced."""
    response = client.request(DESCRIBE_CLUSTER, 2, {"include_cluster_authorized_operations": False,
                                                    "include_fenced_brokers": include_fenced_brokers})
    assert response["brokers"] == [{"broker_id": 1, "host": "127.0.0.1", "port": served.port, "rack": None,
                                    "is_fenced": False}]
    # the v2 broker entry carries the flag on the wire: one byte (false) more than v1's
    frames = {}
    for version in (1, 2):
        client.send(DESCRIBE_CLUSTER, version, {"include_cluster_authorized_operations": False})
        frames[version] = client.read_frame()
    assert len(frames[2]) == len(frames[1]) + 1


@pytest.mark.parametrize("endpoint_type,code,message", [
    (2, E.MISMATCHED_ENDPOINT_TYPE,
     "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"),
    (7, E.UNSUPPORTED_ENDPOINT_TYPE, "Unsupported endpoint type 7"),
])
def test_describe_cluster_endpoint_types(client, endpoint_type, code, message):
    response = client.request(DESCRIBE_CLUSTER, 1, {"include_cluster_authorized_operations": False,
                                                    "endpoint_type": endpoint_type})
    assert (response["error_code"], response["error_message"], response["brokers"]) == (code, message, [])


# -- DescribeTopicPartitions -------------------------------------------------------------------------

def describe_partitions(client, names: list[str], limit: int = 2000, cursor: tuple[str, int] | None = None) -> dict:
    return client.request(DESCRIBE_TOPIC_PARTITIONS, 0, {
        "topics": [{"name": name} for name in names], "response_partition_limit": limit,
        "cursor": None if cursor is None else {"topic_name": cursor[0], "partition_index": cursor[1]}})


def pages(response: dict) -> list[tuple[str, list[int]]]:
    return [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in response["topics"]]


def test_describe_topic_partitions(client, topic):
    topic_id = create_topic(client, topic, partitions=2)
    response = describe_partitions(client, [topic])
    assert response == {"throttle_time_ms": 0, "next_cursor": None, "topics": [{
        "error_code": 0, "name": topic, "topic_id": topic_id, "is_internal": False,
        "partitions": [{"error_code": 0, "partition_index": p, "leader_id": 1, "leader_epoch": 0, "replica_nodes": [1],
                        "isr_nodes": [1], "eligible_leader_replicas": [], "last_known_elr": [], "offline_replicas": []}
                       for p in (0, 1)],
        "topic_authorized_operations": TOPIC_OPERATIONS}]}


def test_describe_topic_partitions_a_page_at_a_time(client, topic):
    a, b, c = topic + "-a", topic + "-b", topic + "-c"
    create_topic(client, a, partitions=3)
    create_topic(client, b, partitions=2)
    create_topic(client, c, partitions=1)
    first = describe_partitions(client, [c, b, a], limit=2)
    assert (pages(first), first["next_cursor"]) == ([(a, [0, 1])], {"topic_name": a, "partition_index": 2})
    second = describe_partitions(client, [c, b, a], limit=2, cursor=(a, 2))
    assert (pages(second), second["next_cursor"]) == ([(a, [2]), (b, [0])], {"topic_name": b, "partition_index": 1})
    third = describe_partitions(client, [c, b, a], limit=2, cursor=(b, 1))
    assert (pages(third), third["next_cursor"]) == ([(b, [1]), (c, [0])], None)
    # a page that ends with a topic points at the next one
    exact = describe_partitions(client, [b, c], limit=2)
    assert (pages(exact), exact["next_cursor"]) == ([(b, [0, 1])], {"topic_name": c, "partition_index": 0})


def test_describe_all_topic_partitions(client, topic):
    create_topic(client, topic, partitions=2)
    everything = describe_partitions(client, [])
    assert (topic, [0, 1]) in pages(everything)
    names = [t["name"] for t in everything["topics"]]
    assert names == sorted(names)


def test_describe_topic_partitions_errors(client, topic):
    create_topic(client, topic)
    response = describe_partitions(client, [topic, "no-such-topic-x", "bad/name"])
    assert [(t["name"], t["error_code"], t["partitions"], t["topic_authorized_operations"])
            for t in response["topics"]] == [
        ("bad/name", E.INVALID_TOPIC_EXCEPTION, [], NO_OPERATIONS),
        ("no-such-topic-x", E.UNKNOWN_TOPIC_OR_PARTITION, [], NO_OPERATIONS), (topic, 0, [{
            "error_code": 0, "partition_index": 0, "leader_id": 1, "leader_epoch": 0, "replica_nodes": [1],
            "isr_nodes": [1], "eligible_leader_replicas": [], "last_known_elr": [], "offline_replicas": []}],
            TOPIC_OPERATIONS)]


@pytest.mark.parametrize("cursor", [("not-asked-for", 0), (None, -1)], ids=["topic-not-asked", "negative-partition"])
def test_describe_topic_partitions_bad_cursor(client, topic, cursor):
    create_topic(client, topic)
    response = describe_partitions(client, [topic], cursor=(cursor[0] or topic, cursor[1]))
    assert [(t["name"], t["error_code"], t["partitions"]) for t in response["topics"]] == [
        (topic, E.INVALID_REQUEST, [])]


# -- DescribeLogDirs and AlterReplicaLogDirs -------------------------------------------------------------

def on_disk(data_dir, topic: str, partition: int) -> int:
    return sum(p.stat().st_size for p in (data_dir / f"{topic}-{partition}").glob("*.log"))


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_describe_log_dirs_sizes(served, client, topic, version):
    create_topic(client, topic, partitions=3)
    for i in range(3):
        assert produce(client, topic, batch(b"x" * (100 * (i + 1))), partition=1)["error_code"] == 0
    response = client.request(DESCRIBE_LOG_DIRS, version, {"topics": [{"topic": topic, "partitions": [1, 2, 9]}]})
    [result] = response["results"]
    data_dir = served.broker.config.data_dir
    assert (response["error_code"], result["error_code"], result["log_dir"]) == (0, 0, os.path.abspath(data_dir))
    mine = {t["name"]: t["partitions"] for t in result["topics"]}[topic]
    assert mine == [{"partition_index": p, "partition_size": on_disk(data_dir, topic, p), "offset_lag": 0,
                     "is_future_key": False} for p in (1, 2)]
    assert mine[0]["partition_size"] > 600 and mine[1]["partition_size"] == 0
    if version >= 4:
        assert result["total_bytes"] >= result["usable_bytes"] > 0
    else:
        assert result["total_bytes"] == result["usable_bytes"] == -1


def test_describe_every_log_dir(served, client, topic):
    create_topic(client, topic, partitions=2)
    [result] = client.request(DESCRIBE_LOG_DIRS, 4, {"topics": None})["results"]
    mine = {t["name"]: t["partitions"] for t in result["topics"]}[topic]
    assert [p["partition_index"] for p in mine] == [0, 1]


def test_an_in_memory_broker_has_no_log_dirs(own_broker):
    with own_broker(memory=True) as served, served.client() as client:
        assert client.request(DESCRIBE_LOG_DIRS, 4, {"topics": None}) == {
            "throttle_time_ms": 0, "error_code": 0, "results": []}


def test_alter_replica_log_dirs(served, client, topic):
    create_topic(client, topic, partitions=2)
    here = os.path.abspath(served.broker.config.data_dir)
    response = client.request(ALTER_REPLICA_LOG_DIRS, 2, {"dirs": [
        {"path": here, "topics": [{"name": topic, "partitions": [0, 5]}]},
        {"path": "/elsewhere", "topics": [{"name": topic + "-other", "partitions": [0]}]}]})
    assert response == {"throttle_time_ms": 0, "results": [
        {"topic_name": topic, "partitions": [{"partition_index": 0, "error_code": 0},
                                             {"partition_index": 5, "error_code": E.REPLICA_NOT_AVAILABLE}]},
        {"topic_name": topic + "-other", "partitions": [{"partition_index": 0, "error_code": E.LOG_DIR_NOT_FOUND}]}]}


# -- OffsetForLeaderEpoch ----------------------------------------------------------------------------------

def epoch_end(client, topic: str, leader_epoch: int, *, version: int = 4, current: int = -1, partition: int = 0):
    response = client.request(OFFSET_FOR_LEADER_EPOCH, version, {"replica_id": -1, "topics": [
        {"topic": topic, "partitions": [
            {"partition": partition, "current_leader_epoch": current, "leader_epoch": leader_epoch}]}]})
    [part] = response["topics"][0]["partitions"]
    return part["error_code"], part["leader_epoch"], part["end_offset"]


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_epoch_zero_ends_at_the_log_end(client, topic, version):
    create_topic(client, topic)
    assert produce(client, topic, batch(b"a", b"b", b"c"))["error_code"] == 0
    assert epoch_end(client, topic, 0, version=version) == (0, 0 if version >= 1 else -1, 3)
    assert epoch_end(client, topic, 1, version=version) == (0, -1, -1)      # newer than any: unknown
    assert epoch_end(client, topic, -1, version=version) == (0, -1, -1)     # no epoch asked
    assert epoch_end(client, topic, -5, version=version) == (0, -5 if version >= 1 else -1, 0)  # older than any


def test_epoch_errors(client, topic):
    create_topic(client, topic)
    assert epoch_end(client, topic, 0, current=1) == (E.UNKNOWN_LEADER_EPOCH, -1, -1)
    assert epoch_end(client, topic, 0, current=-3) == (E.FENCED_LEADER_EPOCH, -1, -1)
    assert epoch_end(client, topic, 0, current=0) == (0, 0, 0)
    assert epoch_end(client, topic, 0, partition=1) == (E.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
    assert epoch_end(client, "no-such-topic-y", 0) == (E.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)


# -- ElectLeaders and reassignments --------------------------------------------------------------------

@pytest.mark.parametrize("version,election_type", [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1)])
def test_elect_leaders(client, topic, version, election_type):
    create_topic(client, topic, partitions=2)
    response = client.request(ELECT_LEADERS, version, {"election_type": election_type, "timeout_ms": 5000,
                                                       "topic_partitions": [{"topic": topic, "partitions": [1, 4]},
                                                                            {"topic": "no-such-z", "partitions": [0]}]})
    assert response == {"throttle_time_ms": 0, "error_code": 0, "replica_election_results": [
        {"topic": topic, "partition_result": [
            {"partition_id": 1, "error_code": E.ELECTION_NOT_NEEDED,
             "error_message": "Leader election not needed for topic partition."},
            {"partition_id": 4, "error_code": E.UNKNOWN_TOPIC_OR_PARTITION,
             "error_message": f"No such partition as {topic}-4"}]},
        {"topic": "no-such-z", "partition_result": [
            {"partition_id": 0, "error_code": E.UNKNOWN_TOPIC_OR_PARTITION,
             "error_message": "No such topic as no-such-z"}]}]}


def test_elect_every_leader(client, topic):
    create_topic(client, topic)
    response = client.request(ELECT_LEADERS, 2, {"election_type": 0, "timeout_ms": 5000, "topic_partitions": None})
    assert {"topic": topic, "partition_result": []} in response["replica_election_results"]
    bad = client.request(ELECT_LEADERS, 2, {"election_type": 3, "timeout_ms": 5000,
                                            "topic_partitions": [{"topic": topic, "partitions": [0]}]})
    assert bad == {"throttle_time_ms": 0, "error_code": E.INVALID_REQUEST, "replica_election_results": [
        {"topic": topic, "partition_result": [{"partition_id": 0, "error_code": E.INVALID_REQUEST,
                                               "error_message": "Unknown election type 3"}]}]}


def test_alter_partition_reassignments(client, topic):
    create_topic(client, topic, partitions=2)
    response = client.request(ALTER_PARTITION_REASSIGNMENTS, 0, {"timeout_ms": 5000, "topics": [
        {"name": topic, "partitions": [{"partition_index": 0, "replicas": [1]},
                                       {"partition_index": 1, "replicas": [1, 2]},
                                       {"partition_index": 0, "replicas": None},
                                       {"partition_index": 7, "replicas": [1]}]},
        {"name": "no-such-w", "partitions": [{"partition_index": 0, "replicas": [1]}]}]})
    assert response == {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "responses": [
        {"name": topic, "partitions": [
            {"partition_index": 0, "error_code": 0, "error_message": None},
            {"partition_index": 1, "error_code": E.INVALID_REPLICA_ASSIGNMENT,
             "error_message": "The manual partition assignment includes broker 2, but no such broker is registered."},
            {"partition_index": 0, "error_code": E.NO_REASSIGNMENT_IN_PROGRESS,
             "error_message": "No partition reassignment is in progress."},
            {"partition_index": 7, "error_code": E.UNKNOWN_TOPIC_OR_PARTITION,
             "error_message": f"Unable to find partition {topic}:7."}]},
        {"name": "no-such-w", "partitions": [{"partition_index": 0, "error_code": E.UNKNOWN_TOPIC_OR_PARTITION,
                                              "error_message": "Unable to find a topic named no-such-w."}]}]}


@pytest.mark.parametrize("topics", [None, [{"name": "anything", "partition_indexes": [0]}]])
def test_no_reassignment_is_ever_in_progress(client, topics):
    assert client.request(LIST_PARTITION_REASSIGNMENTS, 0, {"timeout_ms": 5000, "topics": topics}) == {
        "throttle_time_ms": 0, "error_code": 0, "error_message": None, "topics": []}
