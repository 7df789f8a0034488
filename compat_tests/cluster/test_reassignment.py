"""Moving a partition's replicas to other brokers (AlterPartitionReassignments, KIP-455): the
new replicas catch up, then the old ones leave; ListPartitionReassignments shows it meanwhile."""

from __future__ import annotations

from broker.testing import RawClient
from compat_tests.clients import Out, consume, produce
from kproto.errors import ErrorCode
from kproto.messages import ALTER_PARTITION_REASSIGNMENTS, CREATE_TOPICS, LIST_PARTITION_REASSIGNMENTS


def to_controller(cluster, message, body: dict, version: int = 0) -> dict:
    controller = cluster.metadata()["controller_id"]
    with RawClient(cluster.brokers[controller].bootstrap) as client:
        return client.request(message, version, body)


def test_a_partition_moves_to_other_brokers_and_keeps_its_records(make_cluster, topic_name):
    cluster = make_cluster(3, leader_replication_throttled_rate=200_000)   # slow enough to see it under way
    created = to_controller(cluster, CREATE_TOPICS, {"topics": [{
        "name": topic_name, "num_partitions": -1, "replication_factor": -1, "configs": [],
        "assignments": [{"partition_index": 0, "broker_ids": [1, 2]}]}], "timeout_ms": 30000, "validate_only": False},
        version=5)
    assert created["topics"][0]["error_code"] == 0
    produce("confluent", cluster.bootstrap, topic_name, [Out(None, b"v%04d" % i + b"x" * 500) for i in range(2000)],
            acks="all")
    answer = to_controller(cluster, ALTER_PARTITION_REASSIGNMENTS, {"timeout_ms": 30000, "topics": [
        {"name": topic_name, "partitions": [{"partition_index": 0, "replicas": [3, 2]}]},
        {"name": "no-such-topic", "partitions": [{"partition_index": 0, "replicas": [1]}]}]})
    assert [p["error_code"] for t in answer["responses"] for p in t["partitions"]] == [
        0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    listed = to_controller(cluster, LIST_PARTITION_REASSIGNMENTS, {"timeout_ms": 30000, "topics": None})
    assert listed["topics"] == [{"name": topic_name, "partitions": [
        {"partition_index": 0, "replicas": [3, 2, 1], "adding_replicas": [3], "removing_replicas": [1]}]}]

    def moved():
        view = cluster.partition(topic_name)
        return view["replica_nodes"] == [3, 2] and sorted(view["isr_nodes"]) == [2, 3] and view
    view = cluster.wait_for(moved, timeout_s=60, what="the move done")
    assert view["leader_id"] in (2, 3)
    assert to_controller(cluster, LIST_PARTITION_REASSIGNMENTS, {"timeout_ms": 30000, "topics": None})["topics"] == []
    assert "moved" in (cluster.directory / f"broker-{cluster.metadata()['controller_id']}.log").read_text()
    cluster.brokers[2].kill()   # broker 3 alone has everything
    cluster.wait_for(lambda: cluster.leader(topic_name, via=3) == 3, what="3 leading")
    got = consume("confluent", cluster.brokers[3].bootstrap, topic_name, 1, 2000)
    assert [r.value[:5] for r in got] == [b"v%04d" % i for i in range(2000)]
    # cancelling what is not under way
    answer = to_controller(cluster, ALTER_PARTITION_REASSIGNMENTS, {"timeout_ms": 30000, "topics": [
        {"name": topic_name, "partitions": [{"partition_index": 0, "replicas": None}]}]})
    assert answer["responses"][0]["partitions"][0]["error_code"] == ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
