"""A small HTTP/1.1 server on the broker's own event loop: requests in, handlers called, responses out.

Why our own: the console, ``/metrics`` and the admin endpoints need GET and POST with
small bodies, keep-alive and nothing else, and the broker must not pay for them. Parsing
a request head here is a split on CRLF; measured against h11 on the same loop (bench
README, "The HTTP port"), it costs a fraction of the time per request and adds no
dependency. What it leaves out is refused plainly: chunked request bodies (411), other
versions than HTTP/1.0 and 1.1 (505), heads over HEAD_MAX_BYTES (431), bodies over
``body_max_bytes`` (413), more than MAX_CONNECTIONS at once (503). A request that cannot
be parsed gets 400 and the connection closes; the Kafka port never notices.

One request at a time per connection: reading stops while a handler runs (an async one,
such as pausing the Kafka listener, may wait), so pipelined requests are answered in order.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, unquote

log = logging.getLogger("kbroker.http")

HEAD_MAX_BYTES = 16 << 10       # request line and headers
BODY_MAX_BYTES = 2 << 20        # a produced message from the console, with room for its JSON
MAX_CONNECTIONS = 64
IDLE_TIMEOUT_S = 60.0           # a keep-alive connection without a request
HEAD_TIMEOUT_S = 10.0           # a request whose head or body has begun but not arrived

REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 304: "Not Modified",
           400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 411: "Length Required", 413: "Content Too Large",
           415: "Unsupported Media Type", 421: "Misdirected Request", 422: "Unprocessable Content",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
           503: "Service Unavailable", 505: "HTTP Version Not Supported"}

# Sent with every answer: no sniffing, no framing, scripts and styles from this origin only.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                "base-uri 'none'; form-action 'self'"),
)

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


class HttpError(Exception):
    """Answer with ``status`` and ``{"error": message}`` (the connection stays open)."""

    def __init__(self, status: int, message: str, headers: tuple = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass
class Request:
    method: str
    target: str                       # as sent: path and query
    path: str                         # as sent (percent-encoded: a route's {name} part is decoded)
    query: dict[str, list[str]]
    headers: dict[str, str]           # names in lower case; repeated headers joined with ", "
    body: bytes
    peer: str                         # the client's address
    params: dict[str, str] = field(default_factory=dict)   # from the route's {name} parts
    principal: Any = None             # who the authenticator said sent it

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def int_arg(self, name: str, default: int | None = None, *, low: int | None = None,
                high: int | None = None) -> int | None:
        text = self.arg(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise HttpError(400, f"{name} must be an integer, not {text[:40]!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise HttpError(400, f"{name} must be within {low}..{high}")
        return value

    def json(self) -> Any:
        """The body as JSON (an object or list); 415 for another media type, 400 if it does not parse."""
        media = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise HttpError(415, "send the body as application/json")
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, f"the body is not JSON: {exc}") from None

    def json_object(self) -> dict:
        value = self.json()
        if not isinstance(value, dict):
            raise HttpError(400, "the body must be a JSON object")
        return value


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple = ()


def json_response(value, status: int = 200) -> Response:
    return Response(status, json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


Handler = Callable[[Request], "Response | dict | list | Awaitable"]


class Router:
    """Routes by method and path: ``/api/topics/{topic}`` binds ``request.params["topic"]`` (one
    percent-decoded path segment)."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, Handler]] = {}
        self._patterns: list[tuple[re.Pattern, dict[str, Handler]]] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        if "{" not in path:
            self._exact.setdefault(path, {})[method] = handler
            return
        regex = re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
        for pattern, methods in self._patterns:
            if pattern.pattern == regex.pattern:
                methods[method] = handler
                return
        self._patterns.append((regex, {method: handler}))

    def route(self, method: str, raw_path: str) -> tuple[Handler, dict[str, str]]:
        methods, params = self._exact.get(raw_path), {}
        if methods is None:
            for pattern, candidate in self._patterns:
                match = pattern.match(raw_path)
                if match:
                    methods = candidate
                    params = {k: unquote(v, errors="strict") for k, v in match.groupdict().items()}
                    break
        if methods is None:
            raise HttpError(404, f"no such path: {raw_path[:200]}")
        handler = methods.get("GET" if method == "HEAD" else method)
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise HttpError(405, f"{method} is not allowed here (allowed: {allowed})", (("Allow", allowed),))
        return handler, params


