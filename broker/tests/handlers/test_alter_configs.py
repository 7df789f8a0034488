"""AlterConfigs and IncrementalAlterConfigs over a real socket: topic overrides and dynamic broker
configs change, take effect at once (a new segment size rolls the next segment, on disk), survive a
restart, and every refusal, Kafka's code and message, changes nothing."""

from __future__ import annotations

import json

import pytest

from broker.tests.handlers.serving import batch, create_topic, produce
from kproto.errors import ErrorCode as E
from kproto.messages import ALTER_CONFIGS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS

TOPIC, BROKER = 2, 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC, DEFAULT = 1, 2, 3, 4, 5


def incremental(client, kind: int, name: str, *ops: tuple, validate_only: bool = False, version: int = 1) -> dict:
    """One resource's answer to IncrementalAlterConfigs of (key, operation, value) triples."""
    response = client.request(INCREMENTAL_ALTER_CONFIGS, version, {"validate_only": validate_only, "resources": [
        {"resource_type": kind, "resource_name": name,
         "configs": [{"name": k, "config_operation": op, "value": v} for k, op, v in ops]}]})
    [result] = response["responses"]
    assert (result["resource_type"], result["resource_name"]) == (kind, name)
    return result


def legacy(client, kind: int, name: str, configs: dict, validate_only: bool = False, version: int = 2) -> dict:
    response = client.request(ALTER_CONFIGS, version, {"validate_only": validate_only, "resources": [
        {"resource_type": kind, "resource_name": name,
         "configs": [{"name": k, "value": v} for k, v in configs.items()]}]})
    [result] = response["responses"]
    return result


def ok(result: dict) -> bool:
    return (result["error_code"], result["error_message"]) == (0, None)


def described(client, kind: int, name: str) -> dict[str, tuple[str | None, int]]:
    """(value, source) of every config of a resource."""
    [result] = client.request(DESCRIBE_CONFIGS, 4, {"resources": [
        {"resource_type": kind, "resource_name": name, "configuration_keys": None}]})["results"]
    assert result["error_code"] == 0
    return {c["name"]: (c["value"], c["config_source"]) for c in result["configs"]}


def overrides(client, topic: str) -> dict[str, str]:
    return {name: value for name, (value, source) in described(client, TOPIC, topic).items() if source == DYNAMIC_TOPIC}


def segments(served, topic: str, partition: int = 0) -> list[str]:
    return sorted(p.name for p in (served.broker.config.data_dir / f"{topic}-{partition}").glob("*.log"))


def fill(client, topic: str, batches: int = 4, size: int = 600) -> None:
    """Produce ``batches`` batches of one record of ``size`` bytes (~670 bytes a batch)."""
    for i in range(batches):
        assert produce(client, topic, batch(bytes([i]) * size))["error_code"] == 0


# -- topics ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [0, 1])
def test_incremental_set_takes_effect_at_once(served, client, topic, version):
    create_topic(client, topic)
    fill(client, topic, 2)
    assert len(segments(served, topic)) == 1
    assert ok(incremental(client, TOPIC, topic, ("segment.bytes", SET, "1000"), ("retention.ms", SET, "60000"),
                          version=version))
    assert overrides(client, topic) == {"segment.bytes": "1000", "retention.ms": "60000"}
    fill(client, topic, 3)   # each batch of ~670 bytes: every batch starts a segment of 1000 bytes
    assert len(segments(served, topic)) >= 3


def test_delete_returns_to_the_default(client, topic):
    create_topic(client, topic, configs={"retention.ms": "1000", "segment.bytes": "20000"})
    assert ok(incremental(client, TOPIC, topic, ("retention.ms", DELETE, None), ("no.such.key", DELETE, None)))
    assert overrides(client, topic) == {"segment.bytes": "20000"}
    assert described(client, TOPIC, topic)["retention.ms"] == ("604800000", DEFAULT)


def test_append_and_subtract_lists(client, topic):
    create_topic(client, topic)
    assert ok(incremental(client, TOPIC, topic, ("cleanup.policy", APPEND, "compact")))   # to the default, delete
    assert overrides(client, topic) == {"cleanup.policy": "delete,compact"}
    assert ok(incremental(client, TOPIC, topic, ("cleanup.policy", APPEND, "compact")))   # already there
    assert ok(incremental(client, TOPIC, topic, ("cleanup.policy", SUBTRACT, "delete")))
    assert overrides(client, topic) == {"cleanup.policy": "compact"}
    assert ok(incremental(client, TOPIC, topic, ("leader.replication.throttled.replicas", APPEND, "0:1,1:1")))
    assert overrides(client, topic)["leader.replication.throttled.replicas"] == "0:1,1:1"


