"""The catalogue of configs: every topic, broker and group key kbroker describes, in Kafka's terms.

For each key: its type (as DescribeConfigs numbers types), a short description, its
default, whether a broker key may change at run time (Kafka's "read-only" flag is the
opposite), whether its value is secret, and, for topic keys, the broker keys that set
its default (Kafka's "synonyms": ``retention.ms`` <- ``log.retention.ms``,
``log.retention.minutes``, ``log.retention.hours``).

Which topic keys exist, and how their values are checked, is storage's business
(``storage.TOPIC_CONFIG_DEFAULTS``, ``LogConfig.with_overrides``); this module adds what
an admin client is shown. Group keys (resource type GROUP, KIP-848 and KIP-932) are the
group service's the same way: it keeps their values, defaults and range checks; here are
their types, descriptions and the bounds Kafka's GroupConfig parses them with. A later feature registers its keys the same way::

    broker_config("transaction.state.log.num.partitions", INT, "Partitions of the transaction log.",
                  default="50", value_of=lambda config: str(config.transaction_state_log_num_partitions))
    broker_config("sasl.jaas.config", PASSWORD, "...", dynamic=True)   # shown with a null value
    topic_config("some.topic.key", LONG, "...", synonyms=[("log.some.key", 1)])

A broker key with ``value_of`` shows what the running ``BrokerConfig`` holds; one
without shows what server.properties or a dynamic change set, else its default.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

# Config types, as DescribeConfigs (v3+) numbers them
UNKNOWN, BOOLEAN, STRING, INT, SHORT, LONG, DOUBLE, LIST, CLASS, PASSWORD = range(10)
TYPE_NAMES = {BOOLEAN: "BOOLEAN", STRING: "STRING", INT: "INT", SHORT: "SHORT", LONG: "LONG", DOUBLE: "DOUBLE",
              LIST: "LIST", CLASS: "CLASS", PASSWORD: "PASSWORD"}

# Where a value comes from, as DescribeConfigs (v1+) numbers sources
DYNAMIC_TOPIC_CONFIG = 1
DYNAMIC_BROKER_CONFIG = 2             # set at run time for this broker (resource name = node id)
DYNAMIC_DEFAULT_BROKER_CONFIG = 3     # set at run time for every broker (resource name "")
STATIC_BROKER_CONFIG = 4              # server.properties or a command-line flag
DEFAULT_CONFIG = 5
GROUP_CONFIG = 8                      # a group's own value (resource type GROUP)

INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1
_RANGES = {SHORT: (-(2**15), 2**15 - 1), INT: (-(2**31), INT32_MAX), LONG: (-(2**63), INT64_MAX)}
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")


class InvalidValue(ValueError):
    """A value a key's type or range does not allow; the message is Kafka's wording."""


@dataclass(frozen=True)
class ConfigKey:
    name: str
    type: int
    doc: str
    default: str | None = None       # as DescribeConfigs shows it; None: no default
    dynamic: bool = False             # a broker key that may change at run time
    per_broker: bool = False          # ... only for one broker by id, not as the cluster default
    low: float | None = None          # the smallest value allowed (numbers)
    high: float | None = None
    choices: tuple[str, ...] = ()     # the values allowed (strings, and list items)
    value_of: Callable | None = None  # BrokerConfig -> the value kbroker runs with (str or None)

    @property
    def sensitive(self) -> bool:
        return self.type == PASSWORD

    def parse(self, value: str) -> str:
        """The value as Kafka shows it once parsed (trimmed, numbers canonical); InvalidValue if bad."""
        text = value.strip()
        kind = self.type
        if kind in _RANGES:
            low, high = _RANGES[kind]
            if not _INTEGER.match(text) or not low <= int(text) <= high:
                raise InvalidValue(self._invalid(value, f"Not a number of type {TYPE_NAMES[kind]}"))
            self._check_range(value, int(text))
            return str(int(text))
        if kind == DOUBLE:
            try:
                number = float(text)
            except ValueError:
                raise InvalidValue(self._invalid(value, "Not a number of type DOUBLE")) from None
            if not math.isfinite(number):
                raise InvalidValue(self._invalid(value, "Not a number of type DOUBLE"))
            self._check_range(value, number)
            return java_double(number)
        if kind == BOOLEAN:
            if text.lower() not in ("true", "false"):
                raise InvalidValue(self._invalid(value, "Expected value to be either true or false"))
            return text.lower()
        if kind == LIST:
            items = split_list(text)
            bad = [item for item in items if self.choices and item not in self.choices]
            if bad:
                raise InvalidValue(self._invalid(value, f"String must be one of: {', '.join(self.choices)}"))
            return ",".join(items)
        if self.choices and text not in self.choices:
            raise InvalidValue(self._invalid(value, f"String must be one of: {', '.join(self.choices)}"))
        return text

    def _check_range(self, value: str, number: float) -> None:
        if self.low is not None and number < self.low:
            raise InvalidValue(self._invalid(value, f"Value must be at least {_number(self.low)}"))
        if self.high is not None and number > self.high:
            raise InvalidValue(self._invalid(value, f"Value must be no more than {_number(self.high)}"))

    def _invalid(self, value: str, why: str) -> str:
        return f"Invalid value {value} for configuration {self.name}: {why}"


def split_list(text: str) -> list[str]:
    """A LIST value's items: comma separated, spaces around them dropped, empty text no items."""
    return [item.strip() for item in text.split(",")] if text.strip() else []


