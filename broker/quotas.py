"""Client quotas, as Kafka keeps and enforces them.

Quotas are set on entities: a user (the principal's name, "ANONYMOUS" on a plaintext
listener), a client id, both together, or an IP; a null name is that type's default.
``ClientQuotas`` keeps them (``<data_dir>/kbroker-client-quotas.json``, replaced atomically
on each change; in a cluster they live in ZooKeeper, broker/cluster/client_configs.py, and
the file follows them) and answers DescribeClientQuotas and AlterClientQuotas with Kafka's
validation and filter rules.

``ByteRateQuotas`` enforces ``producer_byte_rate`` and ``consumer_byte_rate``: each request's
bytes are recorded in a rate over ``quota.window.num`` samples of ``quota.window.size.seconds``
(Kafka's Rate: at least the span of all samples but one), and when the rate goes over the
quota the client is told to wait (``throttle_time_ms``) as long as the rate needs to come back
to it, and its connection is muted that long. Which quota applies, and which clients share
it, follows Kafka's order: <user, client-id>, <user, default client-id>, <user>, <default
user, client-id>, <default user, default client-id>, <default user>, <client-id>, <default
client-id>.

``RequestQuotas`` enforces ``request_percentage`` the same way, on the time the broker spends
on a client's requests (a percentage of one thread); ``MutationQuotas`` enforces
``controller_mutation_rate`` on the partitions CreateTopics, CreatePartitions and DeleteTopics
create or delete (Kafka's token bucket; recent versions are refused THROTTLING_QUOTA_EXCEEDED
over it, older ones throttled); ``ConnectionRates`` enforces ``connection_creation_rate`` per
client IP and ``max.connection.creation.rate`` broker-wide on new connections.
"""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path

from broker.clock import now_ms
from broker.security import persist
from kproto.errors import ErrorCode

FILE = "kbroker-client-quotas.json"
USER, CLIENT_ID, IP = "user", "client-id", "ip"
PRODUCE, FETCH = "producer_byte_rate", "consumer_byte_rate"
REQUEST, MUTATION, CONNECTION = "request_percentage", "controller_mutation_rate", "connection_creation_rate"

# key -> its type, for user and client-id entities, and for IP entities (Kafka's QuotaConfig)
USER_CLIENT_KEYS = {PRODUCE: "long", FETCH: "long", REQUEST: "double", MUTATION: "double"}
IP_KEYS = {CONNECTION: "int"}
_LIMITS = {"int": 2**31 - 1, "long": 2**63 - 1}
MATCH_EXACT, MATCH_DEFAULT, MATCH_SPECIFIED = 0, 1, 2

Entity = tuple[tuple[str, str | None], ...]   # sorted (type, name) pairs


class QuotaError(Exception):
    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code


def _entity(pairs: list[dict]) -> tuple[Entity, dict[str, str | None]]:
    """A request's entity, validated (Kafka's ClientQuotaControlManager.validateEntity)."""
    if not pairs:
        raise QuotaError(ErrorCode.INVALID_REQUEST, "Invalid empty client quota entity")
    names: dict[str, str | None] = {}
    for pair in pairs:
        kind, name = pair["entity_type"], pair["entity_name"]
        if kind in names:
            raise QuotaError(ErrorCode.INVALID_REQUEST, f"Invalid client quota entity, duplicate entity entry {kind}")
        if kind not in (USER, CLIENT_ID, IP):
            raise QuotaError(ErrorCode.INVALID_REQUEST, f"Unhandled client quota entity type: {kind}")
        if name is not None and not name:
            raise QuotaError(ErrorCode.INVALID_REQUEST, f"Empty {kind} not supported")
        names[kind] = name
    return tuple(sorted(names.items(), key=lambda kv: kv[0])), names


def _keys_for(names: dict[str, str | None]) -> dict[str, str]:
    if IP in names:
        if len(names) > 1:
            raise QuotaError(ErrorCode.INVALID_REQUEST,
                             "Invalid quota entity combination, IP entity should not be combined with User or ClientId")
        if names[IP] is not None:
            try:
                ipaddress.ip_address(names[IP])
            except ValueError:
                raise QuotaError(ErrorCode.INVALID_REQUEST,
                                 f"{names[IP]} is not a valid IP or resolvable host.") from None
        return IP_KEYS
    return USER_CLIENT_KEYS


