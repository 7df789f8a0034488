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
    # the listener brokers connect to each other on (Kafka's key); unset: security.inter.broker.protocol's
    # name, else the listener named PLAINTEXT, else the first
    inter_broker_listener_name: str = ""
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


def inter_broker_listener(broker_config, config: ClusterConfig):
    """The listener other brokers connect to (broker.security.listeners.Listener); ValueError when
    it is not one of the broker's, or is not PLAINTEXT (brokers open plain connections to each other)."""
    listeners = broker_config.listeners()
    named = config.inter_broker_listener_name.strip().upper() or \
        broker_config.security_properties.get("security.inter.broker.protocol", "").strip().upper()
    if named:
        found = [listener for listener in listeners if listener.name == named]
        if not found:
            raise ValueError(f"inter.broker.listener.name {named} is not one of the listeners "
                             f"({', '.join(l.name for l in listeners)})")
        listener = found[0]
    else:
        listener = next((l for l in listeners if l.name == "PLAINTEXT"), listeners[0])
    if listener.security_protocol != "PLAINTEXT":
        raise ValueError(f"cluster mode's brokers talk to each other over the inter-broker listener {listener.name}, "
                         f"which must be PLAINTEXT (it is {listener.security_protocol}): add a PLAINTEXT listener "
                         "for them (on a private address) and name it in inter.broker.listener.name")
    return listener


# Kafka's broker key -> ClusterConfig field: every field, named by its key
PROPERTIES = {f.name.replace("_", "."): f.name for f in fields(ClusterConfig)}
