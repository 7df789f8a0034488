"""DescribeConfigs over a real socket: topic and broker resources at every version, with Kafka's
sources, synonyms, types and documentation, and each refusal in its resource's error shape."""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import create_topic
from kproto.errors import ErrorCode as E
from kproto.messages import DESCRIBE_CONFIGS
from storage import TOPIC_CONFIG_DEFAULTS

TOPIC, BROKER = 2, 4
# Kafka's config sources and types
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC, DEFAULT = 1, 2, 3, 4, 5
BOOLEAN, STRING, INT, SHORT, LONG, DOUBLE, LIST = 1, 2, 3, 4, 5, 6, 7


def describe(client, *resources: tuple[int, str, list | None], version: int = 4, synonyms: bool = False,
             documentation: bool = False) -> list[dict]:
    response = client.request(DESCRIBE_CONFIGS, version, {
        "resources": [{"resource_type": kind, "resource_name": name, "configuration_keys": keys}
                      for kind, name, keys in resources],
        "include_synonyms": synonyms, "include_documentation": documentation})
    assert response["throttle_time_ms"] == 0
    return response["results"]


def configs_of(client, kind: int, name: str, keys: list | None = None, **options) -> dict[str, dict]:
    [result] = describe(client, (kind, name, keys), **options)
    assert (result["error_code"], result["error_message"]) == (0, ""), result
    names = [c["name"] for c in result["configs"]]
    assert names == sorted(names)
    return {c["name"]: c for c in result["configs"]}


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_topic_configs_at_every_version(client, topic, version):
    create_topic(client, topic, configs={"retention.ms": "60000", "cleanup.policy": "compact, delete"})
    configs = configs_of(client, TOPIC, topic, version=version)
    assert set(configs) == set(TOPIC_CONFIG_DEFAULTS)
    # the override as Kafka shows it once parsed: a list without spaces
    assert (configs["retention.ms"]["value"], configs["cleanup.policy"]["value"]) == ("60000", "compact,delete")
    assert configs["segment.bytes"]["value"] == TOPIC_CONFIG_DEFAULTS["segment.bytes"]
    assert {(c["read_only"], c["is_sensitive"]) for c in configs.values()} == {(False, False)}
    if version >= 1:
        sources = {name: c["config_source"] for name, c in configs.items()}
        assert {name: source for name, source in sources.items() if source != DEFAULT} == {
            "retention.ms": DYNAMIC_TOPIC, "cleanup.policy": DYNAMIC_TOPIC}
    else:   # v0 has no sources: is_default says whether a value is the default
        assert {name for name, c in configs.items() if not c["is_default"]} == {"retention.ms", "cleanup.policy"}


def test_topic_synonyms_as_kafka_orders_them(client, topic):
    create_topic(client, topic, configs={"retention.ms": "60000"})
    configs = configs_of(client, TOPIC, topic, synonyms=True)
    assert configs["retention.ms"]["synonyms"] == [{"name": "retention.ms", "value": "60000", "source": DYNAMIC_TOPIC}]
    assert configs["segment.bytes"]["synonyms"] == [
        {"name": "log.segment.bytes", "value": "1073741824", "source": DEFAULT}]
    assert configs["max.message.bytes"]["synonyms"] == [
        {"name": "message.max.bytes", "value": "1048588", "source": DEFAULT}]
    # Kafka lists a topic key's broker synonyms from its main one on: log.retention.ms has no default, so none
    assert configs["segment.ms"]["synonyms"] == configs["retention.ms"]["synonyms"][1:] == []
    assert configs["leader.replication.throttled.replicas"]["synonyms"] == []   # no broker key sets it
    without = configs_of(client, TOPIC, topic, synonyms=False)
    assert {name for name, c in without.items() if c["synonyms"]} == set()


@pytest.mark.parametrize("version", [3, 4])
def test_types_and_documentation(client, topic, version):
    create_topic(client, topic)
    configs = configs_of(client, TOPIC, topic, version=version, documentation=True)
    types = {name: c["config_type"] for name, c in configs.items()}
    assert (types["retention.ms"], types["segment.bytes"], types["cleanup.policy"], types["preallocate"],
            types["min.cleanable.dirty.ratio"], types["compression.type"]) == (LONG, INT, LIST, BOOLEAN, DOUBLE, STRING)
    assert all(c["documentation"] for c in configs.values())
    undocumented = configs_of(client, TOPIC, topic, version=version)
    assert {c["documentation"] for c in undocumented.values()} == {None}
    assert {name: c["config_type"] for name, c in undocumented.items()} == types   # types are always given


def test_only_the_keys_asked_for(client, topic):
    create_topic(client, topic)
    assert set(configs_of(client, TOPIC, topic, ["retention.ms", "segment.bytes", "no.such.key"])) == \
        {"retention.ms", "segment.bytes"}
    assert set(configs_of(client, TOPIC, topic, [])) == set(TOPIC_CONFIG_DEFAULTS)   # empty: every key


