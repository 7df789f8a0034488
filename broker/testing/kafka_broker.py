"""KafkaBroker: a real Kafka-compatible broker a test holds in its hand.

In-process (the default), it runs on a thread and event loop of its own, on 127.0.0.1 and a
free port (or the one given), with its log in memory (or under ``data_dir``): starting
one costs milliseconds. ``process=True`` runs the same broker as a child process
(``python -m broker``) driven through a control socket (broker/control.py), for suites that
want it apart; everything below works the same way on both.

    with KafkaBroker(topics={"orders": 3}, config={"offsets.retention.minutes": "5"}) as kb:
        kb.bootstrap_servers            # "127.0.0.1:PORT"
        kb.config(group_id="g")         # a confluent-kafka config: {"bootstrap.servers": ..., "group.id": "g"}
        kb.create_topic("audit", partitions=1, config={"cleanup.policy": "compact"})
        kb.wait_for("orders", 3)        # the records, once the log holds 3
        kb.records("orders", 0)         # StoredRecord(topic, partition, offset, key, value, headers, timestamp)
        kb.committed("my-group")        # {("orders", 0): 3, ...}
        kb.faults.error("Produce", "NOT_LEADER_OR_FOLLOWER", times=2)
        kb.requests                     # ReceivedRequest(api, version, client_id, connection, time_ms, ...)
        kb.stop(); kb.start()           # down (connections refused), then back on the same port with the same data

A test broker starts with ``group.initial.rebalance.delay.ms=0`` (as Testcontainers' Kafka
does), so a consumer group forms at once; ``config`` overrides it like any other key.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import broker.testing
from broker.control import StoredRecord, from_json, to_json
from broker.faults import Fault, ReceivedRequest, api_key_of
from broker.testing.logs import BrokerLog

log = logging.getLogger("kbroker")

TEST_DEFAULTS = {"group.initial.rebalance.delay.ms": "0"}

# Python-side settings of confluent-kafka, spelled with underscores (kept as they are by ``config``)
CONFLUENT_PYTHON_KEYS = {"error_cb", "throttle_cb", "stats_cb", "oauth_cb", "on_delivery", "on_commit", "logger"}

_live = broker.testing.live_brokers             # started and not closed
_started_hooks = broker.testing.started_hooks   # the pytest plugin's: which test started which broker


class KafkaBroker:
    """A broker for tests: ``with KafkaBroker(...) as kb:``, or ``start()`` and ``close()``."""

    def __init__(self, topics: dict[str, int] | list[str] | None = None, config: dict[str, object] | None = None, *,
                 port: int = 0, host: str = "127.0.0.1", data_dir: str | os.PathLike | None = None,
                 process: bool = False, start_timeout: float = 20.0):
        if isinstance(topics, (list, tuple, set)):
            topics = {name: 1 for name in topics}
        self._topics = dict(topics or {})
        self._properties = {**TEST_DEFAULTS, **{k: _property(v) for k, v in (config or {}).items()}}
        self.host = host
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.process = process
        self._port = port
        self._start_timeout = start_timeout
        self._backend: _InProcess | _Process | None = None
        self._closed = False
        self._faults = FaultsView(self)
        self._requests = RequestsView(self)
        self.log = BrokerLog()

    # -- where it is ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """``"127.0.0.1:PORT"``: what clients are given as their bootstrap servers."""
        return f"{self.host}:{self._port}"

    def config(self, **extra) -> dict:
        """A confluent-kafka (librdkafka) config for this broker; ``extra`` keys may use underscores
        for dots (``group_id="g"``, ``auto_offset_reset="earliest"``) or be given as they are."""
        settings = {"bootstrap.servers": self.bootstrap_servers}
        for key, value in extra.items():
            settings[key if key in CONFLUENT_PYTHON_KEYS else key.replace("_", ".")] = value
        return settings

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether it serves clients now (started, and not stopped or closed)."""
        return self._backend is not None and not self._closed and self._backend.call("listening")

    def start(self) -> "KafkaBroker":
        """Start the broker; after ``stop()``, serve again on the same port with the same data."""
        if self._closed:
            raise RuntimeError("this KafkaBroker is closed; make a new one")
        if self._backend is None:
            backend_class = _Process if self.process else _InProcess
            backend = backend_class(self)
            self._port = backend.start(self._start_timeout)
            self._backend = backend
            _live.add(self)
            for hook in _started_hooks:
                hook(self)
            for name, partitions in self._topics.items():
                self.create_topic(name, partitions)
        else:
            self._backend.call("start")
        return self

    def stop(self) -> None:
        """Take the broker down: its connections are closed (after answering what they sent) and new
        ones refused, until ``start()``. Its data, faults and request log stay."""
        if self._backend is not None and not self._closed:
            self._backend.call("stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """End the broker for good (a memory log is gone; a ``data_dir`` is flushed and released)."""
        if self._closed:
            return
        self._closed = True
        _live.discard(self)
        if self._backend is not None:
            self._backend.close()

    def __enter__(self) -> "KafkaBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "not started" if self._backend is None else self.bootstrap_servers
        return f"<KafkaBroker {'process' if self.process else 'in-process'} {state}>"

    # -- its log -----------------------------------------------------------------------------

    def log_mark(self) -> int:
        """A place in the broker's log; ``log_lines(mark)`` gives the lines after it."""
        self._pull_log()
        return self.log.mark()

    def log_lines(self, mark: int = 0) -> list[str]:
        """The broker's log lines (INFO and above) since ``mark``."""
        self._pull_log()
        return self.log.since(mark)

    def _pull_log(self) -> None:
        if isinstance(self._backend, _Process):
            self._backend.new_log_lines()

    # -- topics and records ------------------------------------------------------------------

    def create_topic(self, name: str, partitions: int = 1, config: dict[str, object] | None = None) -> None:
        self._call("create_topic", name, partitions, {k: _property(v) for k, v in (config or {}).items()})

    def delete_topic(self, name: str) -> None:
        self._call("delete_topic", name)

    def topics(self) -> dict[str, int]:
        """Partition counts by topic name, internal topics included."""
        return self._call("topics")

    def records(self, topic: str, partition: int | None = None) -> list[StoredRecord]:
        """The records the log holds, read straight from it (no client): of one partition, or of
        every partition in turn. Each has topic, partition, offset, key, value, headers and timestamp."""
        return self._call("records", topic, partition)

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        """The group's committed offsets by (topic, partition)."""
        return self._call("committed", group)

    def wait_for(self, topic: str, count: int, timeout: float = 10.0) -> list[StoredRecord]:
        """Wait (``timeout`` seconds at most) until the topic's log holds ``count`` records; return them all."""
        deadline = time.monotonic() + timeout
        pause = 0.001
        while True:
            held = self._call("record_count", topic)
            if held >= count:
                return self.records(topic)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"topic {topic!r} holds {held} of {count} records after {timeout:g} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    async def wait_for_async(self, topic: str, count: int, timeout: float = 10.0) -> list[StoredRecord]:
        """``wait_for`` for async tests: the test's event loop runs on while it waits."""
        import anyio

        deadline = time.monotonic() + timeout
        pause = 0.001
        while True:
            held = self._call("record_count", topic)
            if held >= count:
                return self.records(topic)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"topic {topic!r} holds {held} of {count} records after {timeout:g} s")
            await anyio.sleep(pause)
            pause = min(pause * 2, 0.02)

    # -- faults and the request log ---------------------------------------------------------

    @property
    def faults(self) -> "FaultsView":
        """Errors, delays and disconnects to inject: ``kb.faults.error("Produce", "NOT_LEADER_OR_FOLLOWER")``."""
        return self._faults

    @property
    def requests(self) -> "RequestsView":
        """The requests the broker received, oldest first (the last 10,000)."""
        return self._requests

    # -- the in-process broker's insides ----------------------------------------------------

    @property
    def broker(self):
        """The ``broker.core.Broker`` itself (in-process only): touch it only through ``call``."""
        return self._in_process().broker

    def call(self, func: Callable, *args):
        """Run ``func(*args)`` on the broker's event loop thread (in-process only) and return its result."""
        return self._in_process().portal.call(func, *args)

    def _in_process(self) -> "_InProcess":
        if not isinstance(self._backend, _InProcess):
            raise RuntimeError("only an in-process KafkaBroker that has started has this")
        return self._backend

    def _call(self, name: str, *args, **kwargs):
        if self._backend is None or self._closed:
            raise RuntimeError(f"{self!r} is not running: start it first")
        return self._backend.call(name, *args, **kwargs)