def java_double(number: float) -> str:
    """A double as Java prints it: ``0.5``, ``1.0``, ``1.0E-5``, ``1.2345678E7`` (the shortest digits)."""
    if number == 0 or 1e-3 <= abs(number) < 1e7:
        return repr(float(number))
    mantissa, _, exponent = repr(abs(float(number))).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    significant = digits.lstrip("0")
    power = len(whole) + int(exponent or 0) - (len(digits) - len(significant)) - 1
    significant = significant.rstrip("0") or "0"
    return f"{'-' if number < 0 else ''}{significant[0]}.{significant[1:] or '0'}E{power}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else java_double(value)


# -- the registries ------------------------------------------------------------------------------

TOPIC_CONFIGS: dict[str, ConfigKey] = {}
BROKER_CONFIGS: dict[str, ConfigKey] = {}
GROUP_CONFIGS: dict[str, ConfigKey] = {}
# topic key -> the broker keys that set its default, first wins, each with the factor to milliseconds
TOPIC_SYNONYMS: dict[str, tuple[tuple[str, int], ...]] = {}


def topic_config(name: str, type: int, doc: str, *, synonyms: list[tuple[str, int]] = ()) -> ConfigKey:
    """Describe a topic key (storage owns its default and its checks)."""
    if name in TOPIC_CONFIGS:
        raise ValueError(f"topic config {name} is already in the catalogue")
    key = TOPIC_CONFIGS[name] = ConfigKey(name, type, doc)
    if synonyms:
        TOPIC_SYNONYMS[name] = tuple(synonyms)
    return key


def broker_config(name: str, type: int, doc: str, **kwargs) -> ConfigKey:
    """Register a broker key (see ConfigKey for the keyword arguments)."""
    if name in BROKER_CONFIGS:
        raise ValueError(f"broker config {name} is already in the catalogue")
    key = BROKER_CONFIGS[name] = ConfigKey(name, type, doc, **kwargs)
    return key


def group_config(name: str, type: int, doc: str, **kwargs) -> ConfigKey:
    """Describe a group key (the group service owns its value and default)."""
    if name in GROUP_CONFIGS:
        raise ValueError(f"group config {name} is already in the catalogue")
    key = GROUP_CONFIGS[name] = ConfigKey(name, type, doc, **kwargs)
    return key


def broker_synonyms(name: str) -> list[str]:
    """The broker keys that set the same thing as ``name``, first wins (``log.roll.ms``, ``log.roll.hours``)."""
    for synonyms in TOPIC_SYNONYMS.values():
        names = [broker_name for broker_name, _ in synonyms]
        if len(names) > 1 and name in names:
            return names
    return [name]


HOURS, MINUTES = 3600000, 60000
MAX_LONG = str(INT64_MAX)

# -- topic keys ------------------------------------------------------------------------------------

topic_config("cleanup.policy", LIST, "What happens to old segments: delete them (delete), keep the newest "
             "record per key (compact), or both.", synonyms=[("log.cleanup.policy", 1)])
topic_config("compression.type", STRING, "The codec batches are stored in; 'producer' keeps the producer's.",
             synonyms=[("compression.type", 1)])
topic_config("compression.gzip.level", INT, "The gzip level when the broker compresses with gzip.",
             synonyms=[("compression.gzip.level", 1)])
