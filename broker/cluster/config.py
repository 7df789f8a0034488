"""Cluster mode's settings: Kafka's broker keys for ZooKeeper, replication and the controller.

``ClusterConfig`` is the one place their defaults (Kafka's) are written; field names are
the keys in snake_case. ``BrokerConfig`` keeps the keys a server.properties or ``-o`` sets as
text (``cluster_properties``) and reads them here, only when one is set: one broker without
them never imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ClusterConfig:
    zookeeper_connect: str = ""
    zookeeper_session_timeout_ms: int = 18000
    zookeeper_connection_timeout_ms: int = 18000
    broker_rack: str | None = None
    # replication
    replica_lag_time_max_ms: int = 30000
    replica_fetch_wait_max_ms: int = 500
    replica_fetch_min_bytes: int = 1
    replica_fetch_max_bytes: int = 1048576
    replica_fetch_response_max_bytes: int = 10485760
    replica_fetch_backoff_ms: int = 1000
    replica_socket_timeout_ms: int = 30000
    replica_high_watermark_checkpoint_interval_ms: int = 5000
    min_insync_replicas: int = 1
    unclean_leader_election_enable: bool = False
    # KIP-392: Kafka's default serves every read from the leader; the rack-aware selector
    # (org.apache.kafka.common.replica.RackAwareReplicaSelector) points consumers at a replica
    # in their client.rack
    replica_selector_class: str = ""
    # the controller
    auto_leader_rebalance_enable: bool = True
    leader_imbalance_check_interval_seconds: int = 300
    leader_imbalance_per_broker_percentage: int = 10
    controlled_shutdown_enable: bool = True
    controlled_shutdown_max_retries: int = 3
    controlled_shutdown_retry_backoff_ms: int = 5000
    controller_socket_timeout_ms: int = 30000
    delete_topic_enable: bool = True
    leader_replication_throttled_rate: int = -1   # bytes/s a reassignment's new replicas fetch at; -1 none
    # internal topics
    offsets_topic_replication_factor: int = 3
    transaction_state_log_replication_factor: int = 3
    transaction_state_log_min_isr: int = 2

    @property
    def rack_aware_reads(self) -> bool:
        return self.replica_selector_class.rsplit(".", 1)[-1] == "RackAwareReplicaSelector"

    @classmethod
    def from_broker_properties(cls, props: dict[str, str]) -> ClusterConfig:
        """Kafka's defaults with the cluster keys of ``props`` set; ValueError for a bad value."""
        values = {}
        types = {f.name: f.type for f in fields(cls)}
        for key, value in props.items():
            name = PROPERTIES.get(key)
            if name is None:
                continue
            text = value.strip()
            kind = types[name]
            if kind == "bool":
                if text.lower() not in ("true", "false"):
                    raise ValueError(f"{key}: expected true or false, got {value!r}")
                values[name] = text.lower() == "true"
            elif kind == "int":
                values[name] = int(text)
            else:
                values[name] = text or None if name == "broker_rack" else text
        config = cls(**values)
        if config.min_insync_replicas < 1:
            raise ValueError("min.insync.replicas must be at least 1")
        return config


# Kafka's broker key -> ClusterConfig field: every field, named by its key
PROPERTIES = {f.name.replace("_", "."): f.name for f in fields(ClusterConfig)}
