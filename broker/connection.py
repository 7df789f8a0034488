"""One client connection: frames in, one request at a time, responses out in order.

Requests already buffered are handled back to back and their responses sent in one
write (pipelining costs one syscall, not one per request). Before a request that may
wait (a long-polling fetch, a join), what is pending is sent first. Fetch responses
carry file ranges that go from the page cache to the socket with sendfile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback

import anyio
from anyio.abc import SocketAttribute, SocketStream

from kproto.api_keys import ApiKey
from kproto.codec import FrameReader, decode_request, encode_response, frame_response, peek_request_header
from kproto.errors import DecodeError, ErrorCode, KafkaError
from kproto.messages import API_VERSIONS
from broker.errors import CloseConnection
from broker.registry import SERVED, Encoded, top_level_error

log = logging.getLogger("kbroker.connection")

RECEIVE_BYTES = 1 << 20
SENDFILE_MIN_BYTES = 64 << 10   # smaller file ranges are read and sent with the rest of the response


class RequestContext:
    """What a handler knows of the request beyond its body."""

    __slots__ = ("broker", "api_version", "correlation_id", "client_id", "client_host", "connection")

    def __init__(self, broker, api_version: int, correlation_id: int, client_id: str | None, client_host: str,
                 connection: "Connection"):
        self.broker = broker
        self.api_version = api_version
        self.correlation_id = correlation_id
        self.client_id = client_id
        self.client_host = client_host
        self.connection = connection


class Connection:
    def __init__(self, broker, stream: SocketStream):
        self.broker = broker
        self.stream = stream
        self.frames = FrameReader(broker.config.socket_request_max_bytes)
        try:
            remote = stream.extra(SocketAttribute.remote_address)
            self.client_host = remote[0] if isinstance(remote, tuple) else str(remote)
            self.peer = f"{remote[0]}:{remote[1]}" if isinstance(remote, tuple) else str(remote)
        except Exception:
            self.client_host = self.peer = "unknown"
        self._pending: list = []

    async def serve(self) -> None:
        stream = self.stream
        try:
            while True:
                try:
                    data = await stream.receive(RECEIVE_BYTES)
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return
                self.frames.feed(data)
                while (frame := self.frames.next_frame()) is not None:
                    await self.handle_frame(frame)
                await self.flush()
        except DecodeError as exc:
            log.warning("closing connection from %s: malformed frame: %s", self.peer, exc)
        except CloseConnection as exc:
            log.warning("closing connection from %s: %s", self.peer, exc)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
            pass
        finally:
            await self._close()

    async def _close(self) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await self.stream.aclose()
            except Exception:
                pass

    # -- requests ------------------------------------------------------------

    async def handle_frame(self, frame: bytes) -> None:
        api_key, api_version, correlation_id = peek_request_header(frame)
        served = SERVED.get(api_key)
        if served is None:
            raise CloseConnection(f"unknown or unserved API key {api_key}")
        message = served.message
        supported = served.low <= api_version <= served.high
        if not supported:
            if api_key == ApiKey.API_VERSIONS:
                # Answer in v0 with our ranges, whatever version was asked: the client retries lower.
                body = {"error_code": ErrorCode.UNSUPPORTED_VERSION, "api_keys": self.broker.api_versions()}
                self._pending.extend(encode_response(API_VERSIONS, 0, correlation_id, body))
                return
            if api_version not in message.versions:
                raise CloseConnection(f"{message.name} v{api_version} is not a version we know")
        try:
            header, request = decode_request(frame, message, api_version)
        except DecodeError:
            log.debug("undecodable %s v%d frame from %s: %s", message.name, api_version, self.peer, frame[:512].hex())
            raise
        ctx = RequestContext(self.broker, api_version, correlation_id, header["client_id"], self.client_host, self)
        if not supported:
            response = self._error_response(served, request, api_version, ErrorCode.UNSUPPORTED_VERSION)
        else:
            if served.may_wait and self._pending:
                await self.flush()
            try:
                response = await served.handler(ctx, request) if served.is_async else served.handler(ctx, request)
            except KafkaError as exc:
                response = self._error_response(served, request, api_version, exc.code)
            except (CloseConnection, anyio.get_cancelled_exc_class()):
                raise
            except Exception:
                log.error("%s v%d from %s failed:\n%s", message.name, api_version, self.peer, traceback.format_exc())
                response = self._error_response(served, request, api_version, ErrorCode.UNKNOWN_SERVER_ERROR)
        if type(response) is Encoded:
            self._pending.append(frame_response(message, api_version, correlation_id, response))
        elif response is not None:
            self._pending.extend(encode_response(message, api_version, correlation_id, response))

    def _error_response(self, served, request: dict, api_version: int, code: int) -> dict:
        make = served.error_response or top_level_error
        return make(request, api_version, int(code))

    # -- responses -----------------------------------------------------------

    async def flush(self) -> None:
        """Send every pending response part, in order."""
        parts, self._pending = self._pending, []
        if not parts:
            return
        chunk: list[bytes] = []
        for part in parts:
            if isinstance(part, (bytes, bytearray, memoryview)):
                chunk.append(part)
                continue
            if part.size <= SENDFILE_MIN_BYTES:
                # A small range costs less read than sent with sendfile (whose set-up takes
                # several syscalls and loop turns), and it goes out in the same write.
                chunk.append(_read_range(part))
                continue
            if chunk:
                await self.stream.send(b"".join(chunk))
                chunk = []
            await self.send_file(part)
        if chunk:
            await self.stream.send(chunk[0] if len(chunk) == 1 else b"".join(chunk))

    async def send_file(self, part) -> None:
        """Send a file range (anything with ``file``, ``position``, ``size``) with sendfile when the loop can."""
        # anyio's asyncio stream keeps its transport as ``_transport``; asyncio's loop.sendfile
        # waits for the transport's buffer to drain first, so the bytes cannot reorder.
        transport = getattr(self.stream, "_transport", None)
        if transport is not None:
            loop = asyncio.get_running_loop()
            try:
                await loop.sendfile(transport, part.file, part.position, part.size, fallback=False)
                return
            except (NotImplementedError, asyncio.SendfileNotAvailableError):   # raised before sending
                pass
        # Fallback: read through Python (other event loops, or files sendfile cannot take).
        for start in range(part.position, part.position + part.size, 1 << 20):
            size = min(1 << 20, part.position + part.size - start)
            await self.stream.send(_read_range(part, start, size))


def _read_range(part, position: int | None = None, size: int | None = None) -> bytes:
    """Bytes of a file range (or of a piece of it), read with pread."""
    position = part.position if position is None else position
    size = part.size if size is None else size
    data = os.pread(part.file.fileno(), size, position)
    if len(data) != size:
        raise CloseConnection("file range shorter than announced")
    return data
