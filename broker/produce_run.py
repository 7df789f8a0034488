"""Pipelined Produce requests of one read, handled together.

A producer that keeps several requests in flight (librdkafka keeps up to 5) sends them back to
back, and one read of its socket then holds several. While the whole frames of a read are plain
Produce requests that need nothing but this broker's log, the connection hands them to its
ProduceRun instead of handling each alone; the first frame that is anything else ends the run:
the run is answered, then that frame is handled as always. Answers leave in request order, and
each request gets the answer, and its batches the offsets, that handling it alone would give
(broker/handlers/produce.py ``produce_requests``; storage/log.py ``ClientBatches``): the run
only shares what the requests have in common, the topic checks, one write per partition, the
wake-up of waiting fetches, one write of the answers.

A run none of whose requests was decoded from the shape of the one before it (kproto/produce_fast.py
Shape: same topic, partition and settings) has likely nothing to share (requests spread over
partitions): its requests are then served one at a time, as they cost less that way.

A request joins a run when the one-pass decoder takes it (Produce v3+, kproto/produce_fast.py)
and it has acks 1, -1 or 0 and no transactional batch; an acks=0 request ends its run (its
failure closes the connection, and no request after it may have been appended). A connection
makes runs on one broker (no replication), with no authorizer, no quota that may throttle, no
request statistics, no tap on Produce and no SASL gate; anything else is handled one request at
a time.
``KBROKER_PRODUCE_RUNS=0`` in the environment (or ``ProduceRun.enabled = False``) turns runs off,
to compare the two paths.
"""

from __future__ import annotations

import logging
import os
import struct
import traceback

from broker.context import RequestContext
from broker.handlers.produce import _any_transactional, produce_requests
from broker.registry import SERVED, Encoded
from kproto import produce_fast
from kproto.api_keys import ApiKey
from kproto.codec import encode_response, frame_response
from kproto.errors import ErrorCode
from kproto.messages import PRODUCE

log = logging.getLogger("kbroker.connection")

_version = struct.Struct(">h").unpack_from
_PRODUCE = int(ApiKey.PRODUCE)
_RUN_ACKS = (1, -1)


class ProduceRun:
    """A connection's Produce requests taken for one run, not yet answered."""

    __slots__ = ("connection", "requests", "headers", "shape")

    enabled = os.environ.get("KBROKER_PRODUCE_RUNS", "1") != "0"

    def __init__(self, connection) -> None:
        self.connection = connection
        self.requests: list[tuple[int, int, dict]] = []   # (api_version, acks, body)
        self.headers: list[dict] = []
        self.shape = produce_fast.Shape()   # of this connection's last request (kproto/produce_fast.py)

    def ready(self) -> bool:
        """Whether this connection's Produce requests may be handled together now."""
        connection = self.connection
        broker = connection.broker
        return (self.enabled and broker.replication is None and broker.authorizer is None and broker.stats is None
                and not connection._quotas.throttles and _PRODUCE not in connection._taps
                and "_handle" not in connection.__dict__)

    def take(self, frame: bytes):
        """Take a request frame into the run: True if taken; False if it is not one a run takes
        (handle it alone); else it is a Produce request a run does not take, decoded:
        (header, body), to be served alone without decoding it again."""
        if len(frame) < 4 or frame[0] or frame[1] != _PRODUCE:
            return False
        api_version = _version(frame, 2)[0]
        served = SERVED[_PRODUCE]
        if not served.low <= api_version <= served.high:
            return False
        if not self.requests:
            if not self.ready():
                return False
            self.shape.hits = 0
        decoded = produce_fast.decode_request(frame, api_version, self.shape)
        if decoded is None:
            return False
        body = decoded[1]
        acks = body["acks"]
        if (acks not in _RUN_ACKS and acks != 0) or _any_transactional(body):
            return decoded
        self.requests.append((api_version, acks, body))
        self.headers.append(decoded[0])
        if acks == 0:
            self.answer()
        return True

    def answer(self) -> None:
        """Handle the requests taken and queue their answers, in order, as one write."""
        requests, headers = self.requests, self.headers
        self.requests, self.headers = [], []
        connection = self.connection
        if len(requests) == 1 or not self.shape.hits:
            # Alone, or none decoded from the one before it (so likely none to a partition another
            # request of the run writes to, and nothing to share): each costs less served as always.
            for header, (_, _, body) in zip(headers, requests):
                connection._serve_produce(None, header, body)
            return
        header = headers[0]
        ctx = RequestContext(connection.broker, requests[0][0], header["correlation_id"], header["client_id"],
                             connection.client_host, connection)
        out = []
        for (api_version, _, body), header, answer in zip(requests, headers, produce_requests(ctx, requests)):
            correlation_id = header["correlation_id"]
            if type(answer) is Encoded:
                out.append(frame_response(PRODUCE, api_version, correlation_id, answer))
                continue
            if answer is None:
                continue    # acks=0
            if isinstance(answer, BaseException):
                log.error("%s v%d from %s failed:\n%s", PRODUCE.name, api_version, connection.peer,
                          "".join(traceback.format_exception(answer)))
                if out:
                    connection._queue((b"".join(out),))
                    out = []
                answer = connection._error_response(SERVED[_PRODUCE], body, api_version,
                                                    ErrorCode.UNKNOWN_SERVER_ERROR)
            out += encode_response(PRODUCE, api_version, correlation_id, answer)
        if out:
            connection._queue((b"".join(out),) if len(out) > 1 else out)
