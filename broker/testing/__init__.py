"""Kafka in a test suite: ``KafkaBroker``, a real broker you hold in Python, and the pytest plugin.

    from broker.testing import KafkaBroker

    with KafkaBroker(topics={"orders": 3}) as kb:
        producer = confluent_kafka.Producer(kb.config())
        ...
        assert [r.value for r in kb.records("orders")] == [b"one"]

The pytest plugin (``broker.testing.plugin``, registered as a ``pytest11`` entry point) gives the
fixtures ``kafka_broker``, ``kafka_broker_factory`` and ``kafka_bootstrap_servers``. For the
project's own tests: ``BrokerProcess`` (``python -m broker`` on a free port) and ``RawClient``
(raw kproto frames over a socket).

Names are loaded on first use, so that the plugin costs a test run nothing until a broker is asked for.
"""

from __future__ import annotations

import importlib

# Shared with the pytest plugin without importing the broker: the KafkaBrokers started and not
# closed (held here, so that one a test dropped is still closed at exit), and what to call when
# one starts.
live_brokers: set = set()
started_hooks: list = []

_WHERE = {
    "KafkaBroker": "broker.testing.kafka_broker",
    "Fault": "broker.faults",
    "ReceivedRequest": "broker.faults",
    "StoredRecord": "broker.control",
    "BrokerProcess": "broker.testing.process",
    "free_port": "broker.testing.process",
    "process_rss_bytes": "broker.testing.process",
    "process_cpu_seconds": "broker.testing.process",
    "RawClient": "broker.testing.raw",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'broker.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