topic_config("compression.lz4.level", INT, "The lz4 level when the broker compresses with lz4.",
             synonyms=[("compression.lz4.level", 1)])
topic_config("compression.zstd.level", INT, "The zstd level when the broker compresses with zstd.",
             synonyms=[("compression.zstd.level", 1)])
topic_config("delete.retention.ms", LONG, "How long a tombstone stays readable in a compacted topic.",
             synonyms=[("log.cleaner.delete.retention.ms", 1)])
topic_config("file.delete.delay.ms", LONG, "How long a deleted segment's files wait before they are removed.",
             synonyms=[("log.segment.delete.delay.ms", 1)])
topic_config("flush.messages", LONG, "Force the log to disk after this many messages.",
             synonyms=[("log.flush.interval.messages", 1)])
topic_config("flush.ms", LONG, "Force the log to disk after this much time.",
             synonyms=[("log.flush.interval.ms", 1), ("log.flush.scheduler.interval.ms", 1)])
topic_config("follower.replication.throttled.replicas", LIST, "Replicas whose follower traffic is throttled "
             "(partition:broker pairs, or *).")
topic_config("index.interval.bytes", INT, "Bytes of log between two entries of the offset index.",
             synonyms=[("log.index.interval.bytes", 1)])
topic_config("leader.replication.throttled.replicas", LIST, "Replicas whose leader traffic is throttled "
             "(partition:broker pairs, or *).")
topic_config("local.retention.bytes", LONG, "With tiered storage: bytes kept on local disk (-2: as retention.bytes).",
             synonyms=[("log.local.retention.bytes", 1)])
topic_config("local.retention.ms", LONG, "With tiered storage: time kept on local disk (-2: as retention.ms).",
             synonyms=[("log.local.retention.ms", 1)])
topic_config("max.compaction.lag.ms", LONG, "The longest a record may stay uncompacted.",
             synonyms=[("log.cleaner.max.compaction.lag.ms", 1)])
topic_config("max.message.bytes", INT, "The largest record batch the topic accepts.",
             synonyms=[("message.max.bytes", 1)])
topic_config("message.downconversion.enable", BOOLEAN, "Whether old consumers may get batches converted down.",
             synonyms=[("log.message.downconversion.enable", 1)])
topic_config("message.format.version", STRING, "The message format of old brokers (ignored by format v2).",
             synonyms=[("log.message.format.version", 1)])
topic_config("message.timestamp.after.max.ms", LONG, "How far in the future a record's timestamp may be.",
             synonyms=[("log.message.timestamp.after.max.ms", 1)])
topic_config("message.timestamp.before.max.ms", LONG, "How far in the past a record's timestamp may be.",
             synonyms=[("log.message.timestamp.before.max.ms", 1)])
topic_config("message.timestamp.difference.max.ms", LONG, "How far a record's timestamp may be from the "
             "broker's clock (older form of the two keys above).",
             synonyms=[("log.message.timestamp.difference.max.ms", 1)])
topic_config("message.timestamp.type", STRING, "CreateTime (the producer's timestamp) or LogAppendTime "
             "(the broker's clock on arrival).", synonyms=[("log.message.timestamp.type", 1)])
topic_config("min.cleanable.dirty.ratio", DOUBLE, "How much of a compacted log must be uncleaned before the "
             "cleaner works on it.", synonyms=[("log.cleaner.min.cleanable.ratio", 1)])
topic_config("min.compaction.lag.ms", LONG, "The shortest a record stays uncompacted.",
             synonyms=[("log.cleaner.min.compaction.lag.ms", 1)])
topic_config("min.insync.replicas", INT, "Replicas that must have a write for acks=all to succeed.",
             synonyms=[("min.insync.replicas", 1)])
topic_config("preallocate", BOOLEAN, "Whether new segment files are allocated in full up front.",
             synonyms=[("log.preallocate", 1)])
topic_config("remote.log.copy.disable", BOOLEAN, "With tiered storage: stop copying segments to remote storage.")
topic_config("remote.log.delete.on.disable", BOOLEAN, "With tiered storage: delete remote data when it is "
             "turned off.")
topic_config("remote.storage.enable", BOOLEAN, "Whether the topic uses tiered storage.")
topic_config("retention.bytes", LONG, "The size a partition may grow to before old segments are deleted "
             "(-1: no limit).", synonyms=[("log.retention.bytes", 1)])
