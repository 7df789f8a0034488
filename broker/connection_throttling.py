"""A connection's throttling by client quotas (broker/quotas.py), as Kafka throttles: a request's
handler time counted against its client's ``request_percentage``, the throttle time carried by
the answer, and the connection muted that long. A part of ``Connection`` (broker/connection.py),
kept here for the size of that module."""

from __future__ import annotations

import asyncio
from time import perf_counter_ns
from types import CoroutineType
from typing import Awaitable

from broker.clock import now_ms
from broker.context import RequestContext
from broker.quotas import CLIENT_THROTTLES_FROM, user_of
from broker.registry import Encoded, Served
from broker.security.settings import ANONYMOUS
from kproto.api_keys import ApiKey
from kproto.codec import decode_response, encode_response, frame_response


class Throttling:
    """Connection's methods for quotas; they use its ``_call``, ``_answer``, ``_respond``,
    ``_queue`` and ``_flush``."""

    def _metered(self, served: Served, api_version: int, correlation_id: int, request: dict,
                 ctx: RequestContext) -> Awaitable | None:
        """``_handle``'s end while a ``request_percentage`` quota is set (broker/quotas.py): the
        handler's time is counted against the client's quota, and when that goes over it the answer
        carries the throttle time (the larger of it and a byte rate's) and the connection is muted
        that long. Time a request waits (a long poll, a join) is not counted: Kafka counts the
        time its threads spend, not the time a request is parked."""
        started = perf_counter_ns()
        response = self._call(served, ctx, request, api_version)
        client_id = ctx.client_id or ""
        throttle_ms = self.broker.request_quotas.record_ns(user_of(self.principal), client_id,
                                                           perf_counter_ns() - started, now_ms())
        throttle = (throttle_ms, client_id) if throttle_ms else None
        if served.is_async or type(response) is CoroutineType:
            self._flush()
            return self._answer(served, api_version, correlation_id, request, response, throttle)
        if throttle is not None and response is not None:
            response = self._with_throttle(served, api_version, response, throttle)
        return self._respond(served, api_version, correlation_id, response)

    def _authenticating(self) -> bool:
        """Whether the SASL exchange is not over (Kafka's network layer answers it, uncounted)."""
        return self.sasl is not None and self.principal == ANONYMOUS

    def _with_throttle(self, served: Served, api_version: int, response, throttle: tuple[int, str]) -> dict:
        """The answer of a request over its request quota, carrying the throttle time. A fetch's is
        empty, as Kafka answers a throttled fetch, and its bytes are taken back."""
        throttle_ms, client_id = throttle
        if type(response) is Encoded:   # a cached answer: decoded, to carry the throttle
            response = decode_response(frame_response(served.message, api_version, 0, response)[4:],
                                       served.message, api_version)[1]
        if throttle_ms <= response.get("throttle_time_ms", 0):
            return response
        if served.message.api_key == ApiKey.FETCH and response.get("responses"):
            from broker.handlers.fetch import throttled_answer
            return throttled_answer(self.broker, user_of(self.principal), client_id, response, throttle_ms)
        return {**response, "throttle_time_ms": throttle_ms}

    async def _throttled(self, served: Served, api_version: int, correlation_id: int, response: dict) -> None:
        """A client over a quota (broker/quotas.py), as Kafka throttles it: from the
        versions where the client waits itself (KIP-219) it is answered at once, with the throttle
        time, and the connection is muted that long; an older client gets the answer after the
        wait. Either way nothing more is read from it meanwhile (this runs as the connection's
        task). A shutdown cuts the wait short."""
        delay_s = response["throttle_time_ms"] / 1000
        parts = encode_response(served.message, api_version, correlation_id, response)
        answer_first = api_version >= CLIENT_THROTTLES_FROM.get(served.message.name, 0)
        if answer_first:
            step = self._queue(parts)
            if step is not None:
                await step
            self._flush()
        self._waiting = True
        try:
            await asyncio.sleep(delay_s)
        finally:
            self._waiting = False
        if not answer_first:
            step = self._queue(parts)
            if step is not None:
                await step
