"""Random well-formed requests of every served API and version, sent to a real broker.

Each request is drawn from the API's own declaration (kproto/tests/strategies.py):
any field values a client could send. Each one is checked as soon as it is answered,
inside the test body, so Hypothesis shrinks a failure to the request that caused it:

- the answer decodes as that API's response at that version and carries the request's
  correlation id; or the broker closed that one connection. Only an acks=0 Produce
  has no answer: the next frame on its connection answers the ApiVersions sent after it;
- a new connection is served (the broker is alive and serving everyone else);
- the broker logged no error meanwhile (a handler that fails logs a traceback and
  answers UNKNOWN_SERVER_ERROR).

The last test injects a bug into one handler of a broker process and checks that the
fuzz catches it and shrinks it to a one-topic request: were the checks above to go
blind, that test would fail.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import broker.handlers  # noqa: F401  (fills the registry)
from broker.registry import SERVED
from broker.testing import BrokerProcess, RawClient
from kproto.codec import decode_response
from kproto.messages import API_VERSIONS, METADATA, PRODUCE
from kproto.schema import Message
from kproto.tests.strategies import values

# Requests that may rightly wait (a long poll, a rebalance) get bounded waits.
WAITS = {"max_wait_ms": 50, "session_timeout_ms": 300, "rebalance_timeout_ms": 100, "timeout_ms": 100}
FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
LOGGED_ERROR = re.compile(r"Traceback|\bERROR\b")


def served_versions() -> list[tuple[int, int]]:
    cases = []
    for key, served in sorted(SERVED.items()):
        low, high = served.versions.low, served.versions.high
        cases += [(key, v) for v in sorted({low, (low + high) // 2, high})]
    return cases


class Fuzzed:
    """A broker process under fuzz, and the part of its log not yet looked at."""

    def __init__(self, process: BrokerProcess, log_path: Path):
        self.process = process
        self.log_path = log_path
        self._seen = 0

    def new_log(self) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(self._seen)
            data = f.read()
        self._seen += len(data)
        return data.decode(errors="replace")


@pytest.fixture(scope="module")
def fuzz_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    process = BrokerProcess(root / "data", log_path=root / "broker.log",
                            overrides={"group.min.session.timeout.ms": "10"}).start()
    yield Fuzzed(process, root / "broker.log")
    assert process.stop() == 0


def bounded(request: dict) -> dict:
    """The drawn request with waits made short, recursively."""
    out = {}
    for name, value in request.items():
        if name in WAITS and isinstance(value, int):
            value = max(0, min(value, WAITS[name]))
        elif isinstance(value, dict):
            value = bounded(value)
        elif isinstance(value, list):
            value = [bounded(v) if isinstance(v, dict) else v for v in value]
        out[name] = value
    return out


def draw_request(data, message: Message, version: int) -> dict:
    return bounded(data.draw(values(message.request.struct(version)), label="request"))


def answered_or_refused(target: Fuzzed, message: Message, version: int, request: dict) -> None:
    """Send one request and check what came of it (see the module docstring)."""
    what = f"{message.name} v{version} request {request!r}"
    with RawClient(target.process.bootstrap, timeout_s=10) as client:
        correlation_id = client.send(message, version, request)
        if message is PRODUCE and request["acks"] == 0:
            correlation_id = client.send(API_VERSIONS, 0, {})
            message, version = API_VERSIONS, 0
        try:
            frame = client.read_frame()   # b"": the broker closed this connection
        except ConnectionResetError:      # closed with our next request unread
            frame = b""
        if frame:
            assert struct.unpack_from(">i", frame)[0] == correlation_id, f"{what}: answered out of turn"
            decode_response(frame, message, version)   # raises if it is not this API's response
    with RawClient(target.process.bootstrap, timeout_s=10) as probe:
        assert probe.request(API_VERSIONS, 0, {})["error_code"] == 0, f"{what}: the broker stopped serving"
    log = target.new_log()   # what the request logged is there: the broker answered the probe after it
    assert not LOGGED_ERROR.search(log), f"{what} made the broker log an error:\n{log[-3000:]}"


@pytest.mark.parametrize("api_key,version", served_versions(),
                         ids=[f"{SERVED[k].message.name}-v{v}" for k, v in served_versions()])
@FUZZ
@given(data=st.data())
def test_random_requests_are_answered_or_refused(fuzz_broker, api_key, version, data):
    message = SERVED[api_key].message
    answered_or_refused(fuzz_broker, message, version, draw_request(data, message, version))


# -- the fuzz can fail -----------------------------------------------------------------------------

INJECTED_BUG = """
import dataclasses, sys
import broker.handlers
from broker.registry import SERVED
from kproto.api_keys import ApiKey

served = SERVED[ApiKey.METADATA]

def metadata(ctx, req):
    if req["topics"]:
        raise RuntimeError("injected bug: Metadata fails for any named topic")
    return served.handler(ctx, req)

SERVED[ApiKey.METADATA] = dataclasses.replace(served, handler=metadata)
from broker.cli import main
sys.exit(main())
"""


class BuggyBroker(BrokerProcess):
    """``python -m broker`` with the bug above injected into its Metadata handler."""

    def command(self) -> list[str]:
        python, *args = super().command()
        assert args[:2] == ["-m", "broker"]
        return [python, "-c", INJECTED_BUG, *args[2:]]


def test_the_fuzz_catches_an_injected_handler_bug(tmp_path):
    failing: list[dict] = []
    with BuggyBroker(tmp_path / "data", log_path=tmp_path / "broker.log") as process:
        target = Fuzzed(process, tmp_path / "broker.log")

        @settings(FUZZ, max_examples=200, database=None)
        @given(data=st.data())
        def fuzz(data):
            request = draw_request(data, METADATA, 12)
            try:
                answered_or_refused(target, METADATA, 12, request)
            except AssertionError:
                failing.append(request)
                raise

        with pytest.raises(AssertionError, match="injected bug"):
            fuzz()
    # Hypothesis ends by replaying the smallest failing example it found: one topic
    assert len(failing[-1]["topics"]) == 1
