"""Client telemetry (KIP-714): which metrics clients push, and the last values they pushed.

A client asks GetTelemetrySubscriptions what to push and how often, then pushes
PushTelemetry with its metrics in OTLP form (broker/otlp.py). Kafka subscribes clients
through CLIENT_METRICS config resources; kbroker has one subscription, every metric
("*"), in force while its HTTP port is on (``subscribed``), so the console and /metrics
can show each client. Without it the answer subscribes nothing, and clients only ask
again every INTERVAL_MS_DEFAULT.

The checks are Kafka's (ClientMetricsManager): a new client instance (id zero) gets an
id; a client asking again before its push interval is THROTTLING_QUOTA_EXCEEDED (unless
its last push failed with UNKNOWN_SUBSCRIPTION_ID or UNSUPPORTED_COMPRESSION_TYPE); a
push needs a known id (INVALID_REQUEST), is refused after a terminating push
(INVALID_REQUEST), may come early only right after a subscription answer
(THROTTLING_QUOTA_EXCEEDED), must name the current subscription
(UNKNOWN_SUBSCRIPTION_ID), a known codec (UNSUPPORTED_COMPRESSION_TYPE) and fit in
``telemetry.max.bytes`` (TELEMETRY_TOO_LARGE); metrics that do not parse are
INVALID_RECORD. Sums are asked for as cumulative values (delta temporality off), the
form a Prometheus counter takes.

A client instance is forgotten once silent for three push intervals (at least
EXPIRY_MIN_MS); at most MAX_INSTANCES are kept, and MAX_SERIES values per instance.
"""

from __future__ import annotations

import uuid
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field

from broker.clock import now_ms
from broker.otlp import Point, parse_metrics_data
from kproto.errors import ErrorCode
from storage.codecs import Compression, decompress
from storage.errors import StorageError

INTERVAL_MS_DEFAULT = 300000        # Kafka's push interval when nothing is subscribed
ALL_METRICS = "*"
EXPIRY_MIN_MS = 60000
MAX_INSTANCES = 16384               # Kafka's cache size
MAX_SERIES = 2000                   # values kept per client instance
ZERO_ID = bytes(16)


@dataclass
class ClientInstance:
    instance_id: bytes
    client_id: str | None
    client_host: str
    subscription_id: int
    push_interval_ms: int
    metrics: tuple[str, ...]
    first_seen_ms: int
    last_get_ms: int = 0
    last_push_ms: int = 0
    last_seen_ms: int = 0
    terminating: bool = False
    last_error: int = 0
    pushes: int = 0
    series: dict[tuple, Point] = field(default_factory=dict)   # (name, attributes) -> the last point

    @property
    def id_text(self) -> str:
        return str(uuid.UUID(bytes=self.instance_id))