def _check_value(keys: dict[str, str], key: str, value: float) -> None:
    kind = keys.get(key)
    if kind is None:
        raise QuotaError(ErrorCode.INVALID_REQUEST, f"Invalid configuration key {key}")
    if not value > 0.0:
        raise QuotaError(ErrorCode.INVALID_REQUEST, f"Quota {key} must be greater than 0")
    if kind in _LIMITS:
        if value > _LIMITS[kind]:
            raise QuotaError(ErrorCode.INVALID_REQUEST,
                             f"Proposed value for {key} is too large for {'an INT' if kind == 'int' else 'a LONG'}.")
        if abs(math.fmod(value, 1.0)) > 1e-6:
            raise QuotaError(ErrorCode.INVALID_REQUEST, f"{key} cannot be a fractional value.")


class ClientQuotas:
    """Every quota set, by entity, kept on disk."""

    def __init__(self, data_dir: Path | None):
        self.path = None if data_dir is None else Path(data_dir) / FILE
        self.quotas: dict[Entity, dict[str, float]] = {}
        self.version = 0   # moves on every change: enforcement looks quotas up again
        for entry in (persist.load(self.path) or {}).get("quotas", []):
            entity = tuple((kind, name) for kind, name in entry["entity"])
            self.quotas[entity] = {key: float(value) for key, value in entry["values"].items()}
        self._enable()

    def _enable(self) -> None:
        """Which kinds of quota are set at all: a kind none is set for costs its path nothing."""
        keys = {key for values in self.quotas.values() for key in values}
        self.byte_rates = PRODUCE in keys or FETCH in keys   # whether produce and fetch need to look at all
        self.request_rates = REQUEST in keys                 # whether requests are timed
        self.mutation_rates = MUTATION in keys               # whether topic changes are counted
        self.connection_rates = CONNECTION in keys           # whether new connections are counted per IP
        self.throttles = self.byte_rates or self.request_rates or self.mutation_rates   # an answer may mute

    def _save(self) -> None:
        persist.save(self.path, {"quotas": [{"entity": [list(pair) for pair in entity], "values": values}
                                            for entity, values in self.quotas.items()]})

    def get(self, entity: Entity, key: str) -> float | None:
        values = self.quotas.get(entity)
        return None if values is None else values.get(key)

    # -- DescribeClientQuotas ---------------------------------------------------------------------

    def describe(self, components: list[dict], strict: bool) -> list[dict]:
        """The entries matching a filter (Kafka's ClientQuotasImage.describe); QuotaError for a bad one."""
        exact: dict[str, str | None] = {}
        specified: set[str] = set()
        for c in components:
            kind, match = c["entity_type"], c["match"]
            if not kind:
                raise QuotaError(ErrorCode.INVALID_REQUEST, "Invalid empty entity type.")
            if kind in exact or kind in specified:
                raise QuotaError(ErrorCode.INVALID_REQUEST,
                                 f"Entity type {kind} cannot appear more than once in the filter.")
            if kind not in (USER, CLIENT_ID, IP):
                raise QuotaError(ErrorCode.UNSUPPORTED_VERSION, f"Unsupported entity type {kind}")
            if c["match_type"] == MATCH_EXACT:
                if match is None:
                    raise QuotaError(ErrorCode.INVALID_REQUEST,
                                     "Request specified MATCH_TYPE_EXACT, but set match string to null.")
                exact[kind] = match
            elif c["match_type"] == MATCH_DEFAULT:
                if match is not None:
                    raise QuotaError(ErrorCode.INVALID_REQUEST,
                                     "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.")
                exact[kind] = None
            elif c["match_type"] == MATCH_SPECIFIED:
                if match is not None:
                    raise QuotaError(ErrorCode.INVALID_REQUEST,
                                     "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.")
                specified.add(kind)
            else:
                raise QuotaError(ErrorCode.INVALID_REQUEST, f"Unknown match type {c['match_type']}")
        if (IP in exact or IP in specified) and ({USER, CLIENT_ID} & (set(exact) | specified)):
            raise QuotaError(ErrorCode.INVALID_REQUEST, "Invalid entity filter component combination. IP filter "
                             "component should not be used with user or clientId filter component.")
        out = []
        for entity, values in self.quotas.items():
            names = dict(entity)
            if strict and len(names) != len(exact) + len(specified):
                continue
            if any(kind not in names or names[kind] != name for kind, name in exact.items()):
                continue
            if any(kind not in names for kind in specified):
                continue
            out.append({"entity": [{"entity_type": kind, "entity_name": name} for kind, name in entity],
                        "values": [{"key": key, "value": value} for key, value in sorted(values.items())]})
        return out

    # -- AlterClientQuotas ------------------------------------------------------------------------

    def alter(self, entries: list[dict], validate_only: bool) -> list[dict]:
        """Apply each entry's ops (all of an entry or none of it); the per-entry results."""
        results, changed, seen = [], False, set()
        for entry in entries:
            result = {"error_code": ErrorCode.NONE, "error_message": None, "entity": entry["entity"]}
            results.append(result)
            try:
                entity, names = _entity(entry["entity"])
                if entity in seen:
                    raise QuotaError(ErrorCode.INVALID_REQUEST, f"Ignoring duplicate entity {dict(entity)}")
                seen.add(entity)
                keys = _keys_for(names)
                ops: dict[str, float | None] = {}
                for op in entry["ops"]:
                    if op["key"] in ops:
                        raise QuotaError(ErrorCode.INVALID_REQUEST, f"Duplicate quota key {op['key']} not "
                                         f"updating quota for this entity {dict(entity)}")
                    ops[op["key"]] = None if op["remove"] else op["value"]
                for key, value in ops.items():
                    if value is not None:
                        _check_value(keys, key, value)
            except QuotaError as exc:
                result.update(error_code=exc.code, error_message=str(exc))
                continue
            if validate_only:
                continue
            values = dict(self.quotas.get(entity, {}))
            for key, value in ops.items():
                if value is None:
                    values.pop(key, None)
                else:
                    values[key] = float(value)
            if values != self.quotas.get(entity, {}):
                changed = True
                if values:
                    self.quotas[entity] = values
                else:
                    self.quotas.pop(entity, None)
        if changed:
            self._changed()
        return results

    # -- kept elsewhere (cluster mode: ZooKeeper) ---------------------------------------------------

    def replace(self, quotas: dict[Entity, dict[str, float]]) -> None:
        """Make ``quotas`` every quota there is (the cluster's, loaded from ZooKeeper)."""
        quotas = {entity: dict(values) for entity, values in quotas.items() if values}
        if quotas != self.quotas:
            self.quotas = quotas
            self._changed()

    def replace_entity(self, entity: Entity, values: dict[str, float]) -> None:
        """Make ``values`` an entity's quotas (none: it has none), as ZooKeeper holds them now."""
        if values != self.quotas.get(entity, {}):
            if values:
                self.quotas[entity] = dict(values)
            else:
                self.quotas.pop(entity, None)
            self._changed()

    def _changed(self) -> None:
        self._save()
        self.version += 1
        self._enable()


