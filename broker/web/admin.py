"""HTTP admin endpoints (JSON), for tests written in any language: health, readiness, the Kafka
listener paused and resumed, faults injected and the requests received.

    GET    /health                     200 {"status": "up"} while the process serves
    GET    /ready                      200 once the Kafka listener serves and the group
                                       coordinator is loaded; else 503 with the reason
    GET    /admin/listener             {"listening": bool, "connections": n}
    POST   /admin/listener/pause       stop accepting, close connections once answered
    POST   /admin/listener/resume      listen again on the same port
    GET    /admin/faults               the faults in force
    POST   /admin/faults               {"kind": "error"|"delay"|"disconnect", "api": "Produce" or 0,
                                        "code": "NOT_LEADER_OR_FOLLOWER" or 6 (error), "ms": 500 (delay),
                                        "times": 1 or null, "topic": .., "partition": ..}
    DELETE /admin/faults               clear them all
    DELETE /admin/faults/{id}          remove one
    GET    /admin/requests?api=Produce the requests received (once the log is on)
    POST   /admin/requests             {"enabled": true, "max_entries": n}: turn the log on (false: off)
    DELETE /admin/requests             forget them

Faults and the request log go through broker/web/faults.py's ``FaultInjection``, over the
broker's own ``faults`` and ``request_log`` (broker/faults.py).
"""

from __future__ import annotations

import asyncio
import logging

from broker.web.faults import FaultInjection
from broker.web.httpserver import HttpError, Request, Router, json_response
from broker.web.overview import listening

log = logging.getLogger("kbroker.http")

PAUSE_DEADLINE_S = 5.0
_FAULT_SETTINGS = {"error": ("code", "times", "topic", "partition"),
                   "delay": ("ms", "times", "topic", "partition"),
                   "disconnect": ("times", "topic", "partition")}


class ListenerControl:
    """Pausing and resuming the Kafka listener of a ``broker.server.Server``."""

    def __init__(self, server):
        self.server = server
        self._lock = asyncio.Lock()

    @property
    def listening(self) -> bool:
        return listening(self.server)

    async def pause(self) -> None:
        async with self._lock:
            if self.listening:
                log.info("Kafka listener paused from the HTTP port: connections close once answered")
                await self.server.drain(PAUSE_DEADLINE_S)

    async def resume(self) -> None:
        async with self._lock:
            if self.listening:
                return
            server = self.server
            listen = getattr(server, "listen", None)
            if listen is not None:          # a Server that can listen again by itself
                await listen()
            else:
                from broker.connections import Connections

                server.connections = Connections(server.broker)
                loop = asyncio.get_running_loop()
                server._listener = await loop.create_server(server.connections.new, server.broker.config.host or None,
                                                            server.port, reuse_address=True, backlog=1024)
            log.info("Kafka listener resumed on port %d", server.port)


def _fault_call(faults: FaultInjection, body: dict) -> dict:
    kind = body.get("kind")
    if kind not in _FAULT_SETTINGS:
        raise HttpError(400, "kind must be error, delay or disconnect")
    api = body.get("api")
    if not isinstance(api, (str, int)) or isinstance(api, bool):
        raise HttpError(400, "api must be an API name (Produce) or key (0)")
    unknown = set(body) - {"kind", "api", *_FAULT_SETTINGS[kind]}
    if unknown:
        raise HttpError(400, f"unknown fields for a {kind} fault: {', '.join(sorted(unknown))}")
    settings = {k: body[k] for k in ("times", "topic", "partition") if k in body}
    for name in ("times", "partition"):
        if settings.get(name) is not None and (not isinstance(settings[name], int) or isinstance(settings[name], bool)):
            raise HttpError(400, f"{name} must be an integer or null")
    if settings.get("topic") is not None and not isinstance(settings["topic"], str):
        raise HttpError(400, "topic must be text")
    if kind == "error":
        if "code" not in body:
            raise HttpError(400, "an error fault needs code (a Kafka error name or number)")
        return faults.error(api, body["code"], **settings)
    if kind == "delay":
        ms = body.get("ms")
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not 0 <= ms <= 3_600_000:
            raise HttpError(400, "a delay fault needs ms, 0..3600000")
        return faults.delay(api, ms, **settings)
    return faults.disconnect(api, **settings)


def _faults_answer(call):
    """Run a FaultInjection call: ValueError is 400."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        raise HttpError(400, str(exc)) from None


def add_routes(router: Router, broker, listener: ListenerControl, faults: FaultInjection) -> None:
    def health(request: Request):
        return {"status": "up"}

    def ready(request: Request):
        reasons = []
        if not listener.listening:
            reasons.append("the Kafka listener is not serving")
        if broker._groups is None:
            reasons.append("the group coordinator is still loading")
        if reasons:
            return json_response({"status": "not ready", "reasons": reasons}, 503)
        return {"status": "ready"}

    def listener_state(request: Request):
        return {"listening": listener.listening, "connections": len(listener.server.connections.live)}

    async def pause(request: Request):
        await listener.pause()
        return listener_state(request)

    async def resume(request: Request):
        try:
            await listener.resume()
        except OSError as exc:
            raise HttpError(409, f"cannot listen again: {exc}") from None
        return listener_state(request)

    def list_faults(request: Request):
        return {"faults": _faults_answer(faults.active)}

    def add_fault(request: Request):
        body = request.json_object()
        return json_response({"fault": _faults_answer(lambda: _fault_call(faults, body))}, 201)

    def clear_faults(request: Request):
        _faults_answer(faults.clear)
        return {"faults": []}

    def remove_fault(request: Request):
        text = request.params["fault_id"]
        if not text.isdigit():
            raise HttpError(400, "a fault id is a number")
        _faults_answer(lambda: faults.remove(int(text)))
        return {"removed": int(text)}

    def list_requests(request: Request):
        api = request.arg("api")
        return {"requests": _faults_answer(lambda: faults.requests(api or None))}

    def set_request_log(request: Request):
        body = request.json_object()
        enabled = body.get("enabled", True)
        max_entries = body.get("max_entries")
        if not isinstance(enabled, bool):
            raise HttpError(400, "enabled must be true or false")
        if max_entries is not None and (not isinstance(max_entries, int) or isinstance(max_entries, bool)
                                        or not 1 <= max_entries <= 1_000_000):
            raise HttpError(400, "max_entries must be within 1..1000000")
        if enabled:
            _faults_answer(lambda: faults.enable_requests(max_entries))
        else:
            _faults_answer(faults.disable_requests)
        return {"enabled": enabled}

    def clear_requests(request: Request):
        _faults_answer(faults.clear_requests)
        return {"requests": []}

    router.add("GET", "/health", health)
    router.add("GET", "/ready", ready)
    router.add("GET", "/admin/listener", listener_state)
    router.add("POST", "/admin/listener/pause", pause)
    router.add("POST", "/admin/listener/resume", resume)
    router.add("GET", "/admin/faults", list_faults)
    router.add("POST", "/admin/faults", add_fault)
    router.add("DELETE", "/admin/faults", clear_faults)
    router.add("DELETE", "/admin/faults/{fault_id}", remove_fault)
    router.add("GET", "/admin/requests", list_requests)
    router.add("POST", "/admin/requests", set_request_log)
    router.add("DELETE", "/admin/requests", clear_requests)
