"""DeleteTopics over a real socket: by name (v1-5) or by name or id (v6); the topic and its records
go; unknown and internal topics in the topic's error shape."""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce
from kproto.errors import ErrorCode as E
from kproto.messages import DELETE_TOPICS, FETCH, METADATA, OFFSET_COMMIT

NO_ID = bytes(16)


def delete(client, version: int, *topics: tuple[str | None, bytes]) -> list[dict]:
    body = ({"topics": [{"name": name, "topic_id": topic_id} for name, topic_id in topics]} if version >= 6
            else {"topic_names": [name for name, _ in topics]})
    response = client.request(DELETE_TOPICS, version, {**body, "timeout_ms": 5000})
    assert response["throttle_time_ms"] == 0
    return response["responses"]


def exists(client, name: str) -> bool:
    [topic] = client.request(METADATA, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False})["topics"]
    return topic["error_code"] == 0


@pytest.mark.parametrize("version,by_id", [(1, False), (4, False), (5, False), (6, False), (6, True)])
def test_delete(client, topic, version, by_id):
    topic_id = create_topic(client, topic, partitions=2)
    produce(client, topic, batch(b"gone"), partition=1)
    results = delete(client, version, (None, topic_id) if by_id else (topic, NO_ID))
    # v6 answers with the name and the id, whichever was asked
    assert results == [{"name": topic, "topic_id": topic_id if version >= 6 else NO_ID, "error_code": 0,
                        "error_message": None}]
    assert not exists(client, topic)
    # a topic made again under the name starts empty
    create_topic(client, topic, partitions=2)
    [part] = client.request(FETCH, 12, fetch_body(topic, {1: 0}))["responses"][0]["partitions"]
    assert (part["error_code"], part["high_watermark"], bytes(part["records"])) == (0, 0, b"")


def test_unknown_topics(client, topic):
    unknown_id = bytes(range(16))
    assert delete(client, 6, (topic, NO_ID), (None, unknown_id)) == [
        {"name": topic, "topic_id": NO_ID, "error_code": E.UNKNOWN_TOPIC_OR_PARTITION, "error_message": None},
        {"name": None, "topic_id": unknown_id, "error_code": E.UNKNOWN_TOPIC_ID, "error_message": None}]
    assert delete(client, 1, (topic, NO_ID)) == [
        {"name": topic, "topic_id": NO_ID, "error_code": E.UNKNOWN_TOPIC_OR_PARTITION, "error_message": None}]


def test_each_topic_on_its_own(client, topic):
    create_topic(client, topic)
    results = delete(client, 4, (topic + "-none", NO_ID), (topic, NO_ID))
    assert [(r["name"], r["error_code"]) for r in results] == [
        (topic + "-none", E.UNKNOWN_TOPIC_OR_PARTITION), (topic, 0)]
    assert not exists(client, topic)


def test_internal_topic_is_kept(own_broker, topic):
    with own_broker(memory=True) as served, served.client() as client:
        create_topic(client, topic)
        committed = client.request(OFFSET_COMMIT, 8, {   # a commit makes __consumer_offsets
            "group_id": "g", "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
            "topics": [{"name": topic, "partitions": [{"partition_index": 0, "committed_offset": 0,
                                                       "committed_metadata": ""}]}]})
        assert committed["topics"][0]["partitions"][0]["error_code"] == 0
        [result] = delete(client, 6, ("__consumer_offsets", NO_ID))
        assert (result["name"], result["error_code"], result["error_message"]) == (
            "__consumer_offsets", E.INVALID_TOPIC_EXCEPTION,
            "Topic __consumer_offsets is an internal topic and cannot be deleted")
        assert result["topic_id"] != NO_ID
        assert exists(client, "__consumer_offsets")
