"""Settings of the group coordinator and its committed offsets: Kafka's broker keys, one definition.

``GroupConfig`` is the only place their defaults are written. ``BrokerConfig`` holds one
(``config.groups``) and a server.properties sets it through ``PROPERTIES``; the coordinator
and the service read it. Field names are Kafka's keys in snake_case.
"""

from __future__ import annotations

import dataclasses
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

    def with_properties(self, props: dict[str, str]) -> GroupConfig:
        """This config with the Kafka keys of ``props`` that are group keys applied;
        ValueError for a value that is not an integer."""
        changes = {PROPERTIES[key]: int(value.strip()) for key, value in props.items() if key in PROPERTIES}
        return dataclasses.replace(self, **changes) if changes else self


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
