"""The config catalogue against storage: every key storage knows is described, values parse as Kafka
parses them, and what DescribeConfigs shows for a topic is what its log runs with."""

from __future__ import annotations

import pytest

from broker import config_catalog as catalog
from broker.broker_configs import BrokerConfigs
from broker.config import BrokerConfig
from broker.config_describe import topic_value
from storage import BROKER_PROPERTIES, TOPIC_CONFIG_DEFAULTS, LogConfig


def test_every_topic_key_of_storage_is_described():
    assert set(TOPIC_CONFIG_DEFAULTS) <= set(catalog.TOPIC_CONFIGS), \
        "a topic key storage accepts has no catalogue entry (broker/config_catalog.py)"


def test_every_broker_key_storage_reads_is_described():
    assert set(BROKER_PROPERTIES) <= set(catalog.BROKER_CONFIGS), \
        "a broker key storage reads has no catalogue entry (broker/config_catalog.py)"


def test_topic_defaults_parse_as_their_type():
    for name, default in TOPIC_CONFIG_DEFAULTS.items():
        assert catalog.TOPIC_CONFIGS[name].parse(default) == default, name


def test_broker_defaults_parse_as_their_type():
    for key in catalog.BROKER_CONFIGS.values():
        if key.default is not None:
            assert key.parse(key.default) == key.default, key.name


@pytest.mark.parametrize("log_properties", [
    {}, {"log.retention.hours": "2", "log.segment.bytes": "2000000"},
    {"log.retention.minutes": "30", "log.retention.hours": "2", "log.roll.hours": "3"},
    {"log.retention.ms": "-1", "log.retention.hours": "5", "log.roll.ms": "1000", "log.roll.hours": "9"},
    {"log.retention.hours": "-3", "message.max.bytes": "77", "log.cleanup.policy": "compact, delete",
     "log.message.timestamp.type": "LogAppendTime", "log.index.interval.bytes": "100", "log.retention.bytes": "5"},
], ids=["defaults", "hours", "minutes-win", "ms-win", "negative-and-others"])
def test_described_topic_values_are_what_the_log_runs_with(log_properties):
    configs = BrokerConfigs(BrokerConfig(data_dir=None, log_properties=log_properties))
    runs_with = LogConfig.from_broker_properties(log_properties).topic_configs()
    derived = {name for name in TOPIC_CONFIG_DEFAULTS
               if any(broker_name in BROKER_PROPERTIES for broker_name, _ in catalog.TOPIC_SYNONYMS.get(name, ()))}
    assert {name: topic_value(configs, name, {}) for name in derived} == {name: runs_with[name] for name in derived}


@pytest.mark.parametrize("key,value,shown", [
    (catalog.BROKER_CONFIGS["log.retention.ms"], " +5 ", "5"),
    (catalog.BROKER_CONFIGS["log.cleanup.policy"], "compact , delete", "compact,delete"),
    (catalog.BROKER_CONFIGS["log.cleaner.min.cleanable.ratio"], "1", "1.0"),
    (catalog.BROKER_CONFIGS["log.cleaner.min.cleanable.ratio"], "0.00001", "1.0E-5"),
    (catalog.BROKER_CONFIGS["log.preallocate"], "TRUE", "true"),
    (catalog.TOPIC_CONFIGS["leader.replication.throttled.replicas"], "", ""),
])
def test_values_shown_as_kafka_parses_them(key, value, shown):
    assert key.parse(value) == shown


@pytest.mark.parametrize("key,value,message", [
    ("log.retention.ms", "9223372036854775808", "Not a number of type LONG"),
    ("num.partitions", "2147483648", "Not a number of type INT"),
    ("offsets.topic.replication.factor", "0", "Value must be at least 1"),
    ("log.cleaner.min.cleanable.ratio", "nan", "Not a number of type DOUBLE"),
    ("log.preallocate", "yes", "Expected value to be either true or false"),
    ("compression.type", "brotli", "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"),
])
def test_bad_values_get_kafkas_words(key, value, message):
    with pytest.raises(catalog.InvalidValue) as refused:
        catalog.BROKER_CONFIGS[key].parse(value)
    assert str(refused.value) == f"Invalid value {value} for configuration {key}: {message}"


def test_registering_twice_is_refused():
    with pytest.raises(ValueError):
        catalog.broker_config("num.partitions", catalog.INT, "again")
    with pytest.raises(ValueError):
        catalog.topic_config("retention.ms", catalog.LONG, "again")
