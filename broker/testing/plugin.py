"""The pytest plugin (entry point ``pytest11: kbroker``): a real Kafka broker per test, in milliseconds.

Fixtures:
- ``kafka_broker``: a fresh in-process ``KafkaBroker`` for the test, closed after it. Its settings
  come from the ini option ``kafka_broker_config`` (lines of ``key=value``, for every broker)
  and the test's marker ``@pytest.mark.kafka_broker(topics={"orders": 3}, config={...})``,
  which may also say ``process=True`` or ``data_dir=...``.
- ``kafka_broker_factory``: ``kafka_broker_factory(topics=..., config=..., process=...)`` starts
  more brokers, each closed after the test.
- ``kafka_bootstrap_servers``: the ``kafka_broker``'s ``"127.0.0.1:PORT"``, for code that needs only that.

Everything here is synchronous: the broker runs on its own thread, so async tests (anyio,
pytest-asyncio) use the same fixtures. When a test fails, its report shows the log lines of the
brokers it used (see below). A broker a test starts in its body and never closes is
reported with a warning naming the test, and closed at the end of the session.

The broker loggers (``kbroker``, ``storage``) say INFO under pytest unless the project set their
level: an in-process broker's lines are in pytest's "Captured log" sections of a failing test,
and a broker process's lines in a section "Captured kafka broker HOST:PORT log" of their own.
"""

from __future__ import annotations

import pytest

import broker.testing

_items: dict[str, list] = {}     # nodeid -> [(KafkaBroker, first log line of this test, phase started in)]
_now: dict[str, object] = {"item": None, "when": None}


class KafkaBrokerLeakWarning(pytest.PytestWarning):
    """A test left a KafkaBroker running."""


def pytest_addoption(parser) -> None:
    parser.addini("kafka_broker_config", type="linelist", default=[],
                  help="broker settings for every kafka_broker fixture, one key=value per line "
                       "(Kafka's server.properties keys)")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "kafka_broker(topics=None, config=None, process=False, data_dir=None): settings of the "
                   "test's kafka_broker fixture: topics as {name: partitions}, config as Kafka's broker keys")
    broker.testing.started_hooks.append(_started)
    from broker.testing.logs import log_info_lines

    log_info_lines()


def pytest_unconfigure(config) -> None:
    if _started in broker.testing.started_hooks:
        broker.testing.started_hooks.remove(_started)


def _started(kb) -> None:
    item = _now["item"]
    if item is not None:
        _items.setdefault(item.nodeid, []).append((kb, 0, _now["when"]))


def ini_properties(config) -> dict[str, str]:
    properties = {}
    for line in config.getini("kafka_broker_config"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"kafka_broker_config: expected key=value, got {line!r}")
        properties[key.strip()] = value.strip()
    return properties


@pytest.fixture
def kafka_broker_factory(request):
    """``kafka_broker_factory(topics=None, config=None, **options)`` -> a started ``KafkaBroker``
    (options: ``process``, ``data_dir``, ``port``, ``host``); every one is closed after the test."""
    from broker.testing import KafkaBroker

    defaults = ini_properties(request.config)
    made = []

    def make(topics=None, config=None, **options):
        kb = KafkaBroker(topics, {**defaults, **(config or {})}, **options)
        made.append(kb)
        return kb.start()

    yield make
    for kb in reversed(made):
        kb.close()


@pytest.fixture
def kafka_broker(request, kafka_broker_factory):
    """A fresh in-process Kafka broker for this test, closed after it (see ``@pytest.mark.kafka_broker``)."""
    marker = request.node.get_closest_marker("kafka_broker")
    options = dict(marker.kwargs) if marker is not None else {}
    if marker is not None and marker.args:
        options.setdefault("topics", marker.args[0])
    return kafka_broker_factory(**options)


@pytest.fixture
def kafka_bootstrap_servers(kafka_broker) -> str:
    """``"127.0.0.1:PORT"`` of this test's ``kafka_broker``."""
    return kafka_broker.bootstrap_servers


# -- which brokers a test used: their log lines in its report, and leaks ----------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _now["item"] = item
    try:
        return (yield)
    finally:
        _now["item"] = None
        _items.pop(item.nodeid, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    _now["when"] = "setup"
    from_before = _marks_of_live_brokers()
    try:
        return (yield)
    finally:
        # brokers of wider fixtures that the test may use: their lines from now on
        started = {id(kb) for kb, _, _ in _items.get(item.nodeid, [])}
        _items.setdefault(item.nodeid, []).extend(
            (kb, mark, "before") for kb, mark in from_before if id(kb) not in started)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    _now["when"] = "call"
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    _now["when"] = "teardown"
    try:
        return (yield)
    finally:
        for kb, _, when in _items.get(item.nodeid, []):
            if when == "call" and not kb._closed:
                item.warn(KafkaBrokerLeakWarning(
                    f"{item.nodeid} started a KafkaBroker ({kb.bootstrap_servers}) and never closed it; "
                    "it is closed at the end of the session (use `with KafkaBroker(...) as kb:`, kb.close(), "
                    "or the kafka_broker fixtures)"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
        for kb, mark, _ in _items.get(item.nodeid, []):
            if not kb.process:
                continue     # its lines are in pytest's own "Captured log" sections
            lines = kb.log_lines(mark)
            if lines:
                item.add_report_section(call.when, f"kafka broker {kb.bootstrap_servers} log", "\n".join(lines))
    return (yield)


def _marks_of_live_brokers() -> list:
    return [(kb, kb.log_mark()) for kb in list(broker.testing.live_brokers)]


def pytest_sessionfinish(session, exitstatus) -> None:
    for kb in list(broker.testing.live_brokers):
        kb.close()