topic_config("retention.ms", LONG, "How long records are kept before their segment is deleted (-1: forever).",
             synonyms=[("log.retention.ms", 1), ("log.retention.minutes", MINUTES), ("log.retention.hours", HOURS)])
topic_config("segment.bytes", INT, "The size of a segment file; a new segment starts when it is full.",
             synonyms=[("log.segment.bytes", 1)])
topic_config("segment.index.bytes", INT, "The size of a segment's offset index.",
             synonyms=[("log.index.size.max.bytes", 1)])
topic_config("segment.jitter.ms", LONG, "A random amount taken off segment.ms, so segments do not all roll "
             "at once.", synonyms=[("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", HOURS)])
topic_config("segment.ms", LONG, "How long a segment stays open before a new one starts, even if not full.",
             synonyms=[("log.roll.ms", 1), ("log.roll.hours", HOURS)])
topic_config("unclean.leader.election.enable", BOOLEAN, "Whether a replica that is not in sync may become "
             "leader, at the cost of lost records.", synonyms=[("unclean.leader.election.enable", 1)])


# -- group keys ------------------------------------------------------------------------------------
# A group's own value of each, else the broker's group.* setting. The lower bounds are the ones
# Kafka's GroupConfig parses with; the service checks the rest (the broker's min and max).

group_config("consumer.session.timeout.ms", INT, "How long a member of this consumer group (KIP-848) may go "
             "without a heartbeat before it is removed (default: group.consumer.session.timeout.ms).", low=1)
group_config("consumer.heartbeat.interval.ms", INT, "How often the members of this consumer group (KIP-848) "
             "are told to heartbeat (default: group.consumer.heartbeat.interval.ms).", low=1)
group_config("share.session.timeout.ms", INT, "How long a member of this share group may go without a "
             "heartbeat before it is removed (default: group.share.session.timeout.ms).", low=1)
group_config("share.heartbeat.interval.ms", INT, "How often the members of this share group are told to "
             "heartbeat (default: group.share.heartbeat.interval.ms).", low=1)
group_config("share.record.lock.duration.ms", INT, "How long a share consumer holds the records it was given "
             "before they go back to the group (default: group.share.record.lock.duration.ms).", low=1000)
group_config("share.delivery.count.limit", INT, "How many times a record is delivered before it is archived "
             "as undeliverable (default: group.share.delivery.count.limit).", low=2)
group_config("share.partition.max.record.locks", INT, "The most records of one partition the group's members "
             "may hold at once (default: group.share.partition.max.record.locks).", low=100)
group_config("share.auto.offset.reset", STRING, "Where a share group starts reading a partition it has no "
             "state for: latest, earliest, or by_duration:<ISO-8601 duration> back from now.")
group_config("share.isolation.level", STRING, "read_committed: the share group delivers only committed "
             "transactional records; read_uncommitted: every record.",
             choices=("read_committed", "read_uncommitted"))


# -- broker keys -----------------------------------------------------------------------------------

def _listeners(config) -> str:
    return ",".join(f"{listener.name}://{listener.host}:{listener.port}" for listener in config.listeners())


def _advertised(config) -> str | None:
    listeners = config.listeners()
    if all(listener.advertised_host is None and listener.advertised_port is None for listener in listeners):
        return None
    return ",".join("{}://{}:{}".format(listener.name, *listener.advertised) for listener in listeners)


def _protocol_map(config) -> str | None:
    return config.listener_properties.get("listener.security.protocol.map")


def _security(name: str, default: str | None = None):
    """The value of a security key as server.properties (or a flag) set it."""
    return lambda config: config.security_properties.get(name, default)


def _bool(value: bool) -> str:
    return "true" if value else "false"


broker_config("broker.id", INT, "This broker's id (the same as node.id).", default="-1",
              value_of=lambda config: str(config.node_id))
broker_config("node.id", INT, "This broker's id in the cluster.", default="-1",
              value_of=lambda config: str(config.node_id))
broker_config("listeners", STRING, "The addresses the broker listens on, NAME://host:port each.", dynamic=True,
              per_broker=True, value_of=_listeners)
broker_config("advertised.listeners", STRING, "The addresses given to clients in Metadata, when they differ "
              "from listeners.", dynamic=True, per_broker=True, value_of=_advertised)