def _property(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class FaultsView:
    """``kb.faults``: the broker's faults (broker/faults.py), from the test's thread or another process."""

    def __init__(self, kb: KafkaBroker):
        self._kb = kb

    def error(self, api: str | int, code: str | int, *, times: int | None = 1, topic: str | None = None,
              partition: int | None = None) -> Fault:
        """Answer the next ``times`` requests of ``api`` (None: every one) with error ``code`` in
        that API's error shape; only those naming ``topic`` (and ``partition``) if given."""
        return self._add("error", api, code=code, times=times, topic=topic, partition=partition)

    def delay(self, api: str | int, ms: int, *, times: int | None = None, topic: str | None = None,
              partition: int | None = None) -> Fault:
        """Hold requests of ``api`` ``ms`` milliseconds before handling them; the connection's later
        requests wait behind, other connections are served meanwhile."""
        return self._add("delay", api, ms=ms, times=times, topic=topic, partition=partition)

    def disconnect(self, api: str | int, *, times: int | None = 1, topic: str | None = None,
                   partition: int | None = None) -> Fault:
        """Close the connection on the next ``times`` requests of ``api``, without handling them."""
        return self._add("disconnect", api, times=times, topic=topic, partition=partition)

    def clear(self) -> None:
        """Remove every fault."""
        self._kb._call("clear_faults")

    def remove(self, fault: Fault | int) -> None:
        self._kb._call("remove_fault", fault if isinstance(fault, int) else fault.id)

    @property
    def active(self) -> list[Fault]:
        """The faults in force, with how many times each has applied and has left."""
        return [Fault(**entry) for entry in self._kb._call("faults")]

    def _add(self, kind: str, api, **settings) -> Fault:
        return Fault(**self._kb._call("add_fault", kind, api, **settings))


class RequestsView:
    """``kb.requests``: what the broker received, oldest first; a fresh snapshot at each look."""

    def __init__(self, kb: KafkaBroker):
        self._kb = kb

    def of(self, api: str | int) -> list[ReceivedRequest]:
        """The requests of one API (``"Produce"``, or its key)."""
        api_key_of(api)   # a bad name is a ValueError here, with the valid ones
        return [ReceivedRequest(**{**r, "topics": tuple(r["topics"])}) for r in self._kb._call("requests", api)]

    def clear(self) -> None:
        self._kb._call("clear_requests")

    def _all(self) -> list[ReceivedRequest]:
        return [ReceivedRequest(**{**r, "topics": tuple(r["topics"])}) for r in self._kb._call("requests")]

    def __iter__(self) -> Iterator[ReceivedRequest]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, index):
        return self._all()[index]

    def __repr__(self) -> str:
        return repr(self._all())


