"""Fixtures for the HTTP port's tests: one in-process broker with its HTTP port on (port 0),
a raw-frame Kafka connection, an HTTP client, a fresh topic name per test.

As in the handler tests, every test also checks that the broker logged no error.
"""

from __future__ import annotations

import re
import uuid

import pytest

from broker.tests.handlers.serving import broker_errors, running_broker
from broker.tests.web.http import Http


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    with running_broker(tmp_path_factory.mktemp("web") / "data", http_port=0, http_lag_sample_ms=100,
                        telemetry_push_interval_ms=200) as served:
        yield served


@pytest.fixture
def http(served) -> Http:
    return Http(served.broker.config.http_port)


@pytest.fixture
def client(served):
    with served.client() as client:
        yield client


@pytest.fixture
def topic(request) -> str:
    return f"{re.sub(r'[^a-zA-Z0-9._-]', '-', request.node.name)[:60]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def no_broker_errors():
    with broker_errors() as errors:
        yield
    assert not errors.records, f"the broker logged errors:\n{errors.report()}"
