"""CreatePartitions over a real socket: topics grow and keep their data, validate_only, and every
refusal with Kafka's code and message (an internal topic's count cannot change)."""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce, values_of
from kproto.errors import ErrorCode as E
from kproto.messages import CREATE_PARTITIONS, FETCH, METADATA, OFFSET_COMMIT


def grow(client, *topics: tuple, validate_only: bool = False, version: int = 3) -> list[dict]:
    """CreatePartitions of (name, count) or (name, count, assignments) entries."""
    response = client.request(CREATE_PARTITIONS, version, {"timeout_ms": 5000, "validate_only": validate_only,
                                                           "topics": [
        {"name": t[0], "count": t[1], "assignments": None if len(t) < 3 else [{"broker_ids": ids} for ids in t[2]]}
        for t in topics]})
    assert response["throttle_time_ms"] == 0
    return response["results"]


def partitions_of(client, name: str) -> int | None:
    [topic] = client.request(METADATA, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False})["topics"]
    return len(topic["partitions"]) if topic["error_code"] == 0 else None


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_grow_and_keep_the_data(client, topic, version):
    create_topic(client, topic, partitions=2)
    assert produce(client, topic, batch(b"kept"), partition=1)["error_code"] == 0
    assert grow(client, (topic, 5), version=version) == [{"name": topic, "error_code": 0, "error_message": None}]
    assert partitions_of(client, topic) == 5
    response = client.request(FETCH, 12, fetch_body(topic, {1: 0, 4: 0}))
    records = {p["partition_index"]: values_of(p["records"]) for p in response["responses"][0]["partitions"]}
    assert records == {1: [(0, b"kept")], 4: []}
    assert produce(client, topic, batch(b"new"), partition=4)["base_offset"] == 0


def test_validate_only_creates_nothing(client, topic):
    create_topic(client, topic)
    assert grow(client, (topic, 3), validate_only=True) == [{"name": topic, "error_code": 0, "error_message": None}]
    assert partitions_of(client, topic) == 1


def test_assignments_on_this_broker(client, topic):
    create_topic(client, topic)
    assert grow(client, (topic, 3, [[1], [1]]))[0]["error_code"] == 0
    assert partitions_of(client, topic) == 3


@pytest.mark.parametrize("count,assignments,code,message", [
    (2, None, E.INVALID_PARTITIONS, "Topic already has 2 partition(s)."),
    (1, None, E.INVALID_PARTITIONS, None),
    (4, [[1]], E.INVALID_REPLICA_ASSIGNMENT, "Attempted to add 2 additional partition(s), but only 1 assignment(s) "
                                             "were specified."),
    (3, [[2]], E.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes broker 2, but no such broker "
                                             "is registered."),
    (3, [[1, 1]], E.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes the broker 1 more than "
                                                "once."),
    (3, [[]], E.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."),
    (10003, None, E.POLICY_VIOLATION, "Unable to perform excessively large batch operation."),
], ids=["same", "fewer", "too-few-assignments", "other-broker", "twice", "empty", "too-many"])
def test_refused(client, topic, count, assignments, code, message):
    create_topic(client, topic, partitions=2)
    if message is None:
        message = f"The topic {topic} currently has 2 partition(s); 1 would not be an increase."
    entry = (topic, count) if assignments is None else (topic, count, assignments)
    assert grow(client, entry) == [{"name": topic, "error_code": code, "error_message": message}]
    assert partitions_of(client, topic) == 2


def test_unknown_topic_and_duplicates(client, topic):
    create_topic(client, topic)
    results = grow(client, ("no-such-topic-here", 3), (topic + "-x", 2), (topic, 2), (topic + "-x", 3))
    assert results == [
        {"name": topic + "-x", "error_code": E.INVALID_REQUEST, "error_message": "Duplicate topic name."},
        {"name": "no-such-topic-here", "error_code": E.UNKNOWN_TOPIC_OR_PARTITION, "error_message": None},
        {"name": topic, "error_code": 0, "error_message": None}]
    assert partitions_of(client, topic) == 2


def test_an_internal_topic_keeps_its_count(own_broker):
    with own_broker(group_properties={"offsets.topic.num.partitions": "2"}) as served, served.client() as client:
        create_topic(client, "committed")
        commit = client.request(OFFSET_COMMIT, 2, {"group_id": "g", "generation_id_or_member_epoch": -1,
                                                   "member_id": "", "topics": [{"name": "committed", "partitions": [
                                                       {"partition_index": 0, "committed_offset": 0,
                                                        "committed_metadata": None}]}]})
        assert commit["topics"][0]["partitions"][0]["error_code"] == 0
        assert partitions_of(client, "__consumer_offsets") == 2
        assert grow(client, ("__consumer_offsets", 3)) == [{
            "name": "__consumer_offsets", "error_code": E.INVALID_TOPIC_EXCEPTION,
            "error_message": "The number of partitions for the internal topic __consumer_offsets cannot be changed."}]
        assert partitions_of(client, "__consumer_offsets") == 2