@pytest.mark.parametrize("version", [0, 1, 2])
def test_legacy_alter_replaces_every_override(client, topic, version):
    create_topic(client, topic, configs={"retention.ms": "1000", "segment.bytes": "20000"})
    assert ok(legacy(client, TOPIC, topic, {"max.message.bytes": "5000"}, version=version))
    assert overrides(client, topic) == {"max.message.bytes": "5000"}
    assert ok(legacy(client, TOPIC, topic, {}, version=version))
    assert overrides(client, topic) == {}


def test_validate_only_changes_nothing(client, topic):
    create_topic(client, topic, configs={"retention.ms": "1000"})
    assert ok(incremental(client, TOPIC, topic, ("retention.ms", SET, "2000"), validate_only=True))
    assert ok(legacy(client, TOPIC, topic, {}, validate_only=True))
    assert overrides(client, topic) == {"retention.ms": "1000"}
    refused = incremental(client, TOPIC, topic, ("retention.ms", SET, "soon"), validate_only=True)
    assert refused["error_code"] == E.INVALID_CONFIG


BAD_TOPIC_CONFIGS = {
    "unknown key": (("no.such.key", SET, "1"), "Unknown topic config name: no.such.key"),
    "wrong type": (("retention.ms", SET, "a week"), "retention.ms: 'a week' is not an integer"),
    "negative size": (("segment.bytes", SET, "-1"), "segment.bytes: -1 is outside [14, 2147483647]"),
    "absurd size": (("segment.bytes", SET, "99999999999"), "segment.bytes: 99999999999 is outside [14, 2147483647]"),
    "not a policy": (("cleanup.policy", SET, "sometimes"), "cleanup.policy: 'sometimes' is not a list of compact, "
                                                           "delete"),
    "ratio above 1": (("min.cleanable.dirty.ratio", SET, "2"), "min.cleanable.dirty.ratio: 2.0 is outside [0.0, 1.0]"),
    "not a boolean": (("preallocate", SET, "yes"), "preallocate: 'yes' is not true or false"),
    "append to a number": (("retention.ms", APPEND, "5"), "Can't APPEND to key retention.ms because its type is not "
                                                          "LIST."),
    "subtract from unknown": (("no.such.key", SUBTRACT, "x"), "Can't SUBTRACT to key no.such.key because its type "
                                                              "is not LIST."),
}


@pytest.mark.parametrize("op,message", list(BAD_TOPIC_CONFIGS.values()), ids=list(BAD_TOPIC_CONFIGS))
def test_bad_topic_configs_change_nothing(served, client, topic, op, message):
    create_topic(client, topic, configs={"retention.ms": "1000"})
    before = served.broker.storage.partition(topic, 0).config
    assert incremental(client, TOPIC, topic, ("max.message.bytes", SET, "5000"), op) == {
        "error_code": E.INVALID_CONFIG, "error_message": message, "resource_type": TOPIC, "resource_name": topic}
    assert overrides(client, topic) == {"retention.ms": "1000"}
    assert served.broker.storage.partition(topic, 0).config == before
    name, operation, value = op
    if operation == SET:
        assert legacy(client, TOPIC, topic, {"max.message.bytes": "5000", name: value}) == {
            "error_code": E.INVALID_CONFIG, "error_message": message, "resource_type": TOPIC, "resource_name": topic}
        assert overrides(client, topic) == {"retention.ms": "1000"}


@pytest.mark.parametrize("name,ops,code,message", [
    ("", [("retention.ms", SET, "1")], E.INVALID_REQUEST, "Default topic resources are not allowed."),
    ("no-such-topic-at-all", [("retention.ms", SET, "1")], E.UNKNOWN_TOPIC_OR_PARTITION,
     "The topic 'no-such-topic-at-all' does not exist."),
    ("bad/name", [("retention.ms", SET, "1")], E.INVALID_TOPIC_EXCEPTION,
     "topic name 'bad/name' has characters other than ASCII letters, digits, '.', '_', '-'"),
    (None, [("retention.ms", SET, None), ("segment.ms", APPEND, None)], E.INVALID_REQUEST,
     "Null value not supported for : retention.ms, segment.ms"),
    (None, [("retention.ms", SET, "1"), ("retention.ms", DELETE, None)], E.INVALID_REQUEST,
     "Error due to duplicate config keys"),
    (None, [("retention.ms", 7, "1")], E.INVALID_REQUEST, "Unknown operations type 7"),
])
def test_refused_requests(client, topic, name, ops, code, message):
    create_topic(client, topic, configs={"retention.ms": "1000"})
    name = topic if name is None else name
    assert incremental(client, TOPIC, name, *ops) == {"error_code": code, "error_message": message,
                                                      "resource_type": TOPIC, "resource_name": name}
    assert overrides(client, topic) == {"retention.ms": "1000"}


