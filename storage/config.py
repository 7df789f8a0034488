"""Per-topic log settings, parsed from Kafka's topic-config strings."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from .errors import InvalidConfigError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

TIMESTAMP_TYPES = ("CreateTime", "LogAppendTime")
CLEANUP_POLICIES = ("compact", "delete")

_INTEGER = re.compile(r"[+-]?[0-9]+\Z")


@dataclass(frozen=True)
class LogConfig:
    """Settings of one partition log; defaults are Kafka's. Derived from them (__post_init__):
    compact and delete (what cleanup.policy names) and max_segment_ms."""

    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    index_interval_bytes: int = 4096
    max_message_bytes: int = 1048588
    message_timestamp_type: str = "CreateTime"
    retention_ms: int = 604800000
    retention_bytes: int = -1
    cleanup_policy: str = "delete"
    file_delete_delay_ms: int = 60000
    flush_messages: int = INT64_MAX
    flush_ms: int = INT64_MAX
    delete_retention_ms: int = 86400000
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = INT64_MAX

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    def __post_init__(self) -> None:
        # plain attributes, not properties: they are read on every append
        policies = self.cleanup_policy.split(",")
        compact = "compact" in policies
        max_segment_ms = min(self.max_compaction_lag_ms, self.segment_ms) if compact else self.segment_ms
        object.__setattr__(self, "compact", compact)   # the cleaner keeps the newest record of each key
        object.__setattr__(self, "delete", "delete" in policies)   # retention.ms/bytes remove old segments
        # the active segment rolls at this age: segment.ms, or a compacted topic's shorter
        # max.compaction.lag.ms (a segment must close to be cleaned), as Kafka's maxSegmentMs
        object.__setattr__(self, "max_segment_ms", max_segment_ms)

    def with_overrides(self, configs: dict[str, str] | None) -> LogConfig:
        """A copy with topic-level overrides applied; InvalidConfigError on a bad key or value."""
        if not configs:
            return self
        changes = {}
        for key, value in configs.items():
            if value is None:
                raise InvalidConfigError(f"topic config {key!r} has no value")
            spec = _TOPIC_KEYS.get(key)
            if spec is not None:
                field_name, parse = spec
                changes[field_name] = parse(key, str(value))
            elif key in _KAFKA_ONLY_KEYS:
                _KAFKA_ONLY_KEYS[key][1](key, str(value))
            else:
                raise InvalidConfigError(f"Unknown topic config name: {key}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_broker_properties(cls, props: dict[str, str]) -> LogConfig:
        """Broker defaults from Kafka's broker-level keys (log.segment.bytes, log.roll.ms, ...)."""
        topic_configs = {}
        LogManagerConfig.from_broker_properties(props)  # refuses a bad value of the broker-only keys
        for broker_key, (topic_key, scale) in _BROKER_KEYS.items():
            if broker_key in props:
                topic_configs[topic_key] = _scaled(broker_key, props[broker_key], scale)
        for broker_key, (topic_key, scale) in _BROKER_KEYS_PREFERRED.items():
            if broker_key in props:
                topic_configs[topic_key] = _scaled(broker_key, props[broker_key], scale)
        return cls().with_overrides(topic_configs)

    def topic_configs(self) -> dict[str, str]:
        """Every topic config key Kafka knows, with this config's value (or Kafka's default) as a string."""
        values = {key: default for key, (default, _) in _KAFKA_ONLY_KEYS.items()}
        values.update((key, str(getattr(self, field_name))) for key, (field_name, _) in _TOPIC_KEYS.items())
        return dict(sorted(values.items()))


def _parse_integer(key: str, value: str, low: int, high: int) -> int:
    text = value.strip()
    if not _INTEGER.match(text):
        raise InvalidConfigError(f"{key}: {value!r} is not an integer")
    number = int(text)
    if not low <= number <= high:
        raise InvalidConfigError(f"{key}: {number} is outside [{low}, {high}]")
    return number


def _scaled(key: str, value: str, scale: int) -> str:
    """A broker value in hours/minutes as milliseconds; negative stays -1 (unlimited)."""
    if scale == 1:
        return value
    number = _parse_integer(key, value, INT64_MIN, INT64_MAX)
    return str(number * scale if number >= 0 else -1)


def _int_at_least(low: int, high: int = INT32_MAX):
    def parse(key: str, value: str) -> int:
        return _parse_integer(key, value, low, high)

    return parse


def _long_at_least(low: int):
    return _int_at_least(low, INT64_MAX)


def _timestamp_type(key: str, value: str) -> str:
    text = value.strip()
    if text not in TIMESTAMP_TYPES:
        raise InvalidConfigError(f"{key}: {value!r} is not one of {', '.join(TIMESTAMP_TYPES)}")
    return text