broker_config("log.dirs", STRING, "The directory that holds the log (none: the log is in memory).",
              value_of=lambda config: None if config.data_dir is None else str(config.data_dir))
broker_config("num.partitions", INT, "Partitions of a topic created without a count (and of auto-created "
              "topics).", low=1, value_of=lambda config: str(config.num_partitions))
broker_config("default.replication.factor", INT, "Replication factor of a topic created without one.",
              value_of=lambda config: str(config.default_replication_factor))
broker_config("auto.create.topics.enable", BOOLEAN, "Whether a topic is created when a client first names it.",
              value_of=lambda config: _bool(config.auto_create_topics))
broker_config("delete.topic.enable", BOOLEAN, "Whether topics may be deleted.", default="true")
broker_config("socket.request.max.bytes", INT, "The largest request the broker reads; a larger one closes "
              "the connection.", low=1, value_of=lambda config: str(config.socket_request_max_bytes))
broker_config("max.connections", INT, "The most client connections at once; a new one beyond it is closed at "
              "once.", low=0, value_of=lambda config: str(config.max_connections))
broker_config("max.connections.per.ip", INT, "The most connections at once from one client address; a new one "
              "beyond it is closed at once.", low=0, value_of=lambda config: str(config.max_connections_per_ip))
broker_config("quota.window.num", INT, "The number of samples a client quota's rate is measured over.", low=1,
              value_of=lambda config: str(config.quota_window_num))
broker_config("quota.window.size.seconds", INT, "The time span of each sample of a client quota's rate.", low=1,
              value_of=lambda config: str(config.quota_window_size_seconds))
broker_config("controller.quota.window.num", INT, "The number of samples a controller mutation quota's token "
              "bucket holds (its burst is this many samples' worth).", low=1,
              value_of=lambda config: str(config.controller_quota_window_num))
broker_config("controller.quota.window.size.seconds", INT, "The time span of each sample of a controller "
              "mutation quota.", low=1, value_of=lambda config: str(config.controller_quota_window_size_seconds))
broker_config("max.connection.creation.rate", INT, "The most new connections a second the broker accepts; "
              "beyond it, accepting the next waits until the rate allows it.", low=0,
              value_of=lambda config: str(config.max_connection_creation_rate))
broker_config("message.max.bytes", INT, "The largest record batch a topic accepts unless it sets "
              "max.message.bytes.", default="1048588", dynamic=True, low=0)

broker_config("log.segment.bytes", INT, "The size of a segment file, for topics that do not set segment.bytes.",
              default="1073741824", dynamic=True, low=14)
broker_config("log.roll.ms", LONG, "How long a segment stays open, for topics that do not set segment.ms "
              "(wins over log.roll.hours).", dynamic=True, low=1)
broker_config("log.roll.hours", INT, "How long a segment stays open, in hours.", default="168", low=1)
broker_config("log.roll.jitter.ms", LONG, "The default segment.jitter.ms (wins over log.roll.jitter.hours).",
              dynamic=True, low=0)
broker_config("log.roll.jitter.hours", INT, "The default segment jitter, in hours.", default="0", low=0)
broker_config("log.retention.ms", LONG, "How long records are kept, for topics that do not set retention.ms "
              "(wins over the minutes and hours forms; -1: forever).", dynamic=True)
broker_config("log.retention.minutes", INT, "How long records are kept, in minutes (wins over hours).")
broker_config("log.retention.hours", INT, "How long records are kept, in hours.", default="168")
broker_config("log.retention.bytes", LONG, "The size a partition may grow to, for topics that do not set "
              "retention.bytes (-1: no limit).", default="-1", dynamic=True)
broker_config("log.retention.check.interval.ms", LONG, "How often old segments are looked for and deleted.",
              default="300000", low=1)
broker_config("log.index.interval.bytes", INT, "The default index.interval.bytes.", default="4096", dynamic=True,
              low=0)
broker_config("log.index.size.max.bytes", INT, "The default segment.index.bytes.", default="10485760",
              dynamic=True, low=4)
broker_config("log.message.timestamp.type", STRING, "The default message.timestamp.type.", default="CreateTime",
              dynamic=True, choices=("CreateTime", "LogAppendTime"))
broker_config("log.message.timestamp.before.max.ms", LONG, "The default message.timestamp.before.max.ms.",
              default=MAX_LONG, dynamic=True, low=0)