# -- in this process --------------------------------------------------------------------------

class _InProcess:
    """The broker on a daemon thread of its own: its event loop, a portal into it."""

    def __init__(self, kb: KafkaBroker):
        from broker.config import BrokerConfig, apply_properties

        self.kb = kb
        self.config = apply_properties(BrokerConfig(host=kb.host, port=kb.port, data_dir=kb.data_dir),
                                       dict(kb._properties))
        self.portal = None
        self.broker = None
        self.control = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._done = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float) -> int:
        self._thread = threading.Thread(target=self._run, name=f"kbroker-{self.config.host}:{self.config.port}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"the broker did not start within {timeout_s:g} s")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self.port

    def _run(self) -> None:
        import anyio

        from broker.testing.logs import capture_this_thread, release_this_thread

        capture_this_thread(self.kb.log)
        try:
            anyio.run(self._main)
        except BaseException as exc:   # before it served: the starter raises it
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                raise
        finally:
            release_this_thread()

    async def _main(self) -> None:
        import anyio
        from anyio.from_thread import BlockingPortal

        from broker import handlers  # noqa: F401  (registers every handler)
        from broker.control import Control
        from broker.core import Broker
        from broker.server import Server

        broker = Broker(self.config)
        try:
            server = Server(broker)
            address = await server.listen()   # outside the task groups: a port in use raises as it is
            broker.request_log.enable()
            log.info("kbroker in-process on %s:%d, data in %s", address[0], address[1],
                     self.config.data_dir or "memory")
            async with BlockingPortal() as portal, anyio.create_task_group() as tg:
                await tg.start(broker.start_background)
                self.port = address[1]
                self.broker, self.control, self.portal = broker, Control(broker, server), portal
                self._done = anyio.Event()
                self._ready.set()
                await self._done.wait()
                await server.drain(deadline_s=5)
                tg.cancel_scope.cancel()
        finally:
            broker.close()

    def call(self, name: str, *args, **kwargs):
        return self.portal.call(functools.partial(getattr(self.control, name), *args, **kwargs))

    def close(self) -> None:
        if self._thread is None:
            return
        if self._done is not None and self._thread.is_alive():
            try:
                self.portal.call(self._done.set)
            except RuntimeError:   # the loop is gone already
                pass
        self._thread.join(30)
        self._thread = None


# -- in a child process ----------------------------------------------------------------------

class _Process:
    """``python -m broker`` with a control socket, in a temporary directory of its own."""

    def __init__(self, kb: KafkaBroker):
        self.kb = kb
        self.tmp = Path(tempfile.mkdtemp(prefix="kbroker-"))
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._reader = None
        self._log_file = None
        self._log_read = 0

    @property
    def log_path(self) -> Path:
        return self.tmp / "broker.log"

    def command(self) -> list[str]:
        kb = self.kb
        cmd = [sys.executable, "-m", "broker", "--host", kb.host, "--port", str(kb.port),
               "--ready-file", str(self.tmp / "ready"), "--control", str(self.tmp / "control.sock")]
        cmd += ["--memory"] if kb.data_dir is None else ["--data-dir", str(kb.data_dir)]
        for key, value in kb._properties.items():
            cmd += ["-o", f"{key}={value}"]
        return cmd

    def start(self, timeout_s: float) -> int:
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._log_file)
        ready = self.tmp / "ready"
        deadline = time.monotonic() + timeout_s
        pause = 0.002
        while not ready.exists():
            if self.proc.poll() is not None:
                lines = self.log_path.read_text(errors="replace").strip().splitlines()
                self.close()
                raise OSError(f"the broker process exited with {self.proc.returncode}: "
                              f"{lines[-1] if lines else 'no output'}")
            if time.monotonic() > deadline:
                self.close()
                raise TimeoutError(f"the broker process did not start within {timeout_s:g} s")
            time.sleep(pause)
            pause = min(pause * 1.5, 0.02)
        address = ready.read_text().strip()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(self.tmp / "control.sock"))
        self._reader = self.sock.makefile("rb")
        self.call("enable_request_log")
        return int(address.rpartition(":")[2])

    def call(self, name: str, *args, **kwargs):
        if self.sock is None:
            raise RuntimeError("the broker process is not running")
        line = json.dumps({"call": name, "args": to_json(list(args)), "kwargs": to_json(kwargs)}).encode()
        self.sock.sendall(line + b"\n")
        reply = self._reader.readline()
        if not reply:
            raise RuntimeError(f"the broker process ended (see {self.log_path})")
        answer = json.loads(reply)
        if "error" in answer:
            kind = {"ValueError": ValueError, "TypeError": TypeError, "KeyError": KeyError}.get(answer["error"],
                                                                                              RuntimeError)
            raise kind(answer["message"])
        return from_json(answer["result"])

    def new_log_lines(self) -> list[str]:
        """Lines the process logged since the last call (they go to ``kb.log`` too)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_read)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        self._log_read += end
        lines = data[:end].decode(errors="replace").splitlines()
        for line in lines:
            self.kb.log.add(line)
        return lines

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.new_log_lines()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        shutil.rmtree(self.tmp, ignore_errors=True)


@atexit.register
def _close_at_exit() -> None:
    """Brokers never closed: child processes are not left behind, data directories are flushed."""
    for kb in list(_live):
        try:
            kb.close()
        except Exception:
            pass