def test_each_resource_on_its_own(client, topic):
    create_topic(client, topic + "-a")
    create_topic(client, topic + "-b")
    response = client.request(INCREMENTAL_ALTER_CONFIGS, 1, {"validate_only": False, "resources": [
        {"resource_type": TOPIC, "resource_name": topic + "-a",
         "configs": [{"name": "retention.ms", "config_operation": SET, "value": "-5"}]},
        {"resource_type": TOPIC, "resource_name": topic + "-b",
         "configs": [{"name": "retention.ms", "config_operation": SET, "value": "5000"}]},
        {"resource_type": 9, "resource_name": "x", "configs": []},
    ]})
    assert [(r["resource_name"], r["error_code"], r["error_message"]) for r in response["responses"]] == [
        (topic + "-a", E.INVALID_CONFIG, "retention.ms: -5 is outside [-1, 9223372036854775807]"),
        (topic + "-b", 0, None), ("x", E.INVALID_REQUEST, "Unknown resource type 9")]
    assert (overrides(client, topic + "-a"), overrides(client, topic + "-b")) == ({}, {"retention.ms": "5000"})


def test_a_resource_named_twice(client, topic):
    create_topic(client, topic)
    resource = {"resource_type": TOPIC, "resource_name": topic, "configs": [{"name": "retention.ms", "value": "5"}]}
    response = client.request(ALTER_CONFIGS, 1, {"validate_only": False, "resources": [resource, resource]})
    assert [(r["error_code"], r["error_message"]) for r in response["responses"]] == [
        (E.INVALID_REQUEST, "Each resource must appear at most once.")] * 2
    assert overrides(client, topic) == {}


# -- brokers ---------------------------------------------------------------------------------------

def test_cluster_default_reaches_every_topic_without_an_override(own_broker, topic):
    with own_broker() as served, served.client() as client:
        create_topic(client, topic)
        create_topic(client, topic + "-own", configs={"segment.bytes": "1000000"})
        assert ok(incremental(client, BROKER, "", ("log.segment.bytes", SET, "1000"),
                              ("log.retention.ms", SET, "3600000")))
        assert described(client, BROKER, "") == {"log.retention.ms": ("3600000", DYNAMIC_DEFAULT),
                                                 "log.segment.bytes": ("1000", DYNAMIC_DEFAULT)}
        assert described(client, TOPIC, topic)["segment.bytes"] == ("1000", DYNAMIC_DEFAULT)
        assert described(client, TOPIC, topic)["retention.ms"] == ("3600000", DYNAMIC_DEFAULT)
        assert described(client, TOPIC, topic + "-own")["segment.bytes"] == ("1000000", DYNAMIC_TOPIC)
        fill(client, topic, 3)
        fill(client, topic + "-own", 3)
        assert (len(segments(served, topic)) >= 3, len(segments(served, topic + "-own"))) == (True, 1)
        # this broker's own setting wins over the cluster default
        assert ok(incremental(client, BROKER, "1", ("log.segment.bytes", SET, "50000")))
        assert described(client, TOPIC, topic)["segment.bytes"] == ("50000", DYNAMIC_BROKER)
        assert served.broker.storage.partition(topic, 0).config.segment_bytes == 50000
        assert ok(legacy(client, BROKER, "1", {}))   # every per-broker config removed
        assert served.broker.storage.partition(topic, 0).config.segment_bytes == 1000


def test_topics_created_later_get_the_dynamic_default(own_broker, topic):
    with own_broker() as served, served.client() as client:
        assert ok(incremental(client, BROKER, "", ("message.max.bytes", SET, "2000")))
        create_topic(client, topic)
        assert produce(client, topic, batch(b"x" * 2500))["error_code"] == E.MESSAGE_TOO_LARGE
        assert produce(client, topic, batch(b"x" * 1000))["error_code"] == 0


