"""CreateTopics over a real socket: what each version answers, validate_only, and every refusal in
the topic's error shape (code and message), with nothing created."""

from __future__ import annotations

import pytest

from kproto.errors import ErrorCode as E
from kproto.messages import CREATE_TOPICS, METADATA

NO_ID = bytes(16)
DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG = 1, 5   # Kafka's config sources


def creatable(name: str, num_partitions: int = 1, replication_factor: int = 1, *, assignments=(),
              configs: dict | None = None) -> dict:
    return {"name": name, "num_partitions": num_partitions, "replication_factor": replication_factor,
            "assignments": [{"partition_index": p, "broker_ids": ids} for p, ids in assignments],
            "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}


def create(client, *topics: dict, version: int = 7, validate_only: bool = False) -> list[dict]:
    response = client.request(CREATE_TOPICS, version, {"topics": list(topics), "timeout_ms": 5000,
                                                        "validate_only": validate_only})
    assert response["throttle_time_ms"] == 0
    return response["topics"]


def refused(name: str, code: int, message: str) -> dict:
    return {"name": name, "topic_id": NO_ID, "error_code": code, "error_message": message, "num_partitions": -1,
            "replication_factor": -1, "configs": None, "topic_config_error_code": 0}


def partitions_of(client, name: str) -> int | None:
    """How many partitions Metadata shows (None: the topic does not exist)."""
    [topic] = client.request(METADATA, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False})["topics"]
    return len(topic["partitions"]) if topic["error_code"] == 0 else None


@pytest.mark.parametrize("version", [2, 4, 5, 7])
def test_create(client, topic, version):
    [result] = create(client, creatable(topic, 3, configs={"retention.ms": "60000"}), version=version)
    configs = result.pop("configs")
    topic_id = result.pop("topic_id")
    # v5+ describe the topic made; v7+ give its id
    assert result == {"name": topic, "error_code": 0, "error_message": None, "topic_config_error_code": 0,
                      "num_partitions": 3 if version >= 5 else -1, "replication_factor": 1 if version >= 5 else -1}
    assert (topic_id != NO_ID) == (version >= 7)
    if version >= 5:
        assert [c["name"] for c in configs] == sorted(c["name"] for c in configs)
        assert {c["name"]: (c["value"], c["config_source"]) for c in configs}["retention.ms"] == \
            ("60000", DYNAMIC_TOPIC_CONFIG)
        assert {c["config_source"] for c in configs if c["name"] != "retention.ms"} == {DEFAULT_CONFIG}
        assert {(c["read_only"], c["is_sensitive"]) for c in configs} == {(False, False)}
    else:
        assert configs == []
    assert partitions_of(client, topic) == 3


def test_broker_defaults_for_minus_one(client, topic):
    [result] = create(client, creatable(topic, -1, -1))
    assert (result["error_code"], result["num_partitions"], result["replication_factor"]) == (0, 1, 1)
    assert partitions_of(client, topic) == 1


def test_explicit_assignment_to_this_broker(client, topic):
    [result] = create(client, creatable(topic, -1, -1, assignments=[(1, [1]), (0, [1])]))
    assert (result["error_code"], result["num_partitions"]) == (0, 2)
    assert partitions_of(client, topic) == 2


def test_validate_only_creates_nothing(client, topic):
    [result] = create(client, creatable(topic, 4, configs={"cleanup.policy": "compact"}), validate_only=True)
    assert (result["error_code"], result["topic_id"], result["num_partitions"]) == (0, NO_ID, 4)
    assert {c["name"]: c["value"] for c in result["configs"]}["cleanup.policy"] == "compact"
    assert partitions_of(client, topic) is None
    [invalid] = create(client, creatable(topic, configs={"cleanup.policy": "sometimes"}), validate_only=True)
    assert invalid["error_code"] == E.INVALID_CONFIG


