"""Settings of the group coordinator and its committed offsets: Kafka's broker keys, one definition.

``GroupConfig`` is the only place their defaults are written; field names are Kafka's keys
in snake_case. ``BrokerConfig`` keeps the group keys a server.properties sets as text
(``group_properties``) and ``BrokerConfig.groups`` reads them here, as storage reads the
log keys: this module loads only when a group key is set or the coordinator is made, so
start-up does not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroupConfig:
    group_initial_rebalance_delay_ms: int = 3000
    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1800000
    group_max_size: int = 2**31 - 1  # Kafka's default, Integer.MAX_VALUE
    # Kafka's classicGroupNewMemberJoinTimeoutMs: a constant 5 minutes, not a broker config.
    group_new_member_join_timeout_ms: int = 300000
    offsets_retention_minutes: int = 10080
    offsets_retention_check_interval_ms: int = 600000
    offsets_topic_num_partitions: int = 50
    offset_metadata_max_bytes: int = 4096

    @classmethod
    def from_broker_properties(cls, props: dict[str, str]) -> GroupConfig:
        """Kafka's defaults with the group keys of ``props`` set (other keys are not ours);
        ValueError for a value that is not an integer."""
        return cls(**{PROPERTIES[key]: int(value.strip()) for key, value in props.items() if key in PROPERTIES})


# Kafka's broker key -> GroupConfig field
PROPERTIES = {
    "group.initial.rebalance.delay.ms": "group_initial_rebalance_delay_ms",
    "group.min.session.timeout.ms": "group_min_session_timeout_ms",
    "group.max.session.timeout.ms": "group_max_session_timeout_ms",
    "group.max.size": "group_max_size",
    "offsets.retention.minutes": "offsets_retention_minutes",
    "offsets.retention.check.interval.ms": "offsets_retention_check_interval_ms",
    "offsets.topic.num.partitions": "offsets_topic_num_partitions",
    "offset.metadata.max.bytes": "offset_metadata_max_bytes",
}