class HttpServer:
    """What the connections of one HTTP port share: the router, the checks before every
    handler (``guard``), the live set."""

    def __init__(self, router: Router, guard: Callable[[Request], None] | None = None,
                 body_max_bytes: int = BODY_MAX_BYTES):
        self.router = router
        self.guard = guard
        self.body_max_bytes = body_max_bytes
        self.live: set[HttpConnection] = set()
        self.served = 0

    def new(self) -> "HttpConnection":
        return HttpConnection(self)

    def abort(self) -> None:
        for connection in list(self.live):
            connection.abort()

    async def answer(self, request: Request) -> Response:
        try:
            if self.guard is not None:     # first: who may not ask learns nothing, not even which paths exist
                checked = self.guard(request)
                if checked is not None:
                    await checked
            handler, request.params = self.router.route(request.method, request.path)
            result = handler(request)
            if inspect.isawaitable(result):
                result = await result
        except HttpError as exc:
            response = json_response({"error": exc.message}, exc.status)
            response.headers = exc.headers
            return response
        except Exception:
            log.exception("HTTP %s %s failed", request.method, request.target[:200])
            return json_response({"error": "internal error (see the broker's log)"}, 500)
        if isinstance(result, Response):
            return result
        return json_response(result)


class HttpConnection(asyncio.Protocol):
    def __init__(self, server: HttpServer):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer = "unknown"
        self._buffer = bytearray()
        self._busy = False           # a request is being answered
        self._closing = False
        self._timer: asyncio.TimerHandle | None = None

    # -- the transport's calls ----------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        remote = transport.get_extra_info("peername")
        self.peer = remote[0] if isinstance(remote, tuple) else str(remote or "unknown")
        if len(self.server.live) >= MAX_CONNECTIONS:
            self._send(503, b'{"error":"too many HTTP connections"}', "application/json", keep_alive=False)
            return
        self.server.live.add(self)
        self._arm(IDLE_TIMEOUT_S)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._buffer += data
        if len(self._buffer) > HEAD_MAX_BYTES + self.server.body_max_bytes:
            self._fail(413, "request too large")
            return
        if not self._busy:
            self._next()

    def eof_received(self) -> bool:
        if not self._busy:
            self._close()
        self._closing = True
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self.server.live.discard(self)
        if self._timer is not None:
            self._timer.cancel()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- requests -------------------------------------------------------------------

    def _next(self) -> None:
        """Parse and answer the next whole request in the buffer, if there is one."""
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > HEAD_MAX_BYTES:
                self._fail(431, "request head too large")
            elif buffer:
                self._arm(HEAD_TIMEOUT_S)
            return
        if end > HEAD_MAX_BYTES:
            self._fail(431, "request head too large")
            return
        try:
            method, target, version, headers = _parse_head(bytes(buffer[:end]))
        except HttpError as exc:
            self._fail(exc.status, exc.message)
            return
        if "transfer-encoding" in headers:
            self._fail(411, "chunked request bodies are not accepted: send Content-Length")
            return
        length_text = headers.get("content-length", "0")
        if not length_text.isdigit() or len(length_text) > 12:
            self._fail(400, "bad Content-Length")
            return
        length = int(length_text)
        if length > self.server.body_max_bytes:
            self._fail(413, f"body over {self.server.body_max_bytes} bytes")
            return
        start = end + 4
        if len(buffer) - start < length:
            self._arm(HEAD_TIMEOUT_S)
            return
        body = bytes(buffer[start:start + length])
        del buffer[:start + length]
        path, _, query = target.partition("?")
        try:
            unquote(path, errors="strict")
            params = parse_qs(query, keep_blank_values=True, max_num_fields=100, errors="strict")
        except (UnicodeDecodeError, ValueError):
            self._fail(400, "bad percent-encoding in the request target")
            return
        keep_alive = _keep_alive(version, headers)
        request = Request(method, target, path, params, headers, body, self.peer)
        self._busy = True
        self._disarm()
        self.transport.pause_reading()
        asyncio.get_running_loop().create_task(self._answer(request, keep_alive))

    async def _answer(self, request: Request, keep_alive: bool) -> None:
        server = self.server
        response = await server.answer(request)
        server.served += 1
        if self._closing or self.transport.is_closing():
            return
        body = b"" if request.method == "HEAD" else response.body
        self._send(response.status, body, response.content_type, keep_alive, response.headers,
                   length=len(response.body))
        self._busy = False
        if not keep_alive:
            return
        self.transport.resume_reading()
        if self._closing:
            self._close()
        elif self._buffer:
            self._next()
        else:
            self._arm(IDLE_TIMEOUT_S)

    # -- answers ---------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, keep_alive: bool, headers: tuple = (),
              length: int | None = None) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}",
                 f"Content-Length: {len(body) if length is None else length}",
                 "Connection: keep-alive" if keep_alive else "Connection: close"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        names = {name.lower() for name, _ in headers}
        if "cache-control" not in names:
            lines.append("Cache-Control: no-store")
        lines += [f"{name}: {value}" for name, value in SECURITY_HEADERS]
        lines += [f"{name}: {value}" for name, value in headers]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        if not keep_alive:
            self._close()

    def _fail(self, status: int, message: str) -> None:
        """A request we will not read further: answer, then close."""
        self._buffer.clear()
        self._closing = True
        self._disarm()
        self._send(status, json.dumps({"error": message}).encode(), "application/json", keep_alive=False)

    def _close(self) -> None:
        self._closing = True
        self._disarm()
        if self.transport is not None:
            self.transport.close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._busy:
            return
        if self._buffer:
            self._fail(400, "request not sent in time")
        else:
            self._close()


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """The request line and headers of a head (without its blank line); HttpError if malformed."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "bad request line")
    method_bytes, target_bytes, version_bytes = parts
    if not _TOKEN.match(method_bytes):
        raise HttpError(400, "bad method")
    method = method_bytes.decode("ascii")
    if version_bytes not in (b"HTTP/1.1", b"HTTP/1.0"):
        if version_bytes.startswith(b"HTTP/"):
            raise HttpError(505, "only HTTP/1.0 and HTTP/1.1 are served")
        raise HttpError(400, "bad request line")
    if not target_bytes.startswith(b"/") or any(b < 0x21 or b > 0x7E for b in target_bytes):
        raise HttpError(400, "bad request target")
    if method not in _METHODS:
        raise HttpError(501, f"method {method[:20]} is not served")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise HttpError(400, "bad header line")
        try:
            text = value.strip(b" \t").decode("latin-1")
        except UnicodeDecodeError:
            raise HttpError(400, "bad header value") from None
        if any(ch in text for ch in "\r\n\x00"):
            raise HttpError(400, "bad header value")
        key = name.decode("ascii").lower()
        if key == "content-length" and key in headers and headers[key] != text:
            raise HttpError(400, "conflicting Content-Length headers")
        headers[key] = f"{headers[key]}, {text}" if key in headers and key != "content-length" else text
    if version_bytes == b"HTTP/1.1" and "host" not in headers:
        raise HttpError(400, "HTTP/1.1 requests must send Host")
    return method, target_bytes.decode("ascii"), version_bytes.decode("ascii"), headers


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens
