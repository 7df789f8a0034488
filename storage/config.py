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
    """Settings of one partition log; defaults are Kafka's."""

    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    index_interval_bytes: int = 4096
    max_message_bytes: int = 1048588
    message_timestamp_type: str = "CreateTime"
    retention_ms: int = 604800000
    retention_bytes: int = -1
    cleanup_policy: str = "delete"

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    def with_overrides(self, configs: dict[str, str] | None) -> LogConfig:
        """A copy with topic-level overrides applied; InvalidConfigError on a bad key or value."""
        if not configs:
            return self
        changes = {}
        for key, value in configs.items():
            spec = _TOPIC_KEYS.get(key)
            if spec is None:
                raise InvalidConfigError(f"unknown topic config {key!r}")
            if value is None:
                raise InvalidConfigError(f"topic config {key!r} has no value")
            field_name, parse = spec
            changes[field_name] = parse(key, str(value))
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_broker_properties(cls, props: dict[str, str]) -> LogConfig:
        """Broker defaults from Kafka's broker-level keys (log.segment.bytes, log.roll.ms, ...)."""
        topic_configs = {}
        for broker_key, (topic_key, scale) in _BROKER_KEYS.items():
            if broker_key in props:
                topic_configs[topic_key] = _scaled(broker_key, props[broker_key], scale)
        for broker_key, (topic_key, scale) in _BROKER_KEYS_PREFERRED.items():
            if broker_key in props:
                topic_configs[topic_key] = _scaled(broker_key, props[broker_key], scale)
        return cls().with_overrides(topic_configs)

    def topic_configs(self) -> dict[str, str]:
        """Every supported topic config key with this config's value as a string."""
        return {key: str(getattr(self, field_name)) for key, (field_name, _) in _TOPIC_KEYS.items()}


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
}
_BROKER_KEYS_PREFERRED = {
    "log.retention.minutes": ("retention.ms", 60000),
    "log.retention.ms": ("retention.ms", 1),
    "log.roll.ms": ("segment.ms", 1),
}

#: Every supported topic config key with Kafka's default, as DescribeConfigs shows it.
TOPIC_CONFIG_DEFAULTS: dict[str, str] = LogConfig().topic_configs()
