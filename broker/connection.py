"""One client connection, an asyncio protocol: frames in, requests handled in order, responses out.

Reading. The connection is a ``BufferedProtocol``: the kernel copies received bytes into a
buffer the broker owns. Small frames land in a receive buffer all connections of a server
share (the loop runs one callback at a time) and are cut out of it. A frame larger than
FRAME_BUFFER_MIN_BYTES that is not yet whole gets buffers of its own, and the rest of it is
received in place: chunks of up to FRAME_CHUNK_BYTES made as its bytes arrive, so memory
follows what a client sends rather than what its size prefix announces (a frame of one
chunk, such as a 1 MB produce, is decoded without another copy).

Handling. A request whose handler is synchronous (produce, metadata, ...) is answered in the
read callback itself, and the responses of one read go out in one write. Consecutive
pipelined Produce requests of one read are handled together, as one run (broker/produce_run.py). An ``async``
handler (a join), or the coroutine a synchronous one returns when it must wait after all
(a fetch without enough data: a long poll), runs in a task of this connection; the requests
after it wait their turn, so responses leave in request order. Before such a request,
the responses made so far are written (it may wait long). File ranges of a fetch larger
than SENDFILE_MIN_BYTES go from the page cache to the socket with sendfile, in the callback
that made the response, once what comes before them is written (one syscall, no task); what
the socket does not take then goes with ``loop.sendfile`` in the connection's task. Smaller
ranges are read and sent with the rest of the response.

Backpressure. As Kafka mutes a channel while a response is outstanding, a connection stops
reading while it cannot make progress: while its responses wait for the client to read them
(the transport's buffer above its high-water mark), or while an async request runs. A large
frame already begun is still read to its end, then handled or kept for its turn, so what it
holds is released. Per connection that bounds:
- unread requests to the rest of one read (RECEIVE_BYTES) plus one large frame (up to
  ``socket.request.max.bytes``, in memory as far as it has arrived);
- unsent responses to the transport's high-water mark (asyncio's 64 KB) plus FLUSH_BYTES
  plus the response being made;
and the rest waits in the kernel's socket buffers, where it blocks the client's sends.
Broker-wide, large frames count against ``queued.max.request.bytes`` from their size
prefix until handled, as Kafka's memory pool counts requests: once it is spent, no
connection reads a new request until some are released. As in Kafka, a request is admitted
while any budget is left, so the total may pass the limit by one request; -1 (Kafka's
default) is no limit. Small frames are handled as they are read, and not counted.

A frame that cannot be one (a negative or oversized size, an unknown API key or version,
a body that does not decode) closes this connection only, with a log line.

Security. Each connection belongs to a listener (broker/security/listeners.py). Over TLS the
peer's certificate names the principal, and file ranges are read and written (the kernel's
sendfile cannot encrypt). On a SASL listener every frame first passes ``_handle_sasl``
until the connection has authenticated (and, with a session lifetime, after): only
ApiVersions and the SASL requests are served before, and a frame larger than
``sasl.server.max.receive.size`` closes the connection. A PLAINTEXT connection never takes
that path: its requests cost what they cost before.

What the connections of a server share (the receive buffer, the request budget, connection
limits, the drain) is broker/connections.py; what a handler is given (``RequestContext``, with
its authorization calls) is broker/context.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import traceback
from types import CoroutineType
from typing import TYPE_CHECKING, Awaitable

from kproto.api_keys import ApiKey
from kproto.codec import decode_request, encode_response, frame_response, peek_request_header
from kproto.errors import DecodeError, ErrorCode, KafkaError
from kproto.messages import API_VERSIONS
from broker.context import RequestContext
from broker.errors import CloseConnection
from broker.connection_throttling import Throttling
from broker.produce_run import ProduceRun
from broker.quotas import request_exempt
from broker.registry import ANSWERED, SERVED, Encoded, Served, top_level_error
from broker.security.settings import ANONYMOUS
from storage.results import FileSlice

if TYPE_CHECKING:
    from broker.connections import Connections

log = logging.getLogger("kbroker.connection")

RECEIVE_BYTES = 256 << 10           # one read, into the receive buffer the connections share
FRAME_BUFFER_MIN_BYTES = 8 << 10    # a larger frame not yet whole is received into a buffer of its own
FRAME_CHUNK_BYTES = 1 << 20         # ... in chunks of this size, made as its bytes arrive
FLUSH_BYTES = 64 << 10              # responses are written once this much is pending
SENDFILE_MIN_BYTES = 64 << 10       # smaller file ranges are read and sent with the rest of the response
REQUESTS_PER_TURN = 256             # then the loop serves others before this connection goes on
LOGGED_REASON_CHARS = 300           # of why a connection is closed: bounded, whatever the client sent

_size = struct.Struct(">i").unpack_from
_header = struct.Struct(">hh").unpack_from     # api_key, api_version


class _ShuttingDown(Exception):
    """A request that may wait comes up while the broker shuts down: the connection closes before it."""


class Connection(Throttling, asyncio.BufferedProtocol):
    def __init__(self, broker, connections: Connections, listener=None):
        self.broker = broker
        self.listener = listener if listener is not None else broker.config.listeners()[0]
        self.principal = ANONYMOUS   # who the client is (a certificate's subject, a SASL user)
        self.sasl = None             # the SASL exchange state (broker.security.sasl), on SASL listeners
        self._sendfile = True        # file ranges go with sendfile (not over TLS)
        self.connections = connections
        self.budget = connections.budget
        self.max_frame_bytes = broker.config.socket_request_max_bytes
        self._taps = broker.taps.by_key
        self._quotas = broker.client_quotas    # quotas set: requests may be timed, answers throttled
        self.transport: asyncio.Transport | None = None
        self._socket_fd = -1         # the socket's descriptor, for sendfile past the transport
        self.client_host = self.peer = "unknown"
        self._tail = b""             # received, not yet handled: bytes from _tail_pos on
        self._tail_pos = 0
        self._read_start = 0         # where this read's bytes begin in the receive buffer
        self._frame: list[bytearray] | None = None   # a large frame being received in place, in chunks
        self._frame_size = self._frame_filled = self._chunk_filled = 0
        self._ready: bytes | bytearray | None = None   # a large frame received whole while a request runs
        self._held = 0               # bytes counted against the request budget
        self._pending: list = []     # response bytes not yet written
        self._pending_bytes = 0
        self._worker: asyncio.Task | None = None    # an async request, then the requests after it
        self._waiting = False        # the worker awaits a handler that may wait (long poll, join)
        self._awaited = None         # (served, api_version, correlation_id, throttle) of the request the worker awaits
        self._writable = True        # False while the transport's buffer is above its high-water mark
        self._writable_waiter: asyncio.Future | None = None
        self._turn_scheduled = False
        self._eof = self._draining = self._discarding = self._closed = False
        self._started_ns = 0         # when the request being answered was decoded (for broker.stats)
        self._produce_run = ProduceRun(self)   # pipelined Produce requests of a read, handled together

    # -- the transport's calls -------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        self._socket_fd = sock.fileno() if sock is not None else -1
        remote = transport.get_extra_info("peername")
        if isinstance(remote, tuple):
            self.client_host, self.peer = remote[0], f"{remote[0]}:{remote[1]}"
        elif remote:
            self.client_host = self.peer = str(remote)
        admitted = self.connections.admit(self)
        if admitted is None:
            transport.pause_reading()   # held back by a connection rate: ``admitted()`` comes later
            return
        if not admitted:
            self._closed = True
            transport.close()
            return
        self.admitted()

    def admitted(self) -> None:
        """Counted in (at once, or once a connection creation rate allowed it): serve it."""
        if self.listener.security_protocol != "PLAINTEXT":
            try:
                self._secure(self.transport)
            except CloseConnection as exc:
                self._fail(exc)
                return
        if self.connections.draining:     # accepted just before the listener closed
            self.drain()
        elif not self.transport.is_reading():
            self.update_reading()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._frame is None and self._tail and not self._discarding:
            tail = memoryview(self._tail)
            if self._start_frame(tail, self._tail_pos, len(tail)):    # admitted while muted: a buffer of its own now
                self._hold()
            else:
                # The start of a frame is kept from the last read: it goes in front of this one
                # (and stays kept until the read succeeds).
                start = len(tail) - self._tail_pos
                view = self.connections.receive_view
                view[:start] = tail[self._tail_pos:]
                self._read_start = start
                return view[start:]
        if self._frame is not None:
            chunk = self._frame[-1]
            if self._chunk_filled == len(chunk):
                # Made as the bytes arrive: memory follows what the client sent, not what it announced.
                chunk = bytearray(min(FRAME_CHUNK_BYTES, self._frame_size - self._frame_filled))
                self._frame.append(chunk)
                self._chunk_filled = 0
            return memoryview(chunk)[self._chunk_filled:]
        self._read_start = 0
        return self.connections.receive_view

    def buffer_updated(self, nbytes: int) -> None:
        if self._discarding:
            return
        if self._frame is None:
            self._tail, self._tail_pos = b"", 0     # now in front of this read
            end = self._read_start + nbytes
            if self._worker is None:
                self._turn(self.connections.receive_view, 0, end, False)
            else:
                # Read while a request runs (asyncio's sendfile resumes reading when it ends, whatever
                # was decided meanwhile): kept for its turn, and reading stops again.
                self._keep(self.connections.receive_view, 0, end, False)
                self._settle()
            return
        self._frame_filled += nbytes
        self._chunk_filled += nbytes
        if self._frame_filled == self._frame_size:
            chunks, self._frame = self._frame, None
            frame = chunks[0] if len(chunks) == 1 else b"".join(chunks)   # one chunk is decoded as it is
            if self._worker is None:
                self._turn(memoryview(self._tail), self._tail_pos, len(self._tail), True, frame)
            else:
                self._ready = frame     # after the request that runs
                self._settle()

    def eof_received(self) -> bool:
        self._eof = True
        if self._discarding:
            return False     # the transport closes
        self._settle()       # closes once everything received is answered
        return True

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        waiter, self._writable_waiter = self._writable_waiter, None
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(None)
        elif self._worker is None:
            self._schedule_turn()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._frame, self._ready, self._tail, self._tail_pos, self._pending = None, None, b"", 0, []
        self._hold()
        waiter, self._writable_waiter = self._writable_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError("connection lost"))
        if self._worker is not None:
            self._worker.cancel()
        self.budget.forget(self)
        self.connections.closed(self)

    # -- security -----------------------------------------------------------------

    def _secure(self, transport: asyncio.Transport) -> None:
        """A TLS or SASL connection: the principal from the client's certificate, the SASL gate."""
        listener = self.listener
        if listener.tls:
            self._sendfile = False   # asyncio's sendfile cannot go through TLS: ranges are read and written
            ssl_object = transport.get_extra_info("ssl_object")
            certificate = ssl_object.getpeercert() if ssl_object is not None and not listener.sasl else None
            if certificate:
                from broker.security.principal import distinguished_name
                dn = distinguished_name(certificate.get("subject"))
                try:
                    self.principal = "User:" + self.broker.principal_mapper(listener.name).name(dn)
                except ValueError as exc:
                    raise CloseConnection(f"client certificate refused: {exc}") from None
        if listener.sasl:
            from broker.security.sasl import SaslSession
            self.sasl = SaslSession(self)
            self.gate(True)

    def gate(self, on: bool) -> None:
        """Send every frame through ``_handle_sasl`` (on), or straight to ``_handle`` (off)."""
        if on:
            self._handle = self._handle_sasl
            self.max_frame_bytes = self.broker.security.sasl_server_max_receive_size
        else:
            self.__dict__.pop("_handle", None)
            self.max_frame_bytes = self.broker.config.socket_request_max_bytes

    def _handle_sasl(self, frame: bytes | bytearray) -> Awaitable | None:
        session = self.sasl
        if session.state == "RAW":
            return session.raw_token(frame)
        session.admit(frame)    # CloseConnection unless this request may come now
        return Connection._handle(self, frame)

    def authenticated(self, principal: str, expires: bool) -> None:
        """The SASL exchange succeeded: serve everything (through the gate while the session can expire)."""
        self.principal = principal
        self.gate(False)
        if expires:
            self._handle = self._handle_sasl

    def send_and_close(self, message, api_version: int, correlation_id: int, body: dict) -> None:
        """Answer, then close (a failed authentication)."""
        self._queue(encode_response(message, api_version, correlation_id, body))
        self._close()

    def send_raw(self, data: bytes) -> None:
        """Bytes outside Kafka's framing (SASL tokens after SaslHandshake v0)."""
        self._queue((data,))

    def close_now(self) -> None:
        self._close()

    # -- the server's calls ----------------------------------------------------

    def drain(self) -> None:
        """Shutting down: read no new request, answer those received, then say goodbye."""
        self._draining = True
        if self._closed:
            return
        if self._worker is not None and self._waiting:
            self._worker.cancel()     # a long poll or a join is cut short; the client sees the connection close
            return
        self._settle()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- reading requests --------------------------------------------------------

    def _turn(self, view: memoryview, pos: int, end: int, from_tail: bool, frame: bytearray | None = None) -> None:
        """Handle ``frame`` and then the frames in ``view[pos:end]``, in the read callback itself."""
        self._turn_scheduled = False
        try:
            step = None
            if frame is not None:
                step = self._handle(frame)
            if step is None:
                step = self._run(view, pos, end, from_tail)
            else:
                self._keep(view, pos, end, from_tail)
            if step is not None:
                self._worker = asyncio.get_running_loop().create_task(self._work(step))
        except (DecodeError, CloseConnection) as exc:
            self._fail(exc)
        except Exception:
            log.error("connection from %s failed:\n%s", self.peer, traceback.format_exc())
            self._close()
        self._settle()

    def _run(self, view: memoryview, pos: int, end: int, from_tail: bool) -> Awaitable | None:
        """Handle the whole frames of ``view[pos:end]`` in order until one needs a task (returned) or
        the connection must wait; keep what is left (nothing when a frame is malformed: it closes)."""
        step = None
        handled = 0
        run = self._produce_run
        try:
            while end - pos >= 4 and self._writable and not self._closed:
                size = _size(view, pos)[0]
                if size < 0 or size > self.max_frame_bytes:
                    raise DecodeError(f"frame size {size} outside 0..{self.max_frame_bytes}")
                if end - pos - 4 < size:
                    if size > FRAME_BUFFER_MIN_BYTES and end - pos >= 8:
                        self._served(*_header(view, pos + 4))   # refuse a garbage header before buffering its body
                    break
                if handled == REQUESTS_PER_TURN:
                    break
                frame = bytes(view[pos + 4:pos + 4 + size])
                pos += 4 + size
                handled += 1
                taken = run.take(frame)    # pipelined Produce requests are handled together
                if taken is True:
                    continue
                if run.requests:
                    run.answer()
                step = self._handle(frame) if taken is False else self._serve_produce(frame, *taken)
                if step is not None:
                    break
        finally:
            if run.requests:
                run.answer()
        self._keep(view, pos, end, from_tail)
        return step

    def _keep(self, view: memoryview, pos: int, end: int, from_tail: bool) -> None:
        """Keep the unhandled ``view[pos:end]``: a large frame's start goes into a buffer of its own."""
        if self._closed or self._draining or not self.budget.has_room() or not self._start_frame(view, pos, end):
            if not from_tail:
                self._tail, self._tail_pos = bytes(view[pos:end]), 0
            elif pos == end:
                self._tail, self._tail_pos = b"", 0
            else:
                self._tail_pos = pos
        self._hold()

    def _start_frame(self, view: memoryview, pos: int, end: int) -> bool:
        """If ``view[pos:end]`` is the start of a large frame, and only that, move it into a buffer of
        the frame's size, where the rest will be received."""
        left = end - pos
        if left < 8:
            return False
        size = _size(view, pos)[0]
        if size <= FRAME_BUFFER_MIN_BYTES or left - 4 >= size:
            return False
        chunk = bytearray(min(size, FRAME_CHUNK_BYTES))
        chunk[:left - 4] = view[pos + 4:end]
        self._frame = [chunk]
        self._frame_size, self._frame_filled = size, left - 4
        self._chunk_filled = left - 4
        self._tail, self._tail_pos = b"", 0
        return True

    def _hold(self) -> None:
        """Count the large frames this connection holds against the request budget: from the size
        prefix on, as Kafka's memory pool does, until handled. (Small frames are handled as they are
        read, or kept at most one read's worth per connection.)"""
        held = (self._frame_size if self._frame is not None else 0) + (len(self._ready) if self._ready else 0)
        if held != self._held:
            self.budget.change(held - self._held)
            self._held = held

    def _has_frame(self) -> bool:
        """Whether a whole frame is kept, waiting to be handled."""
        if self._ready is not None:
            return True
        left = len(self._tail) - self._tail_pos
        return left >= 4 and left - 4 >= _size(self._tail, self._tail_pos)[0]

    def update_reading(self) -> None:
        """Read while the connection can make progress (and the request budget has room); else mute it."""
        transport = self.transport
        if self._closed or transport is None or transport.is_closing():
            return
        if self._discarding:
            want = True
        elif self._draining or self._eof:
            want = False
        elif self._frame is not None:
            want = True      # an admitted frame is read to its end, so what it holds is released
        else:
            want = self._worker is None and self._writable and not self._has_frame()
            if want and not self.budget.has_room():
                want = False
                self.budget.wait_for_room(self)
        if want != transport.is_reading():    # the transport's own state: sendfile pauses and resumes it too
            if want:
                transport.resume_reading()
            else:
                transport.pause_reading()

    def _schedule_turn(self) -> None:
        """Go on with the frames kept (after a full turn, or once writable again) in a later loop turn."""
        if not self._turn_scheduled and not self._closed:
            self._turn_scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._turn_scheduled = False
        if self._worker is None and not self._closed:
            self._turn(memoryview(self._tail), self._tail_pos, len(self._tail), True)

    def _settle(self) -> None:
        """After a turn: write what is pending, then go on, close, or wait for more bytes."""
        if self._closed or self._discarding:
            return
        self._flush()
        if self._worker is None:
            if self._has_frame():
                if self._writable:
                    self._schedule_turn()
            elif self._eof:
                self._close()     # the client is done sending, and all of it is answered
                return
            elif self._draining:
                self._goodbye()
                return
        self.update_reading()

    # -- one request ---------------------------------------------------------------

    def _served(self, api_key: int, api_version: int) -> Served:
        served = SERVED.get(api_key)
        if served is None:
            raise CloseConnection(f"unknown or unserved API key {api_key}")
        if api_version not in served.message.versions and api_key != ApiKey.API_VERSIONS:
            raise CloseConnection(f"{served.message.name} v{api_version} is not a version we know")
        return served

    def _handle(self, frame: bytes | bytearray, tapped: bool = False) -> Awaitable | None:
        """Answer one request: a synchronous handler's response is queued at once; an async one
        is returned as the awaitable that answers it."""
        api_key, api_version, correlation_id = peek_request_header(frame)
        served = self._served(api_key, api_version)
        message = served.message
        supported = served.low <= api_version <= served.high
        if not supported and api_key == ApiKey.API_VERSIONS:
            # Answer in v0 with our ranges, whatever version was asked: the client retries lower.
            body = {"error_code": ErrorCode.UNSUPPORTED_VERSION, "api_keys": self.broker.api_versions()}
            return self._queue(encode_response(API_VERSIONS, 0, correlation_id, body))
        try:
            header, request = decode_request(frame, message, api_version)
        except DecodeError:
            log.debug("undecodable %s v%d frame from %s: %s", message.name, api_version, self.peer, frame[:512].hex())
            raise
        return self._serve(frame, served, api_version, correlation_id, header, request, supported, tapped)

    def _serve_produce(self, frame: bytes, header: dict, request: dict) -> Awaitable | None:
        """A Produce request a ProduceRun decoded and did not keep for a run: served alone, as
        ``_handle`` serves it (without decoding it again)."""
        return self._serve(frame, SERVED[ApiKey.PRODUCE], header["request_api_version"], header["correlation_id"],
                           header, request)

    def _serve(self, frame: bytes, served: Served, api_version: int, correlation_id: int, header: dict,
               request: dict, supported: bool = True, tapped: bool = False) -> Awaitable | None:
        api_key = served.message.api_key
        if not tapped:
            stats = self.broker.stats    # per-API and per-topic counters while the HTTP port is on (broker/web/stats.py)
            if stats is not None:
                self._started_ns = stats.received(api_key, request)
            tap = self._taps.get(api_key)   # the request log and injected faults (broker/faults.py); mostly none
            if tap is not None:
                return tap(self, frame, served, api_version, correlation_id, header, request)
        if not supported:
            response = self._error_response(served, request, api_version, ErrorCode.UNSUPPORTED_VERSION)
            return self._respond(served, api_version, correlation_id, response)
        ctx = RequestContext(self.broker, api_version, correlation_id, header["client_id"], self.client_host, self)
        if self._quotas.request_rates and not (request_exempt(api_key, api_version, request) or self._authenticating()):
            return self._metered(served, api_version, correlation_id, request, ctx)
        if served.is_async:
            self._flush()   # what is answered goes out before a request that may wait
            return self._answer(served, api_version, correlation_id, request, served.handler(ctx, request))
        response = self._call(served, ctx, request, api_version)
        if type(response) is CoroutineType:   # it must wait after all (a long poll): a task awaits it
            self._flush()
            return self._answer(served, api_version, correlation_id, request, response)
        return self._respond(served, api_version, correlation_id, response)

    def _call(self, served: Served, ctx: RequestContext, request: dict, api_version: int):
        """A synchronous handler's response (or the coroutine of one that must wait after all);
        what it raised becomes the API's error response, except CloseConnection."""
        try:
            return served.handler(ctx, request)
        except KafkaError as exc:
            return self._error_response(served, request, api_version, exc.code)
        except CloseConnection:
            raise
        except Exception:
            log.error("%s v%d from %s failed:\n%s", served.message.name, api_version, self.peer,
                      traceback.format_exc())
            return self._error_response(served, request, api_version, ErrorCode.UNKNOWN_SERVER_ERROR)

    def pass_on(self, frame: bytes) -> Awaitable | None:
        """Handle a request a tap has seen, as if there were no tap."""
        return self._handle(frame, True)

    async def pass_on_later(self, delay_s: float, frame: bytes) -> None:
        """``pass_on`` after ``delay_s`` (an injected delay): a wait that a shutdown cuts short."""
        self._waiting = True
        try:
            await asyncio.sleep(delay_s)
        finally:
            self._waiting = False
        step = self._handle(frame, True)
        if step is not None:
            await step

    async def _answer(self, served: Served, api_version: int, correlation_id: int, request: dict,
                      awaitable: Awaitable, throttle: tuple[int, str] | None = None) -> None:
        if served.may_wait and self._draining:
            awaitable.close()
            raise _ShuttingDown   # it could wait longer than the shutdown lasts
        self._waiting = served.may_wait
        self._awaited = (served, api_version, correlation_id, throttle)
        try:
            response = await awaitable
        except KafkaError as exc:
            response = self._error_response(served, request, api_version, exc.code)
        except (CloseConnection, asyncio.CancelledError):
            raise
        except Exception:
            log.error("%s v%d from %s failed:\n%s", served.message.name, api_version, self.peer,
                      traceback.format_exc())
            response = self._error_response(served, request, api_version, ErrorCode.UNKNOWN_SERVER_ERROR)
        finally:
            self._waiting = False
        if response is ANSWERED:
            return
        if throttle is not None and response is not None:
            response = self._with_throttle(served, api_version, response, throttle)
        step = self._respond(served, api_version, correlation_id, response)
        if step is not None:
            await step

    def answer_waiting(self, response) -> Awaitable | None:
        """Send the response of the request this connection's task awaits (a long poll) now, from
        the callback that ended its wait (the append that brought data), rather than a loop turn
        later in the task. Returns what is left to send (a file range the socket did not take),
        for the task to await before its handler returns ANSWERED."""
        served, api_version, correlation_id, throttle = self._awaited
        try:
            if throttle is not None:
                response = self._with_throttle(served, api_version, response, throttle)
            step = self._respond(served, api_version, correlation_id, response)
        except CloseConnection as exc:
            self._fail(exc)
            return None
        except Exception:
            log.error("%s v%d to %s failed:\n%s", served.message.name, api_version, self.peer, traceback.format_exc())
            self._close()
            return None
        self._flush()
        return step

    def _error_response(self, served: Served, request: dict, api_version: int, code: int) -> dict:
        make = served.error_response or top_level_error
        return make(request, api_version, int(code))

    def _respond(self, served: Served, api_version: int, correlation_id: int, response) -> Awaitable | None:
        stats = self.broker.stats
        if stats is not None:
            stats.answered(served.message.api_key, response, self._started_ns)
        if type(response) is Encoded:
            return self._queue((frame_response(served.message, api_version, correlation_id, response),))
        if response is not None:
            if self._quotas.throttles and response.get("throttle_time_ms", 0) > 0:
                return self._throttled(served, api_version, correlation_id, response)
            return self._queue(encode_response(served.message, api_version, correlation_id, response))
        return None

    respond = _respond   # for a tap that answers in the handler's stead

    # -- the worker: an async request, then the requests after it ------------------

    async def _work(self, step: Awaitable) -> None:
        try:
            while step is not None and not self._closed:
                await step
                step = None
                while not self._closed:
                    if self._ready is not None:
                        frame, self._ready = self._ready, None
                        self._hold()
                        step = self._handle(frame)
                        if step is not None:
                            break
                        continue
                    if not self._writable:
                        await self._until_writable()
                        continue
                    step = self._run(memoryview(self._tail), self._tail_pos, len(self._tail), True)
                    if step is not None or not self._has_frame():
                        break
                    self._flush()
                    await asyncio.sleep(0)    # a turn's worth handled: the loop serves others
        except asyncio.CancelledError:
            if not self._draining:
                raise
            self._close()   # shutting down cut a wait short: its answer will not come
        except _ShuttingDown:
            self._close()
        except (DecodeError, CloseConnection) as exc:
            self._fail(exc)
        except ConnectionError:
            self._close()
        except Exception:
            log.error("connection from %s failed:\n%s", self.peer, traceback.format_exc())
            self._close()
        finally:
            if step is not None and hasattr(step, "close"):
                step.close()
            self._worker = None
            self._waiting = False
        self._settle()

    async def _until_writable(self) -> None:
        if not self._writable:
            self._writable_waiter = asyncio.get_running_loop().create_future()
            await self._writable_waiter

    # -- writing responses -------------------------------------------------------

    def _queue(self, parts) -> Awaitable | None:
        """Queue a response's parts; a file range for sendfile is returned as the awaitable sending it."""
        pending = self._pending
        for index, part in enumerate(parts):
            if isinstance(part, (bytes, bytearray, memoryview)):
                data = part
            elif part.size <= SENDFILE_MIN_BYTES:
                # A small range costs less read than sent with sendfile (whose set-up takes
                # several syscalls and loop turns), and it goes out in the same write.
                data = _read_range(part)
            else:
                sent = self._sendfile_now(part)
                if sent == part.size:
                    pending = self._pending   # a new list: the old one was written
                    continue
                rest = [FileSlice(part.file, part.position + sent, part.size - sent)] if sent else [part]
                return self._send_parts(rest + list(parts[index + 1:]))
            pending.append(data)
            self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH_BYTES:
            self._flush()
        return None

    def _sendfile_now(self, part) -> int:
        """Send what the socket takes of a file range at once, in this callback: bytes sent.

        The responses before it are written first (``transport.write`` sends at once while the
        transport holds nothing); only then may the range go to the socket past the transport,
        so bytes keep their order. A consumer's fetch then costs one sendfile: no task, no
        loop turn, no change of the socket's registration. What the socket does not take
        (its buffer is full) goes with ``loop.sendfile``, awaited in the connection's task."""
        if not self._sendfile or self._closed or self._socket_fd < 0:
            return 0
        self._flush()
        transport = self.transport
        if transport.get_write_buffer_size() or transport.is_closing():
            return 0
        try:
            return os.sendfile(self._socket_fd, part.file.fileno(), part.position, part.size)
        except OSError:
            return 0   # full (EAGAIN), or broken: the awaited path finds out and answers for it

    async def _send_parts(self, parts) -> None:
        for part in parts:
            if isinstance(part, (bytes, bytearray, memoryview)) or part.size <= SENDFILE_MIN_BYTES:
                self._queue((part,))
            else:
                self._flush()
                await self._send_file(part)

    def _flush(self) -> None:
        """Write every pending response part, in order."""
        if self._pending and not self._closed:
            pending, self._pending, self._pending_bytes = self._pending, [], 0
            self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    async def _send_file(self, part) -> None:
        """Send a file range (``file``, ``position``, ``size``) with sendfile, or read it where the loop cannot."""
        if self.transport.is_closing():
            raise ConnectionError("the connection is closing")
        if self._sendfile:
            try:
                # asyncio's sendfile waits for the transport's buffer to drain first: the bytes keep their order.
                await asyncio.get_running_loop().sendfile(self.transport, part.file, part.position, part.size,
                                                          fallback=False)
                self.update_reading()   # sendfile resumed reading if it was on when it began
                return
            except (NotImplementedError, asyncio.SendfileNotAvailableError):   # raised before sending
                self._sendfile = False
        for start in range(part.position, part.position + part.size, 1 << 20):
            size = min(1 << 20, part.position + part.size - start)
            self.transport.write(_read_range(part, start, size))
            await self._until_writable()

    # -- closing -------------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        """The client broke the protocol: log it and drop the connection at once, as Kafka does."""
        reason = str(exc)
        if len(reason) > LOGGED_REASON_CHARS:     # a decode error can quote the client's bytes
            reason = reason[:LOGGED_REASON_CHARS] + "..."
        if isinstance(exc, DecodeError):
            log.warning("closing connection from %s: malformed frame: %s", self.peer, reason)
        else:
            log.warning("closing connection from %s: %s", self.peer, reason)
        if not self._closed:
            self._closed = True
            self.transport.abort()
            worker = self._worker
            if worker is not None and worker is not asyncio.current_task():
                worker.cancel()

    def _close(self) -> None:
        """Close after the responses made so far (a protocol error, the client's end, a cut-short shutdown)."""
        if self._closed:
            return
        self._flush()
        self._closed = True
        self.transport.close()
        worker = self._worker
        if worker is not None and worker is not asyncio.current_task():
            worker.cancel()

    def _goodbye(self) -> None:
        """Shutting down, everything received answered: end our side after the responses, read the
        client's leftovers until it closes (closing with unread bytes would reset the connection)."""
        self._frame, self._ready, self._tail, self._tail_pos = None, None, b"", 0
        self._hold()
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.update_reading()


def _read_range(part, position: int | None = None, size: int | None = None) -> bytes:
    """Bytes of a file range (or of a piece of it), read with pread."""
    position = part.position if position is None else position
    size = part.size if size is None else size
    data = os.pread(part.file.fileno(), size, position)
    if len(data) != size:
        raise CloseConnection("file range shorter than announced")
    return data
