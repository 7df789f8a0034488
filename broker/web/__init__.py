"""The HTTP port: the web console, ``/metrics`` and the admin endpoints, on the broker's own loop.

Off unless a port is given (``--http-port`` or ``http.listeners``). It listens on loopback
unless told otherwise, and an address other than loopback needs ``http.allow.remote``
(``--http-allow-remote``): its endpoints change the broker. While it serves, the broker
counts requests and traffic (``broker.stats``, broker/web/stats.py), clients are asked to
push their metrics (broker/telemetry.py), and two samplers keep the charts' history.

Before any handler, ``_guard`` checks:
- the Host header names loopback (unless remote access is allowed), so a web page whose
  name resolves to 127.0.0.1 (DNS rebinding) cannot reach the port;
- a request that changes something and carries an ``Origin`` comes from this origin,
  so another site open in the same browser cannot post to it;
- the authenticator (broker/web/auth.py) lets it through: HTTP Basic credentials of the
  broker's SASL users while the broker has SASL or ACLs, none otherwise;
- with ACLs, a path spanning the broker is allowed to the principal (broker/web/access.py).

Modules: httpserver (the HTTP/1.1 server), routes (the table), topics, messages,
groups, overview, metrics, admin, faults (fault injection's door), auth, access, calls (the
console's Kafka requests), stats; static/ holds the page (plain HTML, JS and CSS).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time

import anyio

log = logging.getLogger("kbroker.http")

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class RemoteBindRefused(OSError):
    """A non-loopback HTTP address without ``http.allow.remote``."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(config) -> None:
    """Refuse an HTTP address that is not loopback unless remote access is allowed."""
    if config.http_port is not None and not is_loopback(config.http_host) and not config.http_allow_remote:
        raise RemoteBindRefused(
            f"the HTTP port would listen on {config.http_host or '0.0.0.0'}, beyond this machine: its console and "
            "admin endpoints change the broker (and ask credentials only with SASL or ACLs); "
            "set http.allow.remote=true "
            "(--http-allow-remote) to allow it")


async def serve_http(server, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
    """Serve the HTTP port of ``server`` (a broker.server.Server) until cancelled; reports the
    bound address with ``task_status.started``."""
    from broker.web.routes import Console
    from broker.web.stats import BrokerStats

    broker = server.broker
    config = broker.config
    check_bind(config)
    broker.stats = BrokerStats(broker)
    broker.telemetry.subscribed = True
    console = Console(broker, server, time.time())
    loop = asyncio.get_running_loop()
    try:
        listener = await loop.create_server(console.http.new, config.http_host or None, config.http_port,
                                            reuse_address=True)
    except BaseException:
        broker.stats = None
        broker.telemetry.subscribed = False
        raise
    address = listener.sockets[0].getsockname()
    if not config.http_port:
        config.http_port = address[1]
    log.info("console, /metrics and admin endpoints on http://%s:%d/", _url_host(config.http_host), address[1])
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(console.throughput.run)
            tg.start_soon(console.lag_history.run)
            task_status.started(address)
            await anyio.sleep_forever()
    finally:
        listener.close()
        console.http.abort()
        broker.stats = None
        broker.telemetry.subscribed = False


def _url_host(host: str) -> str:
    host = host or "0.0.0.0"
    return f"[{host}]" if ":" in host else host
