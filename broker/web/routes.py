"""The HTTP port's table: every path, what answers it, and the checks before each request.

    GET  /                                   the console (static/index.html; its pages are #/...)
    GET  /app.js, /style.css                 its script and style
    GET  /metrics                            Prometheus (broker/web/metrics.py)
    GET  /api/overview                       broker, counts, throughput history
    GET  /api/topics                         every topic: partitions, messages, size, retention
    POST /api/topics                         create: {"name", "partitions", "replication_factor", "configs"}
    GET  /api/topics/{topic}                 partitions (offsets, leader, ISR) and configs
    DELETE /api/topics/{topic}               delete
    POST /api/topics/{topic}/configs         {"set": {..}, "delete": [..]}: IncrementalAlterConfigs
    GET  /api/topics/{topic}/messages        ?partition=&end=|start=|timestamp=&limit=
    POST /api/topics/{topic}/messages        produce one: {"partition", "key", "value", "headers", "encoding"}
    GET  /api/groups                         every group: type, state, members, lag
    GET  /api/groups/{group}                 members, assignments, offsets and lag, lag history
    POST /api/groups/{group}/reset           {"to": "earliest"|"latest"|"timestamp", "timestamp", "topic"}
    DELETE /api/groups/{group}               delete an empty group
    GET  /api/clients                        what clients pushed (KIP-714)
    and the admin endpoints of broker/web/admin.py (/health, /ready, /admin/...).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from urllib.parse import urlsplit

from broker.web import admin, groups, messages, metrics, overview, topics
from broker.web.access import ALTER, CLUSTER, DESCRIBE, DESCRIBE_CONFIGS, GROUP, READ, TOPIC, Access
from broker.web.auth import authenticator_for
from broker.web.faults import faults_for
from broker.web.httpserver import HttpError, HttpServer, Request, Response, Router

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/style.css": ("style.css", "text/css; charset=utf-8")}
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# what a path spanning the whole broker needs on the CLUSTER once there are ACLs (broker/web/access.py)
CLUSTER_PATHS = {"/metrics": DESCRIBE, "/api/overview": DESCRIBE, "/api/clients": DESCRIBE}


def _static_files() -> dict[str, Response]:
    files = {}
    folder = resources.files("broker.web") / "static"
    for path, (name, content_type) in STATIC.items():
        body = (folder / name).read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        files[path] = Response(200, body, content_type, (("Cache-Control", "no-cache"), ("ETag", etag)))
    return files


class Console:
    """The HTTP port's state: its server and router, the samplers, the doors it drives."""

    def __init__(self, broker, server, started: float):
        self.broker = broker
        self.server = server
        self.started = started
        self.allow_remote = broker.config.http_allow_remote
        self.authenticator = authenticator_for(broker)
        self.access = Access(broker)
        self.throughput = overview.Throughput(broker.stats)
        self.lag_history = groups.LagHistory(broker, broker.config.http_lag_sample_ms)
        self.listener = admin.ListenerControl(server)
        self.static = _static_files()
        router = Router()
        self._add_routes(router)
        admin.add_routes(router, broker, self.listener, faults_for(broker))
        self.http = HttpServer(router, self.guard)

    # -- before every request -----------------------------------------------------

    async def guard(self, request: Request) -> None:
        headers = request.headers
        if not self.allow_remote:
            host = _host_name(headers.get("host", "localhost"))
            from broker.web import is_loopback

            if not is_loopback(host):
                raise HttpError(421, "this port answers requests for localhost only")
        if request.method in CHANGING:
            origin = headers.get("origin")
            if origin is not None and origin != "null" and urlsplit(origin).netloc != headers.get("host"):
                raise HttpError(403, "cross-origin request refused")
            if origin == "null":
                raise HttpError(403, "cross-origin request refused")
        request.principal = await self.authenticator.authenticate(request)
        operation = ALTER if request.path.startswith("/admin/") else CLUSTER_PATHS.get(request.path)
        if operation is not None:
            self.access.require(request, operation, CLUSTER)

    # -- the table ------------------------------------------------------------------------

    def _add_routes(self, router: Router) -> None:
        broker = self.broker
        access = self.access
        add = router.add
        for path in self.static:
            add("GET", path, self._static)
        add("GET", "/favicon.ico", lambda request: Response(204, b"", ""))
        add("GET", "/metrics", lambda request: Response(200, metrics.render(broker, self.server),
                                                        metrics.CONTENT_TYPE))
        add("GET", "/api/overview", lambda request: overview.overview(broker, self.server, self.throughput,
                                                                       self.started))
        add("GET", "/api/topics",
            lambda request: {"topics": access.visible(request, topics.list_topics(broker), "name", TOPIC)})
        add("POST", "/api/topics", lambda request: topics.create_topic(broker, request))
        add("GET", "/api/topics/{topic}", self._describe_topic)
        add("DELETE", "/api/topics/{topic}",
            lambda request: topics.delete_topic(broker, request, request.params["topic"]))
        add("POST", "/api/topics/{topic}/configs",
            lambda request: topics.alter_configs(broker, request, request.params["topic"]))
        add("GET", "/api/topics/{topic}/messages",
            lambda request: access.require(request, READ, TOPIC, request.params["topic"])
            or messages.browse(broker, request, request.params["topic"]))
        add("POST", "/api/topics/{topic}/messages",
            lambda request: messages.produce(broker, request, request.params["topic"]))
        add("GET", "/api/groups",
            lambda request: {"groups": access.visible(request, groups.group_rows(broker), "group_id", GROUP)})
        add("GET", "/api/groups/{group}",
            lambda request: access.require(request, DESCRIBE, GROUP, request.params["group"])
            or groups.describe_group(broker, request.params["group"], self.lag_history))
        add("POST", "/api/groups/{group}/reset",
            lambda request: groups.reset_offsets(broker, request, request.params["group"]))
        add("DELETE", "/api/groups/{group}",
            lambda request: groups.delete_group(broker, request, request.params["group"], self.lag_history))
        add("GET", "/api/clients", lambda request: {"clients": clients(broker)})

    def _describe_topic(self, request: Request) -> dict:
        name = request.params["topic"]
        self.access.require(request, DESCRIBE, TOPIC, name)
        described = topics.describe_topic(self.broker, name)
        if not self.access.allowed(request, DESCRIBE_CONFIGS, TOPIC, name):
            described["configs"] = []
        return described

    def _static(self, request: Request) -> Response:
        response = self.static[request.path]
        etag = dict(response.headers)["ETag"]
        if request.headers.get("if-none-match") == etag:
            return Response(304, b"", "", response.headers)
        return response


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def clients(broker) -> list[dict]:
    rows = []
    for client in broker.telemetry.clients():
        rows.append({
            "client_instance_id": client.id_text, "client_id": client.client_id, "host": client.client_host,
            "pushes": client.pushes, "last_push_ms": client.last_push_ms, "push_interval_ms": client.push_interval_ms,
            "terminating": client.terminating,
            "metrics": [{"name": p.name, "kind": p.kind, "unit": p.unit, "value": p.value, "count": p.count,
                         "attributes": dict(p.attributes)}
                        for p in sorted(client.series.values(), key=lambda p: (p.name, p.attributes))]})
    return rows