def _cleanup_policy(key: str, value: str) -> str:
    items = [item.strip() for item in value.split(",")]
    if not items or any(item not in CLEANUP_POLICIES for item in items):
        raise InvalidConfigError(f"{key}: {value!r} is not a list of {', '.join(CLEANUP_POLICIES)}")
    return ",".join(items)


def _double_at_least(low: float, high: float):
    def parse(key: str, value: str) -> float:
        try:
            number = float(value.strip())
        except ValueError:
            raise InvalidConfigError(f"{key}: {value!r} is not a number") from None
        if not low <= number <= high:
            raise InvalidConfigError(f"{key}: {number} is outside [{low}, {high}]")
        return number

    return parse


def _boolean(key: str, value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise InvalidConfigError(f"{key}: {value!r} is not true or false")
    return text == "true"


def _one_of(*choices: str):
    def parse(key: str, value: str) -> str:
        if value.strip() not in choices:
            raise InvalidConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")
        return value.strip()

    return parse


def _any_text(key: str, value: str) -> str:
    return value


# topic config key -> (LogConfig field, parser)
_TOPIC_KEYS = {
    "segment.bytes": ("segment_bytes", _int_at_least(14)),
    "segment.ms": ("segment_ms", _long_at_least(1)),
    "index.interval.bytes": ("index_interval_bytes", _int_at_least(0)),
    "max.message.bytes": ("max_message_bytes", _int_at_least(0)),
    "message.timestamp.type": ("message_timestamp_type", _timestamp_type),
    "retention.ms": ("retention_ms", _long_at_least(-1)),
    "retention.bytes": ("retention_bytes", _long_at_least(INT64_MIN)),
    "cleanup.policy": ("cleanup_policy", _cleanup_policy),
    "file.delete.delay.ms": ("file_delete_delay_ms", _long_at_least(0)),
    "flush.messages": ("flush_messages", _long_at_least(1)),
    "flush.ms": ("flush_ms", _long_at_least(0)),
    "delete.retention.ms": ("delete_retention_ms", _long_at_least(0)),
    "min.cleanable.dirty.ratio": ("min_cleanable_dirty_ratio", _double_at_least(0.0, 1.0)),
    "min.compaction.lag.ms": ("min_compaction_lag_ms", _long_at_least(0)),
    "max.compaction.lag.ms": ("max_compaction_lag_ms", _long_at_least(1)),
}

# Topic configs Kafka accepts that this engine stores and shows but does not act on
# (replication, compression by the broker, index sizes, tiered storage):
# key -> (Kafka's default, validator). Refusing them would break admin tools that set them.
_KAFKA_ONLY_KEYS = {
    "compression.type": ("producer", _one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
    "compression.gzip.level": ("-1", _int_at_least(-1, 9)),
    "compression.lz4.level": ("9", _int_at_least(1, 17)),
    "compression.zstd.level": ("3", _int_at_least(-131072, 22)),
    "follower.replication.throttled.replicas": ("", _any_text),
    "leader.replication.throttled.replicas": ("", _any_text),
    "local.retention.bytes": ("-2", _long_at_least(-2)),
    "local.retention.ms": ("-2", _long_at_least(-2)),
    "message.downconversion.enable": ("true", _boolean),
    "message.format.version": ("3.0-IV1", _any_text),
    "message.timestamp.after.max.ms": (str(INT64_MAX), _long_at_least(0)),
    "message.timestamp.before.max.ms": (str(INT64_MAX), _long_at_least(0)),
    "message.timestamp.difference.max.ms": (str(INT64_MAX), _long_at_least(0)),
    "min.insync.replicas": ("1", _int_at_least(1)),
    "preallocate": ("false", _boolean),
    "remote.log.copy.disable": ("false", _boolean),
    "remote.log.delete.on.disable": ("false", _boolean),
    "remote.storage.enable": ("false", _boolean),
    "segment.index.bytes": ("10485760", _int_at_least(4)),
    "segment.jitter.ms": ("0", _long_at_least(0)),
    "unclean.leader.election.enable": ("false", _boolean),
}

# broker key -> (topic key, multiplier); the coarser keys lose to the finer ones below
_BROKER_KEYS = {
    "log.segment.bytes": ("segment.bytes", 1),
    "log.roll.hours": ("segment.ms", 3600000),
    "log.index.interval.bytes": ("index.interval.bytes", 1),
    "message.max.bytes": ("max.message.bytes", 1),
    "log.message.timestamp.type": ("message.timestamp.type", 1),
    "log.retention.hours": ("retention.ms", 3600000),
    "log.retention.bytes": ("retention.bytes", 1),
    "log.cleanup.policy": ("cleanup.policy", 1),
    "log.segment.delete.delay.ms": ("file.delete.delay.ms", 1),
    "log.flush.interval.messages": ("flush.messages", 1),
    "log.flush.interval.ms": ("flush.ms", 1),
    "log.cleaner.delete.retention.ms": ("delete.retention.ms", 1),
    "log.cleaner.min.cleanable.ratio": ("min.cleanable.dirty.ratio", 1),
    "log.cleaner.min.compaction.lag.ms": ("min.compaction.lag.ms", 1),
    "log.cleaner.max.compaction.lag.ms": ("max.compaction.lag.ms", 1),
}
_BROKER_KEYS_PREFERRED = {
    "log.retention.minutes": ("retention.ms", 60000),
    "log.retention.ms": ("retention.ms", 1),
    "log.roll.ms": ("segment.ms", 1),
}



@dataclass(frozen=True)
class LogManagerConfig:
    """Broker-wide settings of the log's background work (Kafka's LogManager and LogCleaner)."""

    retention_check_interval_ms: int = 300000         # log.retention.check.interval.ms
    cleaner_enable: bool = True                       # log.cleaner.enable
    cleaner_threads: int = 1                          # log.cleaner.threads: logs cleaned at once
    cleaner_backoff_ms: int = 15000                   # log.cleaner.backoff.ms: pause when nothing is dirty
    cleaner_dedupe_buffer_size: int = 134217728       # log.cleaner.dedupe.buffer.size
    cleaner_io_buffer_load_factor: float = 0.9        # log.cleaner.io.buffer.load.factor
    flush_scheduler_interval_ms: int = INT64_MAX      # log.flush.scheduler.interval.ms
    flush_start_offset_checkpoint_interval_ms: int = 60000  # log.flush.start.offset.checkpoint.interval.ms
    producer_id_expiration_ms: int = 86400000         # producer.id.expiration.ms
    producer_id_expiration_check_interval_ms: int = 600000  # producer.id.expiration.check.interval.ms

    @property
    def max_offset_map_entries(self) -> int:
        """Keys one cleaning pass maps: Kafka's map holds 24 bytes (hash and offset) per key
        in a dedupe buffer filled to the load factor; kbroker maps as many keys."""
        return max(1, int(self.cleaner_dedupe_buffer_size // 24 * self.cleaner_io_buffer_load_factor))

    @classmethod
    def from_broker_properties(cls, props: dict[str, str]) -> LogManagerConfig:
        """From Kafka's broker keys; InvalidConfigError on a bad value."""
        changes = {}
        for key, (field_name, parse) in _MANAGER_KEYS.items():
            if key in props:
                changes[field_name] = parse(key, str(props[key]))
        return cls(**changes)


# broker key -> (LogManagerConfig field, parser)
_MANAGER_KEYS = {
    "log.retention.check.interval.ms": ("retention_check_interval_ms", _long_at_least(1)),
    "log.cleaner.enable": ("cleaner_enable", _boolean),
    "log.cleaner.threads": ("cleaner_threads", _int_at_least(0)),
    "log.cleaner.backoff.ms": ("cleaner_backoff_ms", _long_at_least(0)),
    "log.cleaner.dedupe.buffer.size": ("cleaner_dedupe_buffer_size", _long_at_least(0)),
    "log.cleaner.io.buffer.load.factor": ("cleaner_io_buffer_load_factor", _double_at_least(0.0, 1.0)),
    "log.flush.scheduler.interval.ms": ("flush_scheduler_interval_ms", _long_at_least(0)),
    "log.flush.start.offset.checkpoint.interval.ms": (
        "flush_start_offset_checkpoint_interval_ms", _int_at_least(0)),
    "producer.id.expiration.ms": ("producer_id_expiration_ms", _int_at_least(1)),
    "producer.id.expiration.check.interval.ms": ("producer_id_expiration_check_interval_ms", _int_at_least(1)),
}

#: The broker-level keys (server.properties) that set the log's defaults for every topic
#: (LogConfig.from_broker_properties) and the settings of its background work
#: (LogManagerConfig.from_broker_properties).
BROKER_PROPERTIES = frozenset(_BROKER_KEYS) | frozenset(_BROKER_KEYS_PREFERRED) | frozenset(_MANAGER_KEYS)

#: Every supported topic config key with Kafka's default, as DescribeConfigs shows it.
TOPIC_CONFIG_DEFAULTS: dict[str, str] = LogConfig().topic_configs()
