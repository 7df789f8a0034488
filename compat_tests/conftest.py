"""Fixtures: a real broker process on a free port, with its log in a temporary directory."""

from __future__ import annotations

import re
import uuid

import pytest

from broker.testing import BrokerProcess

# a sample project run by test_testkit.py in a pytest of its own, not collected here
collect_ignore = ["testkit_sample"]


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> BrokerProcess:
    """One broker for the whole session (tests use their own topic names)."""
    root = tmp_path_factory.mktemp("kbroker")
    process = BrokerProcess(root / "data", log_path=root / "broker.log").start()
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


@pytest.fixture
def own_broker(tmp_path) -> BrokerProcess:
    """A broker of the test's own, to restart, kill or configure."""
    process = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log")
    yield process
    process.kill()


@pytest.fixture
def bootstrap(broker) -> str:
    return broker.bootstrap


@pytest.fixture
def topic_name(request) -> str:
    """A fresh topic name per test."""
    return f"{re.sub(r'[^a-zA-Z0-9._-]', '-', request.node.name)[:60]}-{uuid.uuid4().hex[:8]}"
