"""Broker settings: defaults, a Kafka-style server.properties file, and command-line overrides."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storage import BROKER_PROPERTIES, InvalidConfigError, LogConfig, LogManagerConfig

if TYPE_CHECKING:
    from broker.groups.config import GroupConfig

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
    # the group coordinator's settings as Kafka's keys (group.initial.rebalance.delay.ms,
    # offsets.retention.minutes, ...): broker.groups.config reads them (``groups``)
    group_properties: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)   # keys kept but not acted on

    @property
    def log_defaults(self) -> LogConfig:
        """The log settings every topic starts from."""
        return LogConfig.from_broker_properties(self.log_properties)

    @property
    def groups(self) -> GroupConfig:
        """The group coordinator's settings: GroupConfig's defaults and the group keys set here."""
        return _group_config(self.group_properties)

    @property
    def log_manager_config(self) -> LogManagerConfig:
        """Retention checks, the cleaner, flushes: the log's background work."""
        return LogManagerConfig.from_broker_properties(self.log_properties)

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


def _listener(value: str) -> tuple[str, int]:
    """The first PLAINTEXT listener of a list like ``PLAINTEXT://127.0.0.1:9092,CONTROLLER://:9093``."""
    listeners = [item.strip() for item in value.split(",") if item.strip()]
    for item in listeners:
        name, _, address = item.partition("://")
        if name.upper() in ("PLAINTEXT", "") or len(listeners) == 1:
            host, _, port = address.rpartition(":")
            if len(listeners) > 1:
                log.warning("only the listener %s is served; others ignored: %s", item, value)
            return host.strip("[]"), int(port)
    raise ValueError(f"no PLAINTEXT listener in {value!r}")


# Kafka property name -> (BrokerConfig attribute, converter)
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
    "max.connections": ("max_connections", _int),
    "max.connections.per.ip": ("max_connections_per_ip", _int),
}

# Keys a Kafka server.properties commonly holds that mean nothing for one kbroker process.
IGNORED = {
    "process.roles", "controller.quorum.voters", "controller.quorum.bootstrap.servers", "controller.listener.names",
    "inter.broker.listener.name", "listener.security.protocol.map", "num.network.threads", "num.io.threads",
    "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "num.recovery.threads.per.data.dir",
    "offsets.topic.replication.factor", "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr", "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr", "zookeeper.connect", "zookeeper.connection.timeout.ms",
    "min.insync.replicas", "unclean.leader.election.enable", "delete.topic.enable",
}


# The group wing's settings are imported when first needed (a group key that is none of the
# keys above, or the coordinator being made): a broker started without group settings does
# not load them before its first answer.

def _group_keys():
    from broker.groups.config import PROPERTIES

    return PROPERTIES.keys()


def _group_config(props: dict[str, str]) -> GroupConfig:
    from broker.groups.config import GroupConfig

    return GroupConfig.from_broker_properties(props)


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
    for key, value in props.items():
        try:
            if key == "listeners":
                config.host, config.port = _listener(value)
            elif key == "advertised.listeners":
                config.advertised_host, config.advertised_port = _listener(value)
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
            else:
                config.extra[key] = value
                log.warning("unknown setting %s=%s ignored", key, value)
        except (ValueError, InvalidConfigError) as exc:
            raise ValueError(f"bad value for {key}: {exc}") from None
    return config


def load_properties_file(path: str | Path) -> dict[str, str]:
    return parse_properties(Path(path).read_text(encoding="utf-8"))
