"""The registry of served APIs: one handler per API, registered with the versions it serves.

ApiVersions is answered from this registry, so what we advertise is exactly what
we serve. A handler is ``def handler(ctx, request) -> response dict | None`` (None:
no response, as for acks=0 produce), or ``async def`` when it may wait. A synchronous
handler may also return a coroutine (a long poll that must wait after all): the connection
then awaits it as it would an ``async def`` handler's, so the requests that need not wait
are answered in the read callback, without a task.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from kproto.schema import Message, Versions

Handler = Callable[[Any, dict], Awaitable[dict | None]]
ErrorResponse = Callable[[dict, int, int], dict]   # (request, api_version, error code) -> response


@dataclass(frozen=True)
class Served:
    message: Message
    versions: Versions           # advertised and served
    handler: Handler
    error_response: ErrorResponse | None
    may_wait: bool               # the handler can wait (long poll): flush earlier responses first
    low: int                     # versions.low and .high, for the per-request check
    high: int
    is_async: bool               # an ``async def`` handler, to be awaited


SERVED: dict[int, Served] = {}


class Encoded(bytes):
    """A handler's response body already encoded (a cached answer): sent as it is."""


class _Answered:
    """What a waiting handler returns when its response was sent already, from the callback that
    ended its wait (``Connection.answer_waiting``): nothing is left to send."""

    __slots__ = ()


ANSWERED = _Answered()


def handles(message: Message, versions: str, *, error_response: ErrorResponse | None = None,
            may_wait: bool = False) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``message`` at ``versions`` (which must be declared in kproto)."""
    served = Versions(versions)
    if served.low not in message.versions or served.high not in message.versions:
        raise ValueError(f"{message.name} v{versions} is not declared (declared v{message.versions.text})")

    def register(handler: Handler) -> Handler:
        if message.api_key in SERVED:
            raise ValueError(f"{message.name} already has a handler")
        SERVED[message.api_key] = Served(message, served, handler, error_response, may_wait, served.low, served.high,
                                         inspect.iscoroutinefunction(handler))
        return handler

    return register


def top_level_error(request: dict, api_version: int, code: int) -> dict:
    """The default error answer: the response's top-level error code."""
    return {"error_code": code}
