"""Fixtures for handler tests: one in-process broker per session, a connection and a fresh topic name per test.

Every test here also checks that the broker logged no error meanwhile (a handler that
failed answers UNKNOWN_SERVER_ERROR and logs a traceback: that is a bug, even when the
test's own asserts pass).
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager

import pytest

from broker.tests.handlers.serving import broker_errors, running_broker


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """The shared broker: log files in a temporary directory, default settings."""
    with running_broker(tmp_path_factory.mktemp("handlers") / "data") as served:
        yield served


@pytest.fixture
def client(served):
    """A raw-frame connection to the shared broker."""
    with served.client() as client:
        yield client


@pytest.fixture
def topic(request) -> str:
    """A topic name of this test's own (not created)."""
    return f"{re.sub(r'[^a-zA-Z0-9._-]', '-', request.node.name)[:60]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def own_broker(tmp_path):
    """``with own_broker(auto_create_topics=False) as served:`` a broker with other settings, for one test."""
    @contextmanager
    def start(*, memory: bool = False, **settings):
        with running_broker(None if memory else tmp_path / "data", **settings) as served:
            yield served
    return start


@pytest.fixture(autouse=True)
def no_broker_errors():
    with broker_errors() as errors:
        yield
    assert not errors.records, f"the broker logged errors:\n{errors.report()}"
