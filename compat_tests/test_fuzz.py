"""Random well-formed requests of every served API and version, sent to a real broker.

Each request is drawn from the API's own declaration (kproto/tests/strategies.py):
any field values a client could send. The broker must answer or close that one
connection, never fail inside a handler (which it would log with a traceback and
answer UNKNOWN_SERVER_ERROR), and keep serving everyone else.
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import broker.handlers  # noqa: F401  (fills the registry)
from broker.registry import SERVED
from broker.testing import BrokerProcess, RawClient
from kproto.messages import API_VERSIONS
from kproto.tests.strategies import values

# Requests that may rightly wait (a long poll, a rebalance) get bounded waits.
WAITS = {"max_wait_ms": 50, "session_timeout_ms": 6000, "rebalance_timeout_ms": 100, "timeout_ms": 100}


def served_versions() -> list[tuple[int, int]]:
    cases = []
    for key, served in sorted(SERVED.items()):
        low, high = served.versions.low, served.versions.high
        cases += [(key, v) for v in sorted({low, (low + high) // 2, high})]
    return cases


@pytest.fixture(scope="module")
def fuzz_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    process = BrokerProcess(root / "data", log_path=root / "broker.log",
                            overrides={"group.min.session.timeout.ms": "10"}).start()
    yield process
    log = (root / "broker.log").read_text()
    assert process.proc.poll() is None, "the broker exited"
    with RawClient(process.bootstrap) as client:
        assert client.request(API_VERSIONS, 3, {"client_software_name": "fuzz",
                                                "client_software_version": "1"})["error_code"] == 0
    assert process.stop() == 0
    assert "Traceback" not in log, log[log.index("Traceback") - 300:][:3000]


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


@pytest.mark.parametrize("api_key,version", served_versions(),
                         ids=[f"{SERVED[k].message.name}-v{v}" for k, v in served_versions()])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_requests_are_answered_or_refused(fuzz_broker, api_key, version, data):
    message = SERVED[api_key].message
    request = bounded(data.draw(values(message.request.struct(version)), label="request"))
    with RawClient(fuzz_broker.bootstrap, timeout_s=3) as client:
        try:
            client.send(message, version, request)
            client.read_frame()            # an answer, or b"" if the broker closed this connection
        except (socket.timeout, ConnectionError):
            pass                           # parked (a join waiting for others) or acks=0: no answer due
