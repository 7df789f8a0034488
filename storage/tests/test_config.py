"""LogConfig from Kafka config strings."""

from __future__ import annotations

import pytest

from storage import TOPIC_CONFIG_DEFAULTS, InvalidConfigError, LogConfig


def test_defaults_are_kafkas():
    acted_on = {
        "segment.bytes": "1073741824",
        "segment.ms": "604800000",
        "index.interval.bytes": "4096",
        "max.message.bytes": "1048588",
        "message.timestamp.type": "CreateTime",
        "retention.ms": "604800000",
        "retention.bytes": "-1",
        "cleanup.policy": "delete",
    }
    assert {k: TOPIC_CONFIG_DEFAULTS[k] for k in acted_on} == acted_on
    # Kafka's other topic configs are listed with Kafka's defaults too (stored, not acted on).
    assert TOPIC_CONFIG_DEFAULTS["compression.type"] == "producer"
    assert TOPIC_CONFIG_DEFAULTS["min.insync.replicas"] == "1"
    assert TOPIC_CONFIG_DEFAULTS["unclean.leader.election.enable"] == "false"
    assert len(TOPIC_CONFIG_DEFAULTS) == 36


def test_kafka_configs_this_engine_does_not_act_on_are_accepted_and_validated():
    config = LogConfig().with_overrides({"min.insync.replicas": "2", "compression.type": "lz4"})
    assert config == LogConfig()
    with pytest.raises(InvalidConfigError):
        LogConfig().with_overrides({"min.insync.replicas": "0"})
    with pytest.raises(InvalidConfigError):
        LogConfig().with_overrides({"compression.type": "brotli"})
    with pytest.raises(InvalidConfigError, match="Unknown topic config name: no.such.key"):
        LogConfig().with_overrides({"no.such.key": "1"})


def test_overrides_apply_over_broker_defaults():
    defaults = LogConfig(segment_bytes=5000, index_interval_bytes=100)
    config = defaults.with_overrides(
        {"segment.ms": "60000", "message.timestamp.type": "LogAppendTime", "cleanup.policy": "compact, delete",
         "retention.bytes": " 123 "}
    )
    assert config == LogConfig(
        segment_bytes=5000,
        segment_ms=60000,
        index_interval_bytes=100,
        message_timestamp_type="LogAppendTime",
        cleanup_policy="compact,delete",
        retention_bytes=123,
    )
    assert config.log_append_time
    assert defaults.with_overrides({}) is defaults
    assert config.topic_configs()["segment.bytes"] == "5000"


@pytest.mark.parametrize(
    "configs",
    [
        {"segment.bytes": "13"},
        {"segment.bytes": "2147483648"},
        {"segment.bytes": "1e6"},
        {"segment.bytes": "1_000"},
        {"segment.ms": "0"},
        {"index.interval.bytes": "-1"},
        {"max.message.bytes": "lots"},
        {"message.timestamp.type": "createtime"},
        {"retention.ms": "-2"},
        {"cleanup.policy": "delete,forever"},
        {"no.such.key": "1"},
        {"segment.bytes": None},
    ],
)
def test_bad_values_and_unknown_keys_are_refused(configs):
    with pytest.raises(InvalidConfigError):
        LogConfig().with_overrides(configs)


def test_broker_properties():
    config = LogConfig.from_broker_properties(
        {"log.segment.bytes": "1024", "log.roll.hours": "1", "log.retention.hours": "-1", "message.max.bytes": "99",
         "log.retention.minutes": "2", "unrelated": "x"}
    )
    assert (config.segment_bytes, config.segment_ms, config.max_message_bytes) == (1024, 3600000, 99)
    assert config.retention_ms == 120000  # minutes win over hours, as in Kafka
    assert LogConfig.from_broker_properties({"log.roll.ms": "5", "log.roll.hours": "1"}).segment_ms == 5
    assert LogConfig.from_broker_properties({"log.retention.hours": "-1"}).retention_ms == -1


def test_the_log_configs_kafka_acts_on_are_fields():
    config = LogConfig().with_overrides({
        "file.delete.delay.ms": "10", "flush.messages": "1", "flush.ms": "20", "delete.retention.ms": "30",
        "min.cleanable.dirty.ratio": "0.25", "min.compaction.lag.ms": "40", "max.compaction.lag.ms": "50",
        "cleanup.policy": "compact,delete"})
    assert (config.file_delete_delay_ms, config.flush_messages, config.flush_ms, config.delete_retention_ms,
            config.min_cleanable_dirty_ratio, config.min_compaction_lag_ms, config.max_compaction_lag_ms) == (
        10, 1, 20, 30, 0.25, 40, 50)
    assert config.compact and config.delete
    assert config.max_segment_ms == 50   # a compacted segment closes within max.compaction.lag.ms
    assert LogConfig(segment_ms=60).max_segment_ms == 60
    for bad in ({"min.cleanable.dirty.ratio": "1.5"}, {"flush.messages": "0"}, {"max.compaction.lag.ms": "0"},
                {"delete.retention.ms": "-1"}, {"file.delete.delay.ms": "soon"}):
        with pytest.raises(InvalidConfigError):
            LogConfig().with_overrides(bad)


def test_broker_keys_of_the_log_and_its_background_work():
    from storage import BROKER_PROPERTIES, LogManagerConfig
    props = {"log.cleaner.min.cleanable.ratio": "0.1", "log.cleaner.delete.retention.ms": "5",
             "log.segment.delete.delay.ms": "6", "log.flush.interval.messages": "7", "log.flush.interval.ms": "8",
             "log.cleaner.min.compaction.lag.ms": "9", "log.cleaner.max.compaction.lag.ms": "11",
             "log.retention.check.interval.ms": "100", "log.cleaner.backoff.ms": "200", "log.cleaner.threads": "2",
             "log.cleaner.enable": "false", "log.cleaner.dedupe.buffer.size": "1000000",
             "producer.id.expiration.ms": "1000"}
    assert set(props) <= BROKER_PROPERTIES
    config = LogConfig.from_broker_properties(props)
    assert (config.min_cleanable_dirty_ratio, config.delete_retention_ms, config.file_delete_delay_ms,
            config.flush_messages, config.flush_ms, config.min_compaction_lag_ms, config.max_compaction_lag_ms) == (
        0.1, 5, 6, 7, 8, 9, 11)
    manager = LogManagerConfig.from_broker_properties(props)
    assert (manager.retention_check_interval_ms, manager.cleaner_backoff_ms, manager.cleaner_threads,
            manager.cleaner_enable, manager.cleaner_dedupe_buffer_size, manager.producer_id_expiration_ms) == (
        100, 200, 2, False, 1000000, 1000)
    assert LogManagerConfig() == LogManagerConfig.from_broker_properties({})   # Kafka's defaults
    assert LogManagerConfig().retention_check_interval_ms == 300000
    with pytest.raises(InvalidConfigError):
        LogConfig.from_broker_properties({"log.retention.check.interval.ms": "0"})
