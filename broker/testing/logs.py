"""The log lines of each in-process broker, kept apart by the thread that runs it.

An in-process broker logs through the same loggers as every other (``kbroker...`` and
``storage...``), on its own thread. One handler on those loggers files each record under
the broker whose thread made it, at INFO and above, so a test report can show the lines of
that broker alone. What the application's own logging would have shown before (records at
or above the loggers' previous effective level) still goes on to its handlers: a broker in a
test does not make the application's log louder.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

LOGGERS = ("kbroker", "storage")
MAX_LINES = 20_000
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class BrokerLog:
    """One broker's lines, oldest first (the last MAX_LINES); ``mark()`` and ``since(mark)`` cut out a test's."""

    def __init__(self) -> None:
        self._lines: deque[str] = deque(maxlen=MAX_LINES)
        self._count = 0     # lines ever added: marks stay valid when old lines are dropped

    def add(self, line: str) -> None:
        self._lines.append(line)
        self._count += 1

    def mark(self) -> int:
        return self._count

    def since(self, mark: int = 0) -> list[str]:
        lines = list(self._lines)
        new = self._count - mark
        return lines[-new:] if 0 < new <= len(lines) else (lines if new > len(lines) else [])


class _Router(logging.Handler):
    def __init__(self, forward_level: dict[str, int]):
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter(FORMAT))
        self.by_thread: dict[int, BrokerLog] = {}
        self.forward_level = forward_level

    def emit(self, record: logging.LogRecord) -> None:
        target = self.by_thread.get(record.thread)
        if target is not None:
            try:
                target.add(self.format(record))
            except Exception:
                self.handleError(record)
        root_name = record.name.partition(".")[0]
        if record.levelno >= self.forward_level.get(root_name, logging.WARNING):
            _forward(logging.getLogger(root_name), record)


def _forward(logger: logging.Logger, record: logging.LogRecord) -> None:
    """Hand the record to the handlers above ``logger``, as propagation would have."""
    parent = logger.parent
    while parent is not None:
        for handler in parent.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        if not parent.propagate:
            break
        parent = parent.parent


_router: _Router | None = None
_lock = threading.Lock()


def _install() -> _Router:
    global _router
    with _lock:
        if _router is None:
            forward = {}
            router = _Router(forward)
            for name in LOGGERS:
                logger = logging.getLogger(name)
                forward[name] = logger.getEffectiveLevel()
                if logger.getEffectiveLevel() > logging.INFO:
                    logger.setLevel(logging.INFO)
                logger.addHandler(router)
                logger.propagate = False   # the router forwards what would have propagated
            _router = router
        return _router


def capture_this_thread(log: BrokerLog) -> None:
    """File what the broker loggers say on the calling thread under ``log``."""
    _install().by_thread[threading.get_ident()] = log


def release_this_thread() -> None:
    if _router is not None:
        _router.by_thread.pop(threading.get_ident(), None)
