"""A connection from this broker to another: Kafka requests out, answers back by correlation id.

The controller talks to every broker through one (LeaderAndIsr, UpdateMetadata, StopReplica),
a follower to its leader (Fetch, OffsetForLeaderEpoch), a leader and a stopping broker to the
controller (AlterPartition, ControlledShutdown). Requests are pipelined; a reader task
matches the answers. The connection is made on first use and again after it breaks; a
request in flight when it breaks raises ``ConnectionError``, one without an answer within
its timeout ``TimeoutError``.
"""

from __future__ import annotations

import itertools
import logging

import anyio
from anyio.abc import SocketStream, TaskGroup

from kproto.codec import FrameReader, decode_response, encode_request
from kproto.schema import Message

log = logging.getLogger("kbroker.channel")

RECEIVE_BYTES = 1 << 20


class _Waiting:
    __slots__ = ("message", "version", "event", "response", "error")

    def __init__(self, message: Message, version: int):
        self.message, self.version = message, version
        self.event = anyio.Event()
        self.response: dict | None = None
        self.error: Exception | None = None


class BrokerChannel:
    def __init__(self, task_group: TaskGroup, host: str, port: int, *, client_id: str,
                 connect_timeout_s: float = 5.0):
        self._tg = task_group
        self.host, self.port = host, port
        self.client_id = client_id
        self.connect_timeout_s = connect_timeout_s
        self._stream: SocketStream | None = None
        self._connecting = anyio.Lock()
        self._sending = anyio.Lock()
        self._waiting: dict[int, _Waiting] = {}
        self._correlation = itertools.count(1)
        self._closed = False

    def retarget(self, host: str, port: int) -> None:
        """The peer moved (re-registered elsewhere): reconnect there on the next request."""
        if (host, port) != (self.host, self.port):
            self.host, self.port = host, port
            self._drop(ConnectionError("the broker moved"))

    async def request(self, message: Message, version: int, body: dict, timeout_s: float = 30.0) -> dict:
        stream = await self._connect()
        correlation_id = next(self._correlation)
        waiting = self._waiting[correlation_id] = _Waiting(message, version)
        try:
            frame = encode_request(message, version, correlation_id, body, self.client_id)
            async with self._sending:
                await stream.send(frame)
            with anyio.fail_after(timeout_s):
                await waiting.event.wait()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            self._drop(ConnectionError(str(exc) or type(exc).__name__))
            raise ConnectionError(f"{self.host}:{self.port}: {exc or type(exc).__name__}") from None
        finally:
            self._waiting.pop(correlation_id, None)
        if waiting.error is not None:
            raise waiting.error
        return waiting.response

    async def _connect(self) -> SocketStream:
        if self._closed:
            raise ConnectionError("channel closed")
        if self._stream is not None:
            return self._stream
        async with self._connecting:
            if self._stream is None:
                try:
                    with anyio.fail_after(self.connect_timeout_s):
                        stream = await anyio.connect_tcp(self.host, self.port)
                except (OSError, TimeoutError) as exc:
                    raise ConnectionError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
                self._stream = stream
                self._tg.start_soon(self._read, stream)
            return self._stream

    async def _read(self, stream: SocketStream) -> None:
        frames = FrameReader()
        try:
            while True:
                frames.feed(await stream.receive(RECEIVE_BYTES))
                while (frame := frames.next_frame()) is not None:
                    self._answer(frame)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            if self._stream is stream:
                self._drop(ConnectionError(f"{self.host}:{self.port} closed the connection ({type(exc).__name__})"))
        except Exception as exc:   # an answer we cannot read: this connection is done
            log.warning("connection to %s:%d: %r", self.host, self.port, exc)
            if self._stream is stream:
                self._drop(ConnectionError(f"unreadable answer from {self.host}:{self.port}"))

    def _answer(self, frame: bytes) -> None:
        correlation_id = int.from_bytes(frame[:4], "big", signed=True)
        waiting = self._waiting.get(correlation_id)
        if waiting is None:
            return   # its requester gave up
        try:
            _, waiting.response = decode_response(frame, waiting.message, waiting.version)
        except Exception as exc:
            waiting.error = ConnectionError(f"unreadable {waiting.message.name} answer: {exc}")
        waiting.event.set()

    def _drop(self, error: Exception) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._tg.start_soon(_close_quietly, stream)
        for waiting in list(self._waiting.values()):
            if waiting.response is None and waiting.error is None:
                waiting.error = error
                waiting.event.set()

    async def aclose(self) -> None:
        self._closed = True
        self._drop(ConnectionError("channel closed"))


async def _close_quietly(stream: SocketStream) -> None:
    with anyio.CancelScope(shield=True):
        try:
            await stream.aclose()
        except Exception:
            pass
