"""What the connections of one server share: the receive buffer, the request budget
(``queued.max.request.bytes``), the live set, its limits and its drain.

Connection limits. As Kafka's ``max.connections.per.ip``, a new connection from an address that
already holds that many is closed at once; ``max.connections`` closes a new one the same way
when the broker holds that many in all (Kafka's acceptor waits for a free slot instead, leaving
the new connection in the listen backlog). What was refused is logged once per
REFUSED_LOG_INTERVAL_S, with the count, so a client that connects without limit cannot flood
the log.

Connection rates (broker/quotas.py ``ConnectionRates``), as Kafka's acceptor applies them. Over
``max.connection.creation.rate`` the broker takes the next connection only once the rate allows
it: that connection, and those after it, are held unread meanwhile (the client sees its requests
answered late, never refused). A client IP over its ``connection_creation_rate`` quota (its own
IP entity's, else the default IP's) gets its new connection held unread and then closed once the
rate allows a new one, as Kafka closes it; it counts against no limit meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from broker.clock import now_ms
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
        self.rates = broker.connection_rates
        self._in_line: deque[Connection] = deque()   # held while the broker-wide rate is over: in order
        self._accepting_at: asyncio.TimerHandle | None = None   # when the one waited for is taken
        self._waited_for: Connection | None = None
        self._closing_later: dict[Connection, asyncio.TimerHandle] = {}   # over their IP's rate

    def new(self) -> "Connection":
        """The protocol factory of the first listener's socket."""
        return Connection(self.broker, self)

    def factory(self, listener):
        """The protocol factory of one listener's socket."""
        return lambda: Connection(self.broker, self, listener)

    def admit(self, connection: "Connection") -> bool | None:
        """Count ``connection`` in (True), refuse it (False: a connection limit is reached), or hold
        it (None: a connection rate is over; ``connection.admitted()`` comes once it is counted in)."""
        if self._accepting_at is not None:   # the broker waits out its rate: in line
            self._in_line.append(connection)
            return None
        if self.rates.broker_rate is not None:
            delay_ms = self.rates.broker_delay_ms(now_ms())
            if delay_ms:
                self._wait_for(connection, delay_ms)
                return None
        return self._count_in(connection)

    def _wait_for(self, connection: "Connection", delay_ms: int) -> None:
        self._waited_for = connection
        self._accepting_at = asyncio.get_running_loop().call_later(delay_ms / 1000, self._accept_next)

    def _accept_next(self) -> None:
        """The broker-wide rate's wait is over: the connection waited for goes in, then those in
        line, each counted in its turn, until the rate makes the broker wait again."""
        self._accepting_at = None
        connection, self._waited_for = self._waited_for, None
        while True:
            if connection is not None:
                self._held_counted(connection, self._count_in(connection))
            if not self._in_line or self.draining:
                return
            connection = self._in_line.popleft()
            delay_ms = self.rates.broker_delay_ms(now_ms())
            if delay_ms:
                self._wait_for(connection, delay_ms)
                return

    def _held_counted(self, connection: "Connection", admitted: bool | None) -> None:
        if admitted:
            connection.admitted()
        elif admitted is not None:
            connection.close_now()

    def _count_in(self, connection: "Connection") -> bool | None:
        host = connection.client_host
        if self.broker.client_quotas.connection_rates:
            delay_ms = self.rates.ip_delay_ms(host, now_ms())
            if delay_ms:   # Kafka closes it once the rate allows a new one: the client sees it late
                self._closing_later[connection] = asyncio.get_running_loop().call_later(
                    delay_ms / 1000, self._close_later, connection)
                self._refuse(f"{host} is over its connection_creation_rate quota "
                             f"({self.rates.ip_quota(host):g} a second)")
                return None
        return self._limits(connection)

    def _close_later(self, connection: "Connection") -> None:
        self._closing_later.pop(connection, None)
        connection.close_now()

    def _limits(self, connection: "Connection") -> bool:
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
        if connection not in self.live:   # gone while held
            timer = self._closing_later.pop(connection, None)
            if timer is not None:
                timer.cancel()
            if connection is self._waited_for:
                self._waited_for = None
            elif self._in_line:
                try:
                    self._in_line.remove(connection)
                except ValueError:
                    pass
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
        for connection in [*self._closing_later, *self._in_line, *filter(None, [self._waited_for])]:
            connection.close_now()
        for connection in list(self.live):
            connection.drain()
        if self.live:
            await self._all_closed.wait()

    def abort(self) -> None:
        for connection in [*self.live, *self._closing_later, *self._in_line, *filter(None, [self._waited_for])]:
            connection.abort()
