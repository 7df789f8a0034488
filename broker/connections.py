"""What the connections of one server share: the receive buffer, the request budget
(``queued.max.request.bytes``), the live set, its limits and its drain.

Connection limits. As Kafka's ``max.connections.per.ip``, a new connection from an address that
already holds that many is closed at once; ``max.connections`` closes a new one the same way
when the broker holds that many in all (Kafka's acceptor waits for a free slot instead, leaving
the new connection in the listen backlog). What was refused is logged once per
REFUSED_LOG_INTERVAL_S, with the count, so a client that connects without limit cannot flood
the log.
"""

from __future__ import annotations

import asyncio
import logging

from broker.connection import RECEIVE_BYTES, Connection

log = logging.getLogger("kbroker.connection")

REFUSED_LOG_INTERVAL_S = 10.0       # connections refused over a limit: one log line per interval


class RequestBudget:
    """Kafka's ``queued.max.request.bytes``: request bytes held by all connections (<= 0: no limit)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self._muted: dict[Connection, None] = {}    # waiting for room, in order

    def has_room(self) -> bool:
        return self.limit <= 0 or self.used < self.limit

    def wait_for_room(self, connection: "Connection") -> None:
        self._muted[connection] = None

    def forget(self, connection: "Connection") -> None:
        self._muted.pop(connection, None)

    def change(self, delta: int) -> None:
        self.used += delta
        if delta < 0 and self._muted and self.has_room():
            muted, self._muted = self._muted, {}
            for connection in muted:
                connection.update_reading()


class Connections:
    """What the connections of one server share: the receive buffer, the request budget, the live set."""

    def __init__(self, broker):
        self.broker = broker
        self.receive_view = memoryview(bytearray(RECEIVE_BYTES))
        self.budget = RequestBudget(broker.config.queued_max_request_bytes)
        self.live: set[Connection] = set()
        self.per_host: dict[str, int] = {}     # live connections by client address
        self.refused = 0                       # since the last log line about it
        self._refused_logged_at = float("-inf")
        self.draining = False
        self._all_closed: asyncio.Event | None = None

    def new(self) -> "Connection":
        """The protocol factory of the first listener's socket."""
        return Connection(self.broker, self)

    def factory(self, listener):
        """The protocol factory of one listener's socket."""
        return lambda: Connection(self.broker, self, listener)

    def admit(self, connection: "Connection") -> bool:
        """Count ``connection`` in, or refuse it (False) when a connection limit is reached."""
        config = self.broker.config
        host = connection.client_host
        held = self.per_host.get(host, 0)
        if held >= config.max_connections_per_ip:
            self._refuse(f"{host} already holds the maximum of {config.max_connections_per_ip} connections "
                         "(max.connections.per.ip)")
            return False
        if len(self.live) >= config.max_connections:
            self._refuse(f"the broker holds the maximum of {config.max_connections} connections (max.connections)")
            return False
        self.per_host[host] = held + 1
        self.live.add(connection)
        return True

    def _refuse(self, reason: str) -> None:
        self.refused += 1
        now = asyncio.get_running_loop().time()
        if now - self._refused_logged_at >= REFUSED_LOG_INTERVAL_S:
            log.warning("refused %d connection(s) in the last %.0f s; the latest because %s",
                        self.refused, min(now - self._refused_logged_at, 1e9), reason)
            self.refused = 0
            self._refused_logged_at = now

    def closed(self, connection: "Connection") -> None:
        if connection in self.live:
            self.live.remove(connection)
            host = connection.client_host
            left = self.per_host[host] - 1
            if left:
                self.per_host[host] = left
            else:
                del self.per_host[host]
        if not self.live and self._all_closed is not None:
            self._all_closed.set()

    async def drain(self) -> None:
        """Every connection answers what it has received and says goodbye; returns when all are closed."""
        self.draining = True
        self._all_closed = asyncio.Event()
        for connection in list(self.live):
            connection.drain()
        if self.live:
            await self._all_closed.wait()

    def abort(self) -> None:
        for connection in list(self.live):
            connection.abort()