@pytest.mark.parametrize("kind,name,code,message", [
    (TOPIC, "no-such-topic-anywhere", E.UNKNOWN_TOPIC_OR_PARTITION, ""),
    (TOPIC, "bad/name", E.INVALID_TOPIC_EXCEPTION,
     "topic name 'bad/name' has characters other than ASCII letters, digits, '.', '_', '-'"),
    (BROKER, "2", E.INVALID_REQUEST, "Unexpected broker id, expected 1 or empty string, but received 2"),
    (BROKER, "one", E.INVALID_REQUEST, "Broker id must be an integer, but it is: one"),
    (3, "group", E.INVALID_REQUEST, "Unsupported resource type: 3"),
])
def test_refused_resources_answer_alone(client, topic, kind, name, code, message):
    create_topic(client, topic)
    bad, good = describe(client, (kind, name, None), (TOPIC, topic, ["retention.ms"]))
    assert bad == {"error_code": code, "error_message": message, "resource_type": kind, "resource_name": name,
                   "configs": []}
    assert (good["error_code"], [c["name"] for c in good["configs"]]) == (0, ["retention.ms"])


def test_this_broker(served, client):
    configs = configs_of(client, BROKER, "1", synonyms=True, documentation=True)
    wanted = {"advertised.listeners", "listeners", "log.dirs", "log.retention.ms", "log.retention.hours",
              "num.partitions", "auto.create.topics.enable", "message.max.bytes", "default.replication.factor",
              "group.initial.rebalance.delay.ms", "offsets.topic.num.partitions", "log.segment.bytes"}
    assert wanted <= set(configs)
    assert configs["advertised.listeners"]["value"] == f"PLAINTEXT://127.0.0.1:{served.port}"
    assert configs["log.dirs"]["value"] == str(served.broker.config.data_dir)
    assert (configs["num.partitions"]["value"], configs["num.partitions"]["config_source"]) == ("1", DEFAULT)
    assert configs["log.retention.ms"]["value"] is None   # unset: log.retention.hours rules
    assert configs["log.retention.hours"]["synonyms"] == [
        {"name": "log.retention.hours", "value": "168", "source": DEFAULT}]
    # read-only unless Kafka changes it at run time
    assert (configs["num.partitions"]["read_only"], configs["log.retention.hours"]["read_only"]) == (True, True)
    assert (configs["log.retention.ms"]["read_only"], configs["message.max.bytes"]["read_only"]) == (False, False)
    assert all(c["documentation"] and c["config_type"] for c in configs.values())
    sensitive = {name for name, c in configs.items() if c["is_sensitive"]}
    assert sensitive == {"sasl.jaas.config", "ssl.keystore.key", "ssl.keystore.password", "ssl.key.password",
                         "ssl.keystore.certificate.chain", "ssl.truststore.password", "ssl.truststore.certificates"}
    assert all(configs[name]["value"] is None for name in sensitive)


def test_the_cluster_default_lists_dynamic_configs_only(client):
    assert configs_of(client, BROKER, "") == {}


def test_static_settings(own_broker, topic):
    with own_broker(log_properties={"log.retention.hours": "1", "log.segment.bytes": "1048576"}, num_partitions=3,
                    extra={"my.plugin.secret": "hunter2"}) as served, served.client() as client:
        broker = configs_of(client, BROKER, "1", synonyms=True)
        assert broker["log.retention.hours"]["synonyms"] == [
            {"name": "log.retention.hours", "value": "1", "source": STATIC},
            {"name": "log.retention.hours", "value": "168", "source": DEFAULT}]
        assert (broker["num.partitions"]["value"], broker["num.partitions"]["config_source"]) == ("3", STATIC)
        # a key the catalogue does not know has no type, so Kafka hides its value as if it were secret
        assert broker["my.plugin.secret"] == {
            "name": "my.plugin.secret", "value": None, "read_only": True, "is_default": False,
            "config_source": STATIC, "is_sensitive": True, "config_type": 0, "documentation": None,
            "synonyms": [{"name": "my.plugin.secret", "value": None, "source": STATIC}]}
        create_topic(client, topic)
        configs = configs_of(client, TOPIC, topic, synonyms=True)
        assert (configs["segment.bytes"]["value"], configs["segment.bytes"]["config_source"]) == ("1048576", STATIC)
        assert configs["segment.bytes"]["synonyms"] == [
            {"name": "log.segment.bytes", "value": "1048576", "source": STATIC},
            {"name": "log.segment.bytes", "value": "1073741824", "source": DEFAULT}]
        # retention.ms comes from log.retention.hours alone: Kafka shows the value, no synonyms, source DEFAULT
        assert (configs["retention.ms"]["value"], configs["retention.ms"]["config_source"],
                configs["retention.ms"]["synonyms"]) == ("3600000", DEFAULT, [])


def test_values_follow_storage(own_broker, topic):
    """What DescribeConfigs shows is what the partition log runs with."""
    with own_broker(log_properties={"log.retention.minutes": "5", "log.roll.hours": "2",
                                    "message.max.bytes": "2000000"}) as served, served.client() as client:
        create_topic(client, topic, configs={"segment.bytes": "100000"})
        configs = configs_of(client, TOPIC, topic)
        log_config = served.broker.storage.partition(topic, 0).config
        assert (configs["retention.ms"]["value"], configs["segment.ms"]["value"], configs["max.message.bytes"]["value"],
                configs["segment.bytes"]["value"]) == (str(log_config.retention_ms), str(log_config.segment_ms),
                                                       str(log_config.max_message_bytes), "100000")
        assert (log_config.retention_ms, log_config.segment_ms, log_config.segment_bytes) == (300000, 7200000, 100000)