class ClientTelemetry:
    def __init__(self, push_interval_ms: int, max_bytes: int):
        self.push_interval_ms = push_interval_ms
        self.max_bytes = max_bytes
        self.subscribed = False       # set while the HTTP port serves
        self.instances: OrderedDict[bytes, ClientInstance] = OrderedDict()
        self.pushes = self.throttled = self.errors = 0

    # -- the subscription ---------------------------------------------------------

    def _subscription(self) -> tuple[tuple[str, ...], int]:
        if self.subscribed:
            return (ALL_METRICS,), self.push_interval_ms
        return (), INTERVAL_MS_DEFAULT

    @staticmethod
    def _subscription_id(metrics: tuple[str, ...], interval_ms: int, instance_id: bytes) -> int:
        """Stable for a subscription and client instance: a CRC of both, as Kafka computes one."""
        crc = zlib.crc32(f"{sorted(metrics)}{interval_ms}".encode()) ^ zlib.crc32(instance_id)
        return crc - (1 << 32) if crc >= 1 << 31 else crc

    def _instance(self, ctx, instance_id: bytes, now: int) -> ClientInstance:
        metrics, interval = self._subscription()
        instance = self.instances.get(instance_id)
        if instance is None or (instance.metrics, instance.push_interval_ms) != (metrics, interval):
            kept = instance
            instance = ClientInstance(instance_id, ctx.client_id, ctx.client_host,
                                      self._subscription_id(metrics, interval, instance_id), interval, metrics, now)
            if kept is not None:   # the subscription changed: the new one is answered at once
                instance.series, instance.pushes = kept.series, kept.pushes
            self.instances[instance_id] = instance
        self.instances.move_to_end(instance_id)
        instance.last_seen_ms = now
        instance.client_id = ctx.client_id
        self._expire(now)
        return instance

    def _expire(self, now: int) -> None:
        while len(self.instances) > MAX_INSTANCES:
            self.instances.popitem(last=False)
        for key in list(self.instances)[:64]:      # oldest first: stop at the first one still alive
            instance = self.instances[key]
            if now - instance.last_seen_ms < max(EXPIRY_MIN_MS, 3 * instance.push_interval_ms):
                break
            del self.instances[key]

    # -- the two requests -------------------------------------------------------------

    def get_subscriptions(self, ctx, req: dict) -> dict:
        now = now_ms()
        instance_id = bytes(req["client_instance_id"])
        if instance_id == ZERO_ID:
            instance_id = uuid.uuid4().bytes
            while instance_id in self.instances or instance_id == ZERO_ID:
                instance_id = uuid.uuid4().bytes
        instance = self._instance(ctx, instance_id, now)
        answer = {"throttle_time_ms": 0, "error_code": 0, "client_instance_id": instance_id,
                  "subscription_id": instance.subscription_id, "accepted_compression_types": [],
                  "push_interval_ms": instance.push_interval_ms, "telemetry_max_bytes": self.max_bytes,
                  "delta_temporality": False, "requested_metrics": list(instance.metrics)}
        last_request = max(instance.last_get_ms, instance.last_push_ms)
        may_repeat = instance.last_error in (ErrorCode.UNKNOWN_SUBSCRIPTION_ID, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)
        if last_request and now - last_request < instance.push_interval_ms and not may_repeat:
            self.throttled += 1
            answer["error_code"] = ErrorCode.THROTTLING_QUOTA_EXCEEDED
            return answer
        instance.last_get_ms = now
        instance.last_error = 0
        return answer

    def push(self, ctx, req: dict) -> dict:
        now = now_ms()
        instance_id = bytes(req["client_instance_id"])
        if instance_id == ZERO_ID or instance_id == b"\x00" * 15 + b"\x01":   # Kafka's reserved ids
            return {"throttle_time_ms": 0, "error_code": ErrorCode.INVALID_REQUEST}
        instance = self._instance(ctx, instance_id, now)
        code = self._check_push(instance, req, now)
        instance.terminating = req["terminating"]
        if code:
            instance.last_error = code
            self.errors += 1
            return {"throttle_time_ms": 0, "error_code": code}
        metrics = req["metrics"]
        if metrics:
            try:
                payload = metrics if req["compression_type"] == Compression.NONE else \
                    decompress(req["compression_type"], metrics)
                if len(payload) > self.max_bytes:
                    code = ErrorCode.TELEMETRY_TOO_LARGE
                else:
                    self._keep(instance, parse_metrics_data(payload))
            except (ValueError, StorageError):
                code = ErrorCode.INVALID_RECORD
        instance.last_error = code
        if code:
            self.errors += 1
        else:
            instance.pushes += 1
            self.pushes += 1
        return {"throttle_time_ms": 0, "error_code": code}

    def _check_push(self, instance: ClientInstance, req: dict, now: int) -> int:
        if instance.terminating:
            return ErrorCode.INVALID_REQUEST
        early = instance.last_get_ms <= instance.last_push_ms and now - instance.last_push_ms < instance.push_interval_ms
        if early and not req["terminating"]:
            self.throttled += 1
            return ErrorCode.THROTTLING_QUOTA_EXCEEDED
        instance.last_push_ms = now
        if req["subscription_id"] != instance.subscription_id:
            return ErrorCode.UNKNOWN_SUBSCRIPTION_ID
        if req["compression_type"] not in Compression._value2member_map_:
            return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
        if req["metrics"] is not None and len(req["metrics"]) > self.max_bytes:
            return ErrorCode.TELEMETRY_TOO_LARGE
        return 0

    @staticmethod
    def _keep(instance: ClientInstance, points: list[Point]) -> None:
        series = instance.series
        for point in points:
            key = (point.name, point.attributes)
            if key in series or len(series) < MAX_SERIES:
                if point.delta and key in series:   # a client that sends deltas anyway: summed
                    old = series[key]
                    point = Point(point.name, point.kind, point.unit, point.description, point.attributes,
                                  old.value + point.value,
                                  None if point.count is None else (old.count or 0) + point.count,
                                  point.time_unix_nano, point.monotonic, False)
                series[key] = point

    # -- for the console and /metrics -------------------------------------------------

    def clients(self) -> list[ClientInstance]:
        self._expire(now_ms())
        return list(self.instances.values())
