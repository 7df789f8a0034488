"""Broker settings: defaults, a Kafka-style server.properties file, and command-line overrides."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from broker.security.listeners import Listener, resolve as resolve_listeners
from storage import BROKER_PROPERTIES, InvalidConfigError, LogConfig, LogManagerConfig

if TYPE_CHECKING:
    from broker.cluster.config import ClusterConfig
    from broker.groups.config import GroupConfig
    from broker.transactions.config import TransactionConfig

log = logging.getLogger("kbroker.config")


@dataclass
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = 9092
    advertised_host: str | None = None      # defaults to host (or 127.0.0.1 when host is 0.0.0.0)
    advertised_port: int | None = None      # defaults to port
    data_dir: Path | None = Path("kbroker-data")   # None: in-memory log
    node_id: int = 1
    num_partitions: int = 1
    default_replication_factor: int = 1
    auto_create_topics: bool = True
    log_level: str = "INFO"
    # the log's defaults for every topic, as Kafka's broker keys (log.segment.bytes, log.roll.ms,
    # message.max.bytes, ...), and its background work (log.retention.check.interval.ms,
    # log.cleaner.*): storage reads them (LogConfig and LogManagerConfig.from_broker_properties)
    log_properties: dict[str, str] = field(default_factory=dict)
    # network
    socket_request_max_bytes: int = 104857600
    queued_max_request_bytes: int = -1      # request bytes held across connections; <= 0: no limit
    max_connections: int = 2147483647       # connections at once; a new one beyond is closed at once
    max_connections_per_ip: int = 2147483647   # the same, from one client address
    max_connection_creation_rate: int = 2147483647   # new connections a second; beyond, accepting waits
    # client quotas (broker.quotas): the rate a byte quota is measured over, as Kafka's keys
    quota_window_num: int = 11              # samples kept
    quota_window_size_seconds: int = 1      # the span of one sample
    controller_quota_window_num: int = 11   # the same for controller_mutation_rate (its token bucket)
    controller_quota_window_size_seconds: int = 1
    # the group coordinator's settings as Kafka's keys (group.initial.rebalance.delay.ms,
    # offsets.retention.minutes, ...): broker.groups.config reads them (``groups``)
    group_properties: dict[str, str] = field(default_factory=dict)
    # the HTTP port: web console, /metrics and admin endpoints (broker/http/); off without a port
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    http_allow_remote: bool = False         # a non-loopback http_host is refused without it
    http_lag_sample_ms: int = 10000         # how often the console records each group's lag (its chart)
    # KIP-714 client telemetry: clients push their metrics while the HTTP port is on
    telemetry_push_interval_ms: int = 30000
    telemetry_max_bytes: int = 1048576
    # cluster mode's settings as Kafka's keys (zookeeper.connect, broker.rack, min.insync.replicas,
    # ...): broker.cluster.config reads them (``cluster``); zookeeper.connect turns the mode on
    cluster_properties: dict[str, str] = field(default_factory=dict)
    # the transaction coordinator's settings as Kafka's keys (transaction.max.timeout.ms,
    # transactional.id.expiration.ms, ...): broker.transactions.config reads them (``transactions``)
    transaction_properties: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)   # keys kept but not acted on
    # listeners: host and port above are the first listener's address, these its name and protocol
    listener_name: str = "PLAINTEXT"
    listener_protocol: str = "PLAINTEXT"
    more_listeners: list[Listener] = field(default_factory=list)   # the others, in the order given
    # listeners, advertised.listeners, listener.security.protocol.map, controller.listener.names as given
    listener_properties: dict[str, str] = field(default_factory=dict)
    # ssl.*, sasl.*, listener.name.*, the authorizer's keys, as given: broker.security.settings reads them
    security_properties: dict[str, str] = field(default_factory=dict)
    tls_cert_file: Path | None = None       # --tls-cert / --tls-key: the PEM key pair of every TLS listener
    tls_key_file: Path | None = None
    sasl_users_file: Path | None = None     # --sasl-users: PLAIN and SCRAM users, one ``name:password`` a line

    def listeners(self) -> list[Listener]:
        """Every listener, the first at host:port."""
        first = Listener(self.listener_name, self.listener_protocol, self.host, self.port,
                         self.advertised_host, self.advertised_port)
        return [first, *self.more_listeners]

    @property
    def log_defaults(self) -> LogConfig:
        """The log settings every topic starts from."""
        return LogConfig.from_broker_properties(self.log_properties)

    @property
    def groups(self) -> GroupConfig:
        """The group coordinator's settings: GroupConfig's defaults and the group keys set here."""
        return _group_config(self.group_properties)

    @property
    def cluster(self) -> ClusterConfig | None:
        """Cluster mode's settings, or None for one broker (no zookeeper.connect)."""
        if not self.cluster_properties.get("zookeeper.connect", "").strip():
            return None
        from broker.cluster.config import ClusterConfig

        return ClusterConfig.from_broker_properties(self.cluster_properties)

    @property
    def log_manager_config(self) -> LogManagerConfig:
        """Retention checks, the cleaner, flushes: the log's background work."""
        return LogManagerConfig.from_broker_properties(self.log_properties)

    @property
    def transactions(self) -> TransactionConfig:
        """The transaction coordinator's settings: TransactionConfig's defaults and the keys set here."""
        return _transaction_config(self.transaction_properties)

    @property
    def advertised(self) -> tuple[str, int]:
        host = self.advertised_host or (self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1")
        return host, self.advertised_port or self.port


def _int(value: str) -> int:
    return int(value.strip())


def _bool(value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"expected true or false, got {value!r}")
    return text == "true"


# Kafka property name -> (BrokerConfig attribute, converter)
def _http_listener(value: str) -> tuple[str, int]:
    """``http.listeners``: one ``HTTP://host:port`` (the scheme may be left out)."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if len(items) != 1:
        raise ValueError(f"expected one HTTP://host:port, got {value!r}")
    scheme, sep, address = items[0].rpartition("://")
    if sep and scheme.upper() != "HTTP":
        raise ValueError(f"only HTTP is served, not {scheme}")
    host, _, port = address.rpartition(":")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} outside 0..65535")
    return host.strip("[]"), number     # no host: every interface, as in Kafka's listeners


PROPERTIES = {
    "log.dirs": ("data_dir", lambda v: Path(v.split(",")[0].strip())),
    "log.dir": ("data_dir", lambda v: Path(v.split(",")[0].strip())),
    "node.id": ("node_id", _int),
    "broker.id": ("node_id", _int),
    "num.partitions": ("num_partitions", _int),
    "default.replication.factor": ("default_replication_factor", _int),
    "auto.create.topics.enable": ("auto_create_topics", _bool),
    "socket.request.max.bytes": ("socket_request_max_bytes", _int),
    "queued.max.request.bytes": ("queued_max_request_bytes", _int),
    "http.allow.remote": ("http_allow_remote", _bool),
    "http.lag.sample.interval.ms": ("http_lag_sample_ms", _int),
    "telemetry.push.interval.ms": ("telemetry_push_interval_ms", _int),
    "telemetry.max.bytes": ("telemetry_max_bytes", _int),
    "max.connections": ("max_connections", _int),
    "max.connections.per.ip": ("max_connections_per_ip", _int),
    "quota.window.num": ("quota_window_num", _int),
    "quota.window.size.seconds": ("quota_window_size_seconds", _int),
    "max.connection.creation.rate": ("max_connection_creation_rate", _int),
    "controller.quota.window.num": ("controller_quota_window_num", _int),
    "controller.quota.window.size.seconds": ("controller_quota_window_size_seconds", _int),
}

# Keys a Kafka server.properties commonly holds that mean nothing for one kbroker process.
IGNORED = {
    "process.roles", "controller.quorum.voters", "controller.quorum.bootstrap.servers", "controller.listener.names",
    "num.network.threads", "num.io.threads",
    "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "num.recovery.threads.per.data.dir",
    "share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.min.isr",
}


LISTENER_KEYS = ("listeners", "advertised.listeners", "listener.security.protocol.map", "controller.listener.names")

# Security keys (broker.security.settings reads them): these, and every key under these prefixes.
SECURITY_KEYS = {
    "authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found", "connections.max.reauth.ms",
    "connection.failed.authentication.delay.ms", "principal.builder.class", "security.inter.broker.protocol",
}
SECURITY_PREFIXES = ("ssl.", "sasl.", "listener.name.")


def is_security_key(key: str) -> bool:
    return key in SECURITY_KEYS or key.startswith(SECURITY_PREFIXES)


def apply_listeners(config: BrokerConfig) -> None:
    """Set the listeners from the listener keys given so far (the first one at host:port)."""
    props = config.listener_properties
    if "listeners" in props:
        listeners = resolve_listeners(props["listeners"], props.get("advertised.listeners"),
                                      props.get("listener.security.protocol.map"),
                                      props.get("controller.listener.names"))
    else:   # the default listener, perhaps advertised elsewhere
        first = config.listeners()[0]
        spec = f"{first.name}://{first.host}:{first.port}"
        protocol_map = props.get("listener.security.protocol.map") or f"{first.name}:{first.security_protocol}"
        listeners = resolve_listeners(spec, props.get("advertised.listeners"), protocol_map, None)
    first, *more = listeners
    config.listener_name, config.listener_protocol = first.name, first.security_protocol
    config.host, config.port = first.host, first.port
    config.advertised_host, config.advertised_port = first.advertised_host, first.advertised_port
    config.more_listeners = more


# The group wing's settings are imported when first needed (a group key that is none of the
# keys above, or the coordinator being made): a broker started without group settings does
# not load them before its first answer.

def _group_keys():
    from broker.groups.config import PROPERTIES

    return PROPERTIES.keys()


def _group_config(props: dict[str, str]) -> GroupConfig:
    from broker.groups.config import GroupConfig

    return GroupConfig.from_broker_properties(props)


def _cluster_keys():
    from broker.cluster.config import PROPERTIES

    return PROPERTIES.keys()


def _transaction_keys():
    from broker.transactions.config import PROPERTIES

    return PROPERTIES.keys()


def _cluster_config(props: dict[str, str]) -> ClusterConfig:
    from broker.cluster.config import ClusterConfig

    return ClusterConfig.from_broker_properties(props)


def _transaction_config(props: dict[str, str]) -> TransactionConfig:
    from broker.transactions.config import TransactionConfig

    return TransactionConfig.from_broker_properties(props)


def parse_properties(text: str) -> dict[str, str]:
    """Java .properties: ``key=value``, ``key: value`` or ``key value``; ``#``/``!`` comments; ``\\`` continues a line."""
    result: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        line, logical = logical + line, ""
        for i, ch in enumerate(line):
            if ch in "=: \t":
                key, value = line[:i], line[i + 1:].strip()
                if ch in " \t" and value[:1] in ("=", ":"):
                    value = value[1:].strip()
                break
        else:
            key, value = line, ""
        result[key.strip()] = value
    return result


def apply_properties(config: BrokerConfig, props: dict[str, str]) -> BrokerConfig:
    """Set what a server.properties says; unknown keys are warned about, never fatal."""
    listeners_given = False
    for key, value in props.items():
        try:
            if key in LISTENER_KEYS:
                config.listener_properties[key] = value.strip()
                listeners_given = True
            elif key == "http.listeners":
                config.http_host, config.http_port = _http_listener(value)
            elif is_security_key(key):
                config.security_properties[key] = value.strip()
            elif key in BROKER_PROPERTIES:
                LogConfig.from_broker_properties({key: value})   # refuse a bad value now
                config.log_properties[key] = value.strip()
            elif key in PROPERTIES:
                attr, convert = PROPERTIES[key]
                setattr(config, attr, convert(value))
            elif key in IGNORED:
                config.extra[key] = value
            elif key in _group_keys():
                _group_config({key: value})   # refuse a bad value now
                config.group_properties[key] = value.strip()
            elif key in _cluster_keys():
                _cluster_config({key: value})   # refuse a bad value now
                config.cluster_properties[key] = value.strip()
            elif key in _transaction_keys():
                _transaction_config({key: value})   # refuse a bad value now
                config.transaction_properties[key] = value.strip()
            else:
                config.extra[key] = value
                log.warning("unknown setting %s=%s ignored", key, value)
        except (ValueError, InvalidConfigError) as exc:
            raise ValueError(f"bad value for {key}: {exc}") from None
    if listeners_given:
        try:
            apply_listeners(config)
        except ValueError as exc:
            raise ValueError(f"bad listeners: {exc}") from None
    return config


def load_properties_file(path: str | Path) -> dict[str, str]:
    return parse_properties(Path(path).read_text(encoding="utf-8"))
