"""The admin endpoints' door to fault injection and the request log: one small interface.

The HTTP layer (broker/web/admin.py) calls only ``FaultInjection``. ``BrokerFaults`` wraps
the broker's own plain objects, ``broker.faults`` (error, delay, disconnect per API,
optionally per topic and partition; clear; the faults in force) and ``broker.request_log``
(enable, the requests received, clear), the Python test API's objects (broker/faults.py)
used in-process by ``broker.testing``.

Calls take plain values and return plain values (dicts), and raise ValueError for a
bad API name, error code, count or filter (answered 400 with its message).
"""

from __future__ import annotations

from typing import Protocol


class FaultInjection(Protocol):
    def error(self, api: str | int, code: str | int, *, times: int | None = 1, topic: str | None = None,
              partition: int | None = None) -> dict: ...

    def delay(self, api: str | int, ms: int, *, times: int | None = None, topic: str | None = None,
              partition: int | None = None) -> dict: ...

    def disconnect(self, api: str | int, *, times: int | None = 1, topic: str | None = None,
                   partition: int | None = None) -> dict: ...

    def remove(self, fault_id: int) -> None: ...

    def clear(self) -> None: ...

    def active(self) -> list[dict]: ...

    def enable_requests(self, max_entries: int | None = None) -> None: ...

    def disable_requests(self) -> None: ...

    def requests(self, api: str | int | None = None) -> list[dict]: ...

    def clear_requests(self) -> None: ...


class BrokerFaults:
    """``FaultInjection`` over the broker's ``faults`` and ``request_log`` objects."""

    def __init__(self, faults, request_log):
        self._faults = faults
        self._log = request_log

    def error(self, api, code, *, times=1, topic=None, partition=None) -> dict:
        return self._faults.error(api, code, times=times, topic=topic, partition=partition).as_dict()

    def delay(self, api, ms, *, times=None, topic=None, partition=None) -> dict:
        return self._faults.delay(api, ms, times=times, topic=topic, partition=partition).as_dict()

    def disconnect(self, api, *, times=1, topic=None, partition=None) -> dict:
        return self._faults.disconnect(api, times=times, topic=topic, partition=partition).as_dict()

    def remove(self, fault_id: int) -> None:
        self._faults.remove(fault_id)

    def clear(self) -> None:
        self._faults.clear()

    def active(self) -> list[dict]:
        return [fault.as_dict() for fault in self._faults.active]

    def enable_requests(self, max_entries: int | None = None) -> None:
        self._log.enable(max_entries)

    def disable_requests(self) -> None:
        self._log.disable()

    def requests(self, api=None) -> list[dict]:
        return [entry.as_dict() for entry in self._log.entries(api)]

    def clear_requests(self) -> None:
        self._log.clear()


def faults_for(broker) -> FaultInjection:
    """The broker's fault injection (``broker.faults`` and ``broker.request_log``)."""
    return BrokerFaults(broker.faults, broker.request_log)