broker_config("log.message.timestamp.after.max.ms", LONG, "The default message.timestamp.after.max.ms.",
              default=MAX_LONG, dynamic=True, low=0)
broker_config("log.cleanup.policy", LIST, "The default cleanup.policy.", default="delete", dynamic=True,
              choices=("compact", "delete"))
broker_config("log.cleaner.enable", BOOLEAN, "Whether compacted topics are cleaned.", default="true")
broker_config("log.cleaner.threads", INT, "Threads that clean compacted topics.", default="1", dynamic=True,
              low=0)
broker_config("log.cleaner.backoff.ms", LONG, "How long the cleaner sleeps when there is nothing to clean.",
              default="15000", dynamic=True, low=0)
broker_config("log.cleaner.delete.retention.ms", LONG, "The default delete.retention.ms.", default="86400000",
              dynamic=True, low=0)
broker_config("log.cleaner.min.compaction.lag.ms", LONG, "The default min.compaction.lag.ms.", default="0",
              dynamic=True, low=0)
broker_config("log.cleaner.max.compaction.lag.ms", LONG, "The default max.compaction.lag.ms.", default=MAX_LONG,
              dynamic=True, low=1)
broker_config("log.cleaner.min.cleanable.ratio", DOUBLE, "The default min.cleanable.dirty.ratio.", default="0.5",
              dynamic=True, low=0, high=1)
broker_config("log.cleaner.dedupe.buffer.size", LONG, "Memory for the cleaner's map of keys to their newest "
              "offsets (24 bytes a key).", default="134217728", dynamic=True, low=0)
broker_config("log.cleaner.io.buffer.load.factor", DOUBLE, "How full the cleaner's key map may get.",
              default="0.9", dynamic=True, low=0, high=1)
broker_config("log.flush.start.offset.checkpoint.interval.ms", INT, "How often log-start-offset-checkpoint is "
              "written.", default="60000", low=0)
broker_config("producer.id.expiration.ms", INT, "How long an idle producer's sequence state is kept.",
              default="86400000", dynamic=True, low=1)
broker_config("producer.id.expiration.check.interval.ms", INT, "How often idle producers are looked for.",
              default="600000", low=1)
broker_config("log.segment.delete.delay.ms", LONG, "The default file.delete.delay.ms.", default="60000",
              dynamic=True, low=0)
broker_config("log.flush.interval.messages", LONG, "The default flush.messages.", default=MAX_LONG, dynamic=True,
              low=1)
broker_config("log.flush.interval.ms", LONG, "The default flush.ms (unset: log.flush.scheduler.interval.ms).",
              dynamic=True, low=0)
broker_config("log.flush.scheduler.interval.ms", LONG, "How often logs are checked for a time-based flush.",
              default=MAX_LONG)
broker_config("log.preallocate", BOOLEAN, "The default preallocate.", default="false", dynamic=True)
broker_config("compression.type", STRING, "The default compression.type.", default="producer", dynamic=True,
              choices=("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"))
broker_config("min.insync.replicas", INT, "The default min.insync.replicas.", default="1", dynamic=True, low=1)
broker_config("unclean.leader.election.enable", BOOLEAN, "The default unclean.leader.election.enable.",
              default="false", dynamic=True)

broker_config("group.initial.rebalance.delay.ms", INT, "How long a new group waits for more members before "
              "its first rebalance.", value_of=lambda config: str(config.groups.group_initial_rebalance_delay_ms))
broker_config("group.min.session.timeout.ms", INT, "The shortest session timeout a group member may ask for.",
              value_of=lambda config: str(config.groups.group_min_session_timeout_ms))
broker_config("group.max.session.timeout.ms", INT, "The longest session timeout a group member may ask for.",
              value_of=lambda config: str(config.groups.group_max_session_timeout_ms))
broker_config("group.max.size", INT, "The most members a group may have.", low=1,
              value_of=lambda config: str(config.groups.group_max_size))
broker_config("offsets.retention.minutes", INT, "How long the committed offsets of an empty group are kept.",
              low=1, value_of=lambda config: str(config.groups.offsets_retention_minutes))
broker_config("offsets.retention.check.interval.ms", LONG, "How often expired committed offsets are looked for.",
              low=1, value_of=lambda config: str(config.groups.offsets_retention_check_interval_ms))