REFUSALS = {
    "no partitions": (dict(num_partitions=0), E.INVALID_PARTITIONS, "Number of partitions must be larger than 0."),
    "no replicas": (dict(replication_factor=0), E.INVALID_REPLICATION_FACTOR,
                    "Replication factor must be larger than 0."),
    "three replicas": (dict(replication_factor=3), E.INVALID_REPLICATION_FACTOR,
                       "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be "
                       "reached because only 1 broker(s) are registered."),
    "count and assignment": (dict(assignments=[(0, [1])]), E.INVALID_REQUEST,
                             "Both numPartitions or replicationFactor and replicasAssignments were set."),
    "another broker": (dict(num_partitions=-1, replication_factor=-1, assignments=[(0, [2])]),
                       E.INVALID_REPLICA_ASSIGNMENT, "Replica assignment [2] names brokers other than 1"),
    "gap in partitions": (dict(num_partitions=-1, replication_factor=-1, assignments=[(1, [1])]),
                          E.INVALID_REPLICA_ASSIGNMENT, "Partitions must be numbered 0..n-1"),
    "null config": (dict(configs={"retention.ms": None}), E.INVALID_CONFIG,
                    "Null value not supported for topic configs: retention.ms"),
}


@pytest.mark.parametrize("change,code,message", list(REFUSALS.values()), ids=list(REFUSALS))
def test_refused(client, topic, change, code, message):
    [result] = create(client, creatable(topic, **change))
    assert result == refused(topic, code, message)
    assert partitions_of(client, topic) is None


@pytest.mark.parametrize("configs,message", [
    ({"no.such.config": "1"}, "Unknown topic config name: no.such.config"),
    ({"retention.ms": "soon"}, "retention.ms: 'soon' is not an integer"),
])
def test_invalid_config(client, topic, configs, message):
    [result] = create(client, creatable(topic, configs=configs))
    assert (result["error_code"], result["error_message"], result["configs"]) == (E.INVALID_CONFIG, message, None)
    # the topic's own error: Kafka sets topic_config_error_code only when it may not show the configs
    assert result["topic_config_error_code"] == 0
    assert partitions_of(client, topic) is None


@pytest.mark.parametrize("name", ["bad/name", "has space", ".", "x" * 250])
def test_invalid_name(client, name):
    [result] = create(client, creatable(name))
    assert (result["name"], result["error_code"]) == (name, E.INVALID_TOPIC_EXCEPTION)


def test_existing_topic(client, topic):
    create(client, creatable(topic, 2))
    assert create(client, creatable(topic, 5)) == [
        refused(topic, E.TOPIC_ALREADY_EXISTS, f"Topic '{topic}' already exists.")]
    assert partitions_of(client, topic) == 2


def test_each_topic_on_its_own(client, topic):
    results = create(client, creatable(topic + "-bad", 0), creatable(topic + "-good", 2))
    assert [(r["name"], r["error_code"]) for r in results] == [
        (topic + "-bad", E.INVALID_PARTITIONS), (topic + "-good", 0)]
    assert (partitions_of(client, topic + "-bad"), partitions_of(client, topic + "-good")) == (None, 2)


def test_duplicate_names_have_kafkas_shape(client, topic):
    assert create(client, creatable(topic), creatable(topic)) == [
        refused(topic, E.INVALID_REQUEST, "Duplicate topic name.")]


def test_a_duplicated_name_is_answered_after_the_others(client, topic):
    results = create(client, creatable(topic + "-twice"), creatable(topic), creatable(topic + "-twice"))
    assert [(r["name"], r["error_code"], r["error_message"]) for r in results] == [
        (topic, 0, None), (topic + "-twice", E.INVALID_REQUEST, "Duplicate topic name.")]
    assert (partitions_of(client, topic), partitions_of(client, topic + "-twice")) == (1, None)


def test_duplicate_names_create_nothing(client, topic):
    results = create(client, creatable(topic), creatable(topic))
    assert {r["error_code"] for r in results} == {E.INVALID_REQUEST}
    assert partitions_of(client, topic) is None


def test_checks_in_kafkas_order(client, topic):
    """The name, then whether it exists, then the configs, then partitions and replicas."""
    bad_config = {"retention.ms": "soon"}
    [result] = create(client, creatable(topic, 0, 3, configs=bad_config))
    assert result["error_code"] == E.INVALID_CONFIG
    create(client, creatable(topic))
    [result] = create(client, creatable(topic, 0, 3, configs=bad_config))
    assert result["error_code"] == E.TOPIC_ALREADY_EXISTS
    [result] = create(client, creatable("bad/name", 0, 3, configs=bad_config))
    assert result["error_code"] == E.INVALID_TOPIC_EXCEPTION


def test_more_partitions_than_one_request_may_create(client, topic):
    results = create(client, creatable(topic + "-a", 6000), creatable(topic + "-b", 5000), validate_only=True)
    assert [(r["error_code"], r["error_message"]) for r in results] == [
        (0, None), (E.POLICY_VIOLATION, "Unable to perform excessively large batch operation.")]