# -- enforcement ----------------------------------------------------------------------------------

class Rate:
    """Kafka's sampled Rate: the sum over the kept samples, per second of the window they span."""

    __slots__ = ("samples", "sample_ms", "count")

    def __init__(self, samples: int, sample_ms: int):
        self.samples: list[list[float]] = []   # [window start ms, value], oldest first
        self.sample_ms = sample_ms
        self.count = samples

    def record(self, value: float, now_ms: int) -> None:
        if not self.samples or now_ms - self.samples[-1][0] >= self.sample_ms:
            self.samples.append([now_ms, 0.0])
            del self.samples[:-self.count]
        self.samples[-1][1] += value

    def window_ms(self, now_ms: int) -> float:
        self._purge(now_ms)
        elapsed = now_ms - (self.samples[0][0] if self.samples else now_ms)
        full = int(elapsed // self.sample_ms)
        if full < self.count - 1:
            elapsed += (self.count - 1 - full) * self.sample_ms
        return elapsed

    def per_second(self, now_ms: int) -> float:
        window_ms = self.window_ms(now_ms)
        return sum(value for _, value in self.samples) * 1000 / window_ms if window_ms > 0 else 0.0

    def _purge(self, now_ms: int) -> None:
        expire_age = self.count * self.sample_ms
        while self.samples and now_ms - self.samples[0][0] >= expire_age:
            self.samples.pop(0)


def user_of(principal: str) -> str:
    """The user a quota names: the principal's name ("User:alice" -> "alice", "ANONYMOUS" on a
    plaintext listener)."""
    return principal.partition(":")[2] or principal


# Versions from which the client waits out a throttle itself (KIP-219): the broker answers at
# once and then reads nothing more from the connection for that long. Older versions get the
# answer only after the wait.
CLIENT_THROTTLES_FROM = {"Produce": 6, "Fetch": 8}


class RateQuotas:
    """One user and client-id quota key enforced per Kafka's entity order, over Kafka's Rate."""

    def __init__(self, store: ClientQuotas, key: str, samples: int = 11, sample_s: int = 1,
                 max_throttle_ms: int | None = None):
        self._store = store
        self._key = key
        self._samples, self._sample_ms = samples, sample_s * 1000
        self._max_throttle_ms = max_throttle_ms
        self._rates: dict[tuple[str, str], Rate] = {}
        self._resolved: dict[tuple[str, str], tuple[tuple[str, str], float | None]] = {}
        self._version = -1

    def _quota(self, user: str, client_id: str) -> tuple[tuple[str, str], float | None]:
        """The (user tag, client-id tag) clients share a rate under, and the quota (None: none)."""
        if self._version != self._store.version:
            self._resolved.clear()
            self._version = self._store.version
        found = self._resolved.get((user, client_id))
        if found is not None:
            return found
        found = self._resolved[(user, client_id)] = client_quota(self._store, self._key, user, client_id)
        return found

    def record(self, user: str, client_id: str, value: float, now_ms: int) -> int:
        """Record ``value``; the throttle time in ms (0 within the quota)."""
        tags, quota = self._quota(user, client_id)
        if quota is None:
            return 0
        rate = self._rates.get(tags)
        if rate is None:
            rate = self._rates[tags] = Rate(self._samples, self._sample_ms)
        rate.record(value, now_ms)
        observed = rate.per_second(now_ms)
        if observed <= quota:
            return 0
        throttle_ms = round((observed - quota) / quota * rate.window_ms(now_ms))
        return throttle_ms if self._max_throttle_ms is None else min(throttle_ms, self._max_throttle_ms)


def client_quota(store: ClientQuotas, key: str, user: str,
                 client_id: str) -> tuple[tuple[str, str], float | None]:
    """The quota ``key`` of a client, by Kafka's order (DefaultQuotaCallback), with the (user tag,
    client-id tag) of the clients that share one rate under it."""
    get = store.get
    levels = (  # (entity, the clients sharing one rate)
        ((("client-id", client_id), ("user", user)), (user, client_id)),
        ((("client-id", None), ("user", user)), (user, client_id)),
        ((("user", user),), (user, "")),
        ((("client-id", client_id), ("user", None)), (user, client_id)),
        ((("client-id", None), ("user", None)), (user, client_id)),
        ((("user", None),), (user, "")),
        ((("client-id", client_id),), ("", client_id)),
        ((("client-id", None),), ("", client_id)),
    )
    for entity, tags in levels:
        quota = get(entity, key)
        if quota is not None:
            return tags, quota
    return ("", client_id), None


class ByteRateQuotas(RateQuotas):
    """``producer_byte_rate`` or ``consumer_byte_rate``: a request's record bytes."""

    def max_bytes_in_window(self, user: str, client_id: str) -> int | None:
        """The most one request may take without being throttled for sure (Kafka's
        getMaxValueInQuotaWindow): a fetch's bytes are bounded by it. None: no quota."""
        _, quota = self._quota(user, client_id)
        return None if quota is None else int(quota * (self._samples - 1) * self._sample_ms / 1000)

    def unrecord(self, user: str, client_id: str, size: int, now_ms: int) -> None:
        """Take back bytes recorded for an answer that is not sent (a throttled fetch is empty)."""
        tags, quota = self._quota(user, client_id)
        rate = self._rates.get(tags)
        if rate is not None:
            rate.record(-size, now_ms)


# -- request_percentage ------------------------------------------------------------------------------

# Requests a client's request quota leaves alone, as Kafka exempts them: the cluster's own calls
# (ClusterAction APIs), and the SASL exchange (Kafka's network layer answers it, not its request
# threads). A produce with acks=0 and a replica's fetch are exempt too (``request_exempt``).
REQUEST_EXEMPT_KEYS = frozenset({
    4,    # LeaderAndIsr
    5,    # StopReplica
    6,    # UpdateMetadata
    7,    # ControlledShutdown
    17,   # SaslHandshake
    27,   # WriteTxnMarkers
    36,   # SaslAuthenticate
    56,   # AlterPartition
})


def request_exempt(api_key: int, api_version: int, request: dict) -> bool:
    """Whether a request is not counted against ``request_percentage``."""
    if api_key in REQUEST_EXEMPT_KEYS:
        return True
    if api_key == 0:    # Produce: acks=0 has no answer to carry a throttle (Kafka leaves it out)
        return request["acks"] == 0
    if api_key == 1:    # Fetch: a replica's
        return (request["replica_state"]["replica_id"] if api_version >= 15 else request["replica_id"]) >= 0
    return False


class RequestQuotas(RateQuotas):
    """``request_percentage``: the time the broker spends on a client's requests, as a percentage
    of one thread (Kafka's ClientRequestQuotaManager: 100 is one thread's whole time). A request
    over it is answered with the throttle time, bounded by one sample's span
    (``quota.window.size.seconds``), and its connection is muted that long."""

    def __init__(self, store: ClientQuotas, samples: int = 11, sample_s: int = 1):
        super().__init__(store, REQUEST, samples, sample_s, max_throttle_ms=sample_s * 1000)

    def record_ns(self, user: str, client_id: str, spent_ns: int, now_ms: int) -> int:
        return self.record(user, client_id, spent_ns * 1e-7, now_ms)   # ns -> percent of a second


# -- controller_mutation_rate -------------------------------------------------------------------------

THROTTLED_MESSAGE = "The throttling quota has been exceeded."

# The versions from which a mutation over the quota is refused (THROTTLING_QUOTA_EXCEEDED, KIP-599);
# older clients cannot know that error: their mutations are made and they are throttled.
STRICT_FROM = {"CreateTopics": 6, "DeleteTopics": 5, "CreatePartitions": 3}


class TokenBucket:
    """Kafka's TokenBucket: credits refill at the quota a second, up to a burst of
    samples * sample span * quota; the quota is exhausted while the credits are below zero."""

    __slots__ = ("tokens", "updated_ms")

    def __init__(self, burst: float, now_ms: int):
        self.tokens, self.updated_ms = burst, now_ms    # full to begin with

    def refill(self, quota: float, burst: float, now_ms: int) -> float:
        self.tokens = min(burst, self.tokens + quota * (now_ms - self.updated_ms) / 1000)
        self.updated_ms = now_ms
        return self.tokens


class MutationQuota:
    """One request's view of a client's ``controller_mutation_rate`` (Kafka's
    ControllerMutationQuota). Strict (from STRICT_FROM): once the credits are spent, a topic is
    refused (``record`` returns False) until they are back; a topic taken while some are left is
    taken whole, even when that spends more than is left. Permissive (older versions): every topic
    is taken, and the client is throttled as long as the credits need to come back."""

    __slots__ = ("bucket", "quota", "burst", "strict", "throttle_ms", "recorded_ms")

    def __init__(self, bucket: TokenBucket | None, quota: float, burst: float, strict: bool):
        self.bucket, self.quota, self.burst, self.strict = bucket, quota, burst, strict
        self.throttle_ms = self.recorded_ms = 0

    def record(self, partitions: int) -> bool:
        """Count ``partitions`` created or deleted; False when a strict quota refuses them."""
        bucket = self.bucket
        if bucket is None:
            return True
        now = now_ms()
        tokens = bucket.refill(self.quota, self.burst, now)
        if self.strict and tokens < 0:
            self._throttled(tokens, now)
            return False
        bucket.tokens = min(self.burst, tokens - partitions)
        if not self.strict and bucket.tokens < 0:
            self._throttled(bucket.tokens, now)
        return True

    def _throttled(self, tokens: float, now: int) -> None:
        self.throttle_ms, self.recorded_ms = round(-tokens / self.quota * 1000), now

    def throttle_time_ms(self) -> int:
        """The throttle to answer with: what was found, less the time since."""
        if not self.throttle_ms:
            return 0
        return max(0, self.throttle_ms - (now_ms() - self.recorded_ms))


UNBOUNDED = MutationQuota(None, 0.0, 0.0, False)   # no quota: everything is taken, nothing throttled


class MutationQuotas:
    """``controller_mutation_rate``: partitions created (CreateTopics, CreatePartitions) and deleted
    (DeleteTopics) a second, per client in Kafka's entity order, over a token bucket of
    ``controller.quota.window.num`` samples of ``controller.quota.window.size.seconds``."""

    def __init__(self, store: ClientQuotas, samples: int = 11, sample_s: int = 1):
        self._store = store
        self._burst_s = samples * sample_s
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def for_request(self, ctx, api_name: str) -> MutationQuota:
        """The quota a CreateTopics, CreatePartitions or DeleteTopics request counts against."""
        if not self._store.mutation_rates or ctx.connection is None:
            return UNBOUNDED
        tags, quota = client_quota(self._store, MUTATION, user_of(ctx.principal), ctx.client_id or "")
        if quota is None:
            return UNBOUNDED
        burst = self._burst_s * quota
        bucket = self._buckets.get(tags)
        if bucket is None:
            bucket = self._buckets[tags] = TokenBucket(burst, now_ms())
        return MutationQuota(bucket, quota, burst, ctx.api_version >= STRICT_FROM[api_name])


# -- connection_creation_rate, max.connection.creation.rate -------------------------------------------

NO_CONNECTION_RATE = 2**31 - 1   # Kafka's default for both: no limit


class ConnectionRates:
    """New connections a second, as Kafka's ConnectionQuotas counts them: broker-wide
    (``max.connection.creation.rate``: the broker accepts the next connection only once the rate
    allows it) and per client IP (``connection_creation_rate`` on an IP entity, or the default
    IP's: a connection over it is not served, and closed once the rate allows it). Both are
    measured as the byte rates are; a throttle lasts at most one sample's span."""

    def __init__(self, store: ClientQuotas, broker_rate: int, samples: int = 11, sample_s: int = 1):
        self._store = store
        self._samples, self._sample_ms = samples, sample_s * 1000
        self.broker_rate = broker_rate if broker_rate < NO_CONNECTION_RATE else None
        self._broker = Rate(samples, self._sample_ms)
        self._ips: dict[str, Rate] = {}
        self._resolved: dict[str, float | None] = {}
        self._version = -1
        self.delayed = self.closed = 0   # connections the broker waited to take, and closed unserved

    def _throttle_ms(self, rate: Rate, quota: float, now_ms: int) -> int:
        observed = rate.per_second(now_ms)
        if observed <= quota:
            return 0
        return min(round((observed - quota) / quota * rate.window_ms(now_ms)), self._sample_ms)

    def broker_delay_ms(self, now_ms: int) -> int:
        """Count a new connection broker-wide: how long the broker waits before it takes it."""
        if self.broker_rate is None:
            return 0
        self._broker.record(1, now_ms)
        delay_ms = self._throttle_ms(self._broker, self.broker_rate, now_ms)
        if delay_ms:
            self.delayed += 1
        return delay_ms

    def ip_quota(self, host: str) -> float | None:
        if self._version != self._store.version:
            self._resolved.clear()
            self._version = self._store.version
        if host in self._resolved:
            return self._resolved[host]
        try:
            name = str(ipaddress.ip_address(host))
        except ValueError:
            name = host
        quota = self._store.get(((IP, name),), CONNECTION)
        if quota is None:
            quota = self._store.get(((IP, None),), CONNECTION)
        self._resolved[host] = quota
        return quota

    def ip_delay_ms(self, host: str, now_ms: int) -> int:
        """Count a new connection from ``host``: 0, or how long until its rate allows it (the
        connection is then not served, and counted nowhere)."""
        if not self._store.connection_rates:
            return 0
        quota = self.ip_quota(host)
        if quota is None:
            return 0
        rate = self._ips.get(host)
        if rate is None:
            rate = self._ips[host] = Rate(self._samples, self._sample_ms)
        rate.record(1, now_ms)
        delay_ms = self._throttle_ms(rate, quota, now_ms)
        if delay_ms:
            self.closed += 1
            rate.record(-1, now_ms)
            if self.broker_rate is not None:
                self._broker.record(-1, now_ms)
        return delay_ms
