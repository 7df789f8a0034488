"""The TCP server: accept connections, serve each one, drain and shut down cleanly on SIGTERM/SIGINT.

The listening sockets are asyncio's, one per listener (``listeners=PLAINTEXT://...,SASL_SSL://...``),
TLS ones with the listener's ``ssl.SSLContext``; each connection is an asyncio protocol (see
broker/connection.py). anyio runs the rest: the task groups, the background work, signals.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import resource
import signal

import anyio

import broker.handlers  # noqa: F401  (registers every handler)
from broker.config import BrokerConfig
from broker.connections import Connections
from broker.core import Broker, StartRefused

log = logging.getLogger("kbroker")

DRAIN_DEADLINE_S = 5.0   # on SIGTERM, in-flight requests get this long to be answered (a second signal: at once)
TLS_HANDSHAKE_TIMEOUT_S = 10.0   # a client that starts a TLS handshake and stalls is closed after this


class PortInUse(OSError):
    """The port to listen on is taken by another socket."""


class Server:
    """The listening sockets (one per listener) and the connections they accepted."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.connections = Connections(broker)
        self.port: int | None = None             # the first listener's
        self.ports: dict[str, int] = {}          # every listener's, by name
        self._listeners: list[asyncio.Server] = []

    async def listen(self) -> tuple:
        """Open a listening socket per listener and return the first one's address, ``(host,
        port)`` for IPv4. With port 0 the system picks the port, and Metadata advertises the one
        bound. Opened again after ``drain``, each listener listens on the same port."""
        config = self.broker.config
        if self.connections.draining:
            self.connections = Connections(self.broker)
        loop = asyncio.get_running_loop()
        self._listeners = []
        try:
            for index, listener in enumerate(config.listeners()):
                context = None
                if listener.tls:
                    from broker.security.tls import server_context
                    context = server_context(self.broker.security, listener.name)
                port = self.ports.get(listener.name, listener.port)
                try:
                    server = await loop.create_server(
                        self.connections.factory(listener), listener.host or None, port, reuse_address=True,
                        backlog=1024, ssl=context, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_S if context else None)
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        raise PortInUse(exc.errno, f"port {port} on {listener.host or '0.0.0.0'} is in use "
                                                   "(another broker or program listens there)") from None
                    raise
                self._listeners.append(server)
                bound = server.sockets[0].getsockname()[1]
                self.ports[listener.name] = bound
                if not listener.port and not listener.advertised_port:
                    listener.advertised_port = bound
                    if index == 0:
                        config.advertised_port = bound
                if index == 0:
                    self.port = bound
        except BaseException:
            for server in self._listeners:
                server.close()
            self._listeners = []
            raise
        return self._listeners[0].sockets[0].getsockname()

    @property
    def listening(self) -> bool:
        return bool(self._listeners) and all(server.is_serving() for server in self._listeners)

    async def serve(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled. Once listening, ``task_status.started(address)`` reports
        the first listener's bound socket address, ``(host, port)`` for IPv4: with port 0 the
        system picks the port (``ports`` has every listener's)."""
        config = self.broker.config
        address = self._listeners[0].sockets[0].getsockname() if self.listening else await self.listen()
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(self.broker.start_background)
                if config.http_port is not None:   # the console, /metrics and admin endpoints (broker/web/)
                    from broker.web import serve_http

                    await tg.start(serve_http, self)
                for listener in config.listeners():
                    host, port = listener.advertised
                    log.info("kbroker listening on %s://%s:%d (%s, advertised %s:%d)", listener.name, listener.host,
                             self.ports[listener.name], listener.security_protocol, host, port)
                log.info("data in %s", config.data_dir or "memory")
                task_status.started(address)
                await anyio.sleep_forever()
        finally:
            for server in self._listeners:
                server.close()
            self.connections.abort()

    async def drain(self, deadline_s: float = DRAIN_DEADLINE_S) -> None:
        """Stop accepting; let every connection answer the requests it has received and close.
        Connections still open after ``deadline_s`` are cut."""
        if not self._listeners:
            return
        for server in self._listeners:
            server.close()
        with anyio.move_on_after(deadline_s):
            await self.connections.drain()
        if self.connections.live:
            log.warning("%d connection(s) not drained after %g s: closed", len(self.connections.live), deadline_s)
            self.connections.abort()


async def serve(broker: Broker, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
    """Listen and serve until cancelled. Once listening, ``task_status.started(address)`` reports
    the bound socket address, ``(host, port)`` for IPv4: with port 0 the system picks the port."""
    await Server(broker).serve(task_status=task_status)


def settle_garbage_collector() -> None:
    """Keep collector pauses short: what start-up made (modules, compiled schemas, the
    topic table) lives as long as the process, so it leaves the generations the collector
    scans; and full collections, which scan everything left, run a tenth as often."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old * 10)


async def _main(config: BrokerConfig, ready_file: str | None = None, control_path: str | None = None) -> None:
    broker = Broker(config)
    broker.freeze_loaded = True
    settle_garbage_collector()
    server = Server(broker)
    try:
        # signals are caught from before the port opens: a client (or a test) that sees the port
        # open may send SIGTERM at once, and it must drain, not kill
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            await server.listen()   # here, so that a port in use is a plain error, not one of a task group
            async with anyio.create_task_group() as tg:
                await tg.start(server.serve)
                if control_path:
                    from broker.control import Control, serve_control

                    await tg.start(serve_control, Control(broker, server), control_path)
                if ready_file:
                    write_ready_file(ready_file, server)
                async for signum in signals:
                    log.info("received %s, shutting down: draining connections", signal.Signals(signum).name)
                    break
                with anyio.CancelScope() as drain_scope:
                    async def stop_at_second_signal() -> None:
                        async for _ in signals:
                            log.info("second signal: stopping now")
                            drain_scope.cancel()
                            return

                    tg.start_soon(stop_at_second_signal)
                    await broker.prepare_shutdown()   # cluster mode: leaderships move away first
                    await server.drain()
                tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await broker.leave()
            broker.close()
            if ready_file:
                remove_file(ready_file)
            log.info("log flushed, bye")


def write_ready_file(path: str, server: Server) -> None:
    """Write ``host:port`` of the bound listener to ``path`` (whole: written aside, then renamed)."""
    host = server.broker.config.host
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{host}:{server.port}\n")
    os.replace(tmp, path)


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def raise_open_files_limit() -> None:
    """Segments keep their files open (as Kafka's do): allow as many as the hard limit."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
    except (ValueError, OSError):
        pass


def tune_allocator() -> None:
    """Keep large buffers (1 MB produce frames) in the heap instead of mmap'ing each one.

    By default glibc mmaps every allocation over 128 KB and unmaps it on free, so each
    large frame page-faults afresh; measured here, receiving 1 MB frames ran 0.55-0.8 GB/s
    that way and 1.3-2.1 GB/s with these thresholds raised.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 64 << 20)
        libc.mallopt(m_trim_threshold, 256 << 20)
    except (OSError, AttributeError):   # not glibc: leave the allocator as it is
        pass


def run(config: BrokerConfig, *, ready_file: str | None = None, control_path: str | None = None) -> int:
    """Serve until SIGTERM or SIGINT. ``ready_file`` gets the bound ``host:port`` once serving (an
    old one is removed first); ``control_path`` is a Unix socket for broker/control.py's calls."""
    raise_open_files_limit()
    tune_allocator()
    if ready_file:
        remove_file(ready_file)
    try:
        anyio.run(_main, config, ready_file, control_path)
    except StartRefused as exc:
        log.error("%s", exc)
        return 1
    except (OSError, ValueError) as exc:    # a port in use, a TLS key that cannot be read, a bad setting
        log.error("cannot start: %s", exc.strerror if isinstance(exc, PortInUse) else exc)
        return 1
    except BaseExceptionGroup as group:   # refused from a task (cluster mode's registration)
        refused = _first(group, StartRefused)
        if refused is None:
            raise
        log.error("%s", refused)
        return 1
    return 0


def _first(error: BaseException, kind: type) -> BaseException | None:
    """The first exception of ``kind`` in a (nested) exception group."""
    if isinstance(error, kind):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = _first(inner, kind)
        if found is not None:
            return found
    return None