broker_config("offsets.topic.num.partitions", INT, "Partitions of __consumer_offsets (fixed once it exists).",
              low=1, value_of=lambda config: str(config.groups.offsets_topic_num_partitions))
broker_config("offsets.topic.replication.factor", SHORT, "Replication factor of __consumer_offsets (one "
              "broker: 1).", default="1", low=1)

# -- security --------------------------------------------------------------------------------------
# Each may also be set per listener as listener.name.<listener>.<key> (shown as such, sensitive).

DEFAULT_PROTOCOL_MAP = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
broker_config("listener.security.protocol.map", STRING, "The security protocol of each listener name.",
              default=DEFAULT_PROTOCOL_MAP, value_of=lambda config: _protocol_map(config) or DEFAULT_PROTOCOL_MAP)
for _name, _type, _doc, _default in [
    ("ssl.keystore.type", STRING, "The format of the broker's key and certificate: PEM.", "PEM"),
    ("ssl.keystore.location", STRING, "A PEM file with the broker's private key and certificate chain.", None),
    ("ssl.keystore.password", PASSWORD, "The keystore's password (not used by PEM files).", None),
    ("ssl.keystore.certificate.chain", PASSWORD, "The broker's certificate chain, as PEM text.", None),
    ("ssl.keystore.key", PASSWORD, "The broker's private key, as PEM text.", None),
    ("ssl.key.password", PASSWORD, "The password of an encrypted private key.", None),
    ("ssl.truststore.type", STRING, "The format of the trusted certificates: PEM.", "PEM"),
    ("ssl.truststore.location", STRING, "A PEM file with the certificates client certificates must chain to.", None),
    ("ssl.truststore.password", PASSWORD, "The truststore's password (not used by PEM files).", None),
    ("ssl.truststore.certificates", PASSWORD, "The trusted certificates, as PEM text.", None),
    ("ssl.client.auth", STRING, "Whether TLS clients must (required), may (requested) or need not (none) "
     "present a certificate.", "none"),
    ("ssl.principal.mapping.rules", STRING, "Rules from a client certificate's subject to a user name.", "DEFAULT"),
    ("ssl.enabled.protocols", LIST, "The TLS versions accepted.", "TLSv1.2,TLSv1.3"),
    ("sasl.enabled.mechanisms", LIST, "The SASL mechanisms offered.", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"),
    ("sasl.jaas.config", PASSWORD, "JAAS login module settings (PLAIN users, OAUTHBEARER validator options).", None),
    ("sasl.server.callback.handler.class", CLASS, "An OAUTHBEARER token validator (a Python callable).", None),
    ("sasl.server.max.receive.size", INT, "The largest frame read before a client has authenticated.", "524288"),
    ("connections.max.reauth.ms", LONG, "How long an authenticated SASL session lasts before the client must "
     "re-authenticate (0: forever).", "0"),
    ("connection.failed.authentication.delay.ms", INT, "How long the answer to a failed authentication is "
     "delayed.", "100"),
    ("authorizer.class.name", STRING, "Turns the ACL authorizer on when set.", ""),
    ("super.users", STRING, "Principals allowed everything, separated by ';'.", None),
    ("allow.everyone.if.no.acl.found", BOOLEAN, "Whether a resource without any ACL is open to all.", "false"),
]:
    broker_config(_name, _type, _doc, default=_default, value_of=_security(_name, _default))

# -- the HTTP port (broker/web/) and client telemetry (KIP-714) --------------------------------------

broker_config("http.listeners", STRING, "Where the web console, /metrics and the admin endpoints are served "
              "(HTTP://host:port; none: off).",
              value_of=lambda config: None if config.http_port is None else f"HTTP://{config.http_host}:{config.http_port}")
broker_config("http.allow.remote", BOOLEAN, "Whether the HTTP port may listen beyond loopback (its endpoints "
              "change the broker).", value_of=lambda config: _bool(config.http_allow_remote))
broker_config("http.lag.sample.interval.ms", INT, "How often the console records each group's lag for its chart.",
              low=1, value_of=lambda config: str(config.http_lag_sample_ms))
broker_config("telemetry.push.interval.ms", INT, "How often clients push their metrics (KIP-714) while the HTTP "
              "port is on.", low=1, value_of=lambda config: str(config.telemetry_push_interval_ms))
broker_config("telemetry.max.bytes", INT, "The largest metrics push a client may send.", low=1,
              value_of=lambda config: str(config.telemetry_max_bytes))
