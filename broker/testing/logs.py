"""The log lines of each in-process broker, kept apart by the thread that runs it.

An in-process broker logs through the same loggers as every other (``kbroker...`` and
``storage...``), on its own thread, at the levels the application set (WARNING unless it
said otherwise; the pytest plugin lets them say INFO). One handler on those loggers files
each record also under the broker whose thread made it (``KafkaBroker.log_lines()``);
records go on to the application's handlers as always.
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
    def __init__(self):
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter(FORMAT))
        self.by_thread: dict[int, BrokerLog] = {}

    def emit(self, record: logging.LogRecord) -> None:
        target = self.by_thread.get(record.thread)
        if target is not None:
            try:
                target.add(self.format(record))
            except Exception:
                self.handleError(record)


_router: _Router | None = None
_lock = threading.Lock()


def _install() -> _Router:
    global _router
    with _lock:
        if _router is None:
            router = _Router()
            for name in LOGGERS:
                logging.getLogger(name).addHandler(router)
            _router = router
        return _router


def log_info_lines() -> None:
    """Let the broker loggers say INFO (the pytest plugin's choice: pytest keeps a test's log lines
    and shows them only when it fails), unless the application set their levels itself."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET and logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


def capture_this_thread(log: BrokerLog) -> None:
    """File what the broker loggers say on the calling thread under ``log``."""
    _install().by_thread[threading.get_ident()] = log


def release_this_thread() -> None:
    if _router is not None:
        _router.by_thread.pop(threading.get_ident(), None)