@pytest.mark.parametrize("name,ops,message", [
    ("", [("num.partitions", SET, "3")], "Cannot update these configs dynamically: Set(num.partitions)"),
    ("1", [("log.retention.hours", SET, "1"), ("log.dirs", SET, "/tmp/x")],
     "Cannot update these configs dynamically: Set(log.dirs, log.retention.hours)"),
    ("", [("advertised.listeners", SET, "PLAINTEXT://example.com:9092")],
     "Cannot update these configs at default cluster level, broker id must be specified: Set(advertised.listeners)"),
    ("1", [("advertised.listeners", SET, "PLAINTEXT://example.com:9092")],
     "advertised.listeners cannot change while the broker runs: set it in server.properties and restart"),
    ("", [("log.retention.ms", SET, "a day")],
     "Invalid value a day for configuration log.retention.ms: Not a number of type LONG"),
    ("", [("log.segment.bytes", SET, "-1")], "Invalid value -1 for configuration log.segment.bytes: Value must be at "
                                             "least 14"),
    ("", [("log.cleanup.policy", SET, "sometimes")],
     "Invalid value sometimes for configuration log.cleanup.policy: String must be one of: compact, delete"),
    ("", [("log.cleaner.min.cleanable.ratio", SET, "1.5")],
     "Invalid value 1.5 for configuration log.cleaner.min.cleanable.ratio: Value must be no more than 1"),
    ("2", [("log.retention.ms", SET, "1")], "Unexpected broker id, expected 1, but received 2"),
    ("one", [("log.retention.ms", SET, "1")], "Node id must be an integer, but it is: one"),
])
def test_broker_configs_refused_as_kafka_refuses_them(own_broker, name, ops, message):
    """Kafka answers a broker config it cannot apply with INVALID_REQUEST, not INVALID_CONFIG."""
    with own_broker() as served, served.client() as client:
        before = described(client, BROKER, "1")
        assert incremental(client, BROKER, name, *ops) == {"error_code": E.INVALID_REQUEST, "error_message": message,
                                                          "resource_type": BROKER, "resource_name": name}
        assert legacy(client, BROKER, name, {k: v for k, _, v in ops})["error_code"] == E.INVALID_REQUEST
        assert (described(client, BROKER, "1"), described(client, BROKER, "")) == (before, {})
        assert not (served.broker.config.data_dir / "kbroker-broker-configs.json").exists()


def test_broker_lists_and_custom_keys(own_broker):
    with own_broker() as served, served.client() as client:
        assert ok(incremental(client, BROKER, "", ("log.cleanup.policy", APPEND, "compact"),
                              ("my.plugin.setting", SET, "on")))
        configs = described(client, BROKER, "")
        assert configs["log.cleanup.policy"] == ("delete,compact", DYNAMIC_DEFAULT)
        assert configs["my.plugin.setting"] == (None, DYNAMIC_DEFAULT)   # no type known: shown as secret
        refused = incremental(client, BROKER, "", ("log.segment.bytes", APPEND, "5"))
        assert (refused["error_code"], refused["error_message"]) == (
            E.INVALID_CONFIG, "Config value append is not allowed for config key: log.segment.bytes")
        unknown = incremental(client, BROKER, "", ("my.list", APPEND, "a"))
        assert (unknown["error_code"], unknown["error_message"]) == (E.INVALID_CONFIG, "Unknown config name: my.list")


def test_configs_survive_a_restart(own_broker, topic):
    with own_broker() as served, served.client() as client:
        create_topic(client, topic)
        assert ok(incremental(client, TOPIC, topic, ("retention.ms", SET, "60000")))
        assert ok(incremental(client, BROKER, "", ("log.segment.bytes", SET, "2000")))
        assert ok(incremental(client, BROKER, "1", ("log.retention.bytes", SET, "1000000")))
        data_dir = served.broker.config.data_dir
    assert json.loads((data_dir / "kbroker-broker-configs.json").read_text()) == {
        "version": 1, "cluster_default": {"log.segment.bytes": "2000"},
        "per_broker": {"log.retention.bytes": "1000000"}}
    with own_broker() as served, served.client() as client:
        assert overrides(client, topic) == {"retention.ms": "60000"}
        assert described(client, BROKER, "") == {"log.segment.bytes": ("2000", DYNAMIC_DEFAULT)}
        log_config = served.broker.storage.partition(topic, 0).config
        assert (log_config.retention_ms, log_config.segment_bytes, log_config.retention_bytes) == (60000, 2000, 1000000)


def test_in_memory_broker_configs_apply_but_are_not_kept(own_broker, topic):
    with own_broker(memory=True) as served, served.client() as client:
        create_topic(client, topic)
        assert ok(incremental(client, BROKER, "", ("log.segment.bytes", SET, "2000")))
        assert served.broker.storage.partition(topic, 0).config.segment_bytes == 2000
