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
    # KIP-848 consumer groups
    group_consumer_session_timeout_ms: int = 45000
    group_consumer_heartbeat_interval_ms: int = 5000
    group_consumer_assignors: str = "uniform,range"
    group_consumer_max_size: int = 2**31 - 1
    # KIP-848's online migration between the classic and the consumer protocols:
    # disabled, upgrade, downgrade or bidirectional (Kafka 4.0's default)
    group_consumer_migration_policy: str = "bidirectional"
    # KIP-932 share groups (group.share.*); a group's own configs override the last three
    group_share_session_timeout_ms: int = 45000
    group_share_heartbeat_interval_ms: int = 5000
    group_share_max_size: int = 200
    group_share_record_lock_duration_ms: int = 30000
    group_share_delivery_count_limit: int = 5
    group_share_partition_max_record_locks: int = 2000

    @classmethod
    def from_broker_properties(cls, props: dict[str, str]) -> GroupConfig:
        """Kafka's defaults with the group keys of ``props`` set (other keys are not ours);
        ValueError for a value that is not an integer (or, for the assignors, a list naming
        one Kafka does not have)."""
        values = {}
        for key, value in props.items():
            name = PROPERTIES.get(key)
            if name is None:
                continue
            if name == "group_consumer_assignors":
                names = [n.strip() for n in value.split(",") if n.strip()]
                # Kafka also takes the assignors' class names
                names = [n.rsplit(".", 1)[-1].removesuffix("Assignor").lower() for n in names]
                if not names or any(n not in ("uniform", "range") for n in names):
                    raise ValueError(f"group.consumer.assignors: unknown assignor in {value!r}")
                values[name] = ",".join(names)
            elif name == "group_consumer_migration_policy":
                policy = value.strip().lower()   # Kafka's ConsumerGroupMigrationPolicy.parse ignores case
                if policy not in MIGRATION_POLICIES:
                    raise ValueError(f"group.consumer.migration.policy: {value!r} is not one of "
                                     f"{', '.join(MIGRATION_POLICIES)}")
                values[name] = policy
            else:
                values[name] = int(value.strip())
        return cls(**values)


# group.consumer.migration.policy -> (online upgrade allowed, online downgrade allowed)
MIGRATION_POLICIES = {"disabled": (False, False), "upgrade": (True, False), "downgrade": (False, True),
                      "bidirectional": (True, True)}

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
    "group.consumer.session.timeout.ms": "group_consumer_session_timeout_ms",
    "group.consumer.heartbeat.interval.ms": "group_consumer_heartbeat_interval_ms",
    "group.consumer.assignors": "group_consumer_assignors",
    "group.consumer.max.size": "group_consumer_max_size",
    "group.consumer.migration.policy": "group_consumer_migration_policy",
    "group.share.session.timeout.ms": "group_share_session_timeout_ms",
    "group.share.heartbeat.interval.ms": "group_share_heartbeat_interval_ms",
    "group.share.max.size": "group_share_max_size",
    "group.share.record.lock.duration.ms": "group_share_record_lock_duration_ms",
    "group.share.delivery.count.limit": "group_share_delivery_count_limit",
    "group.share.partition.max.record.locks": "group_share_partition_max_record_locks",
}
