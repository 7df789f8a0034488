"""For tests and benchmarks: run a real broker process, and talk to it with raw kproto frames."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kproto.codec import decode_response, encode_request
from kproto.messages import BY_KEY
from kproto.schema import Message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerProcess:
    """``python -m broker`` in a child process on a free port; stopped with SIGTERM."""

    def __init__(self, data_dir: Path | None, *, port: int | None = None, overrides: dict[str, str] | None = None,
                 args: list[str] | None = None, log_path: Path | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.overrides = {"group.initial.rebalance.delay.ms": "0", **(overrides or {})}
        self.args = args or []
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "broker", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--memory"] if self.data_dir is None else ["--data-dir", str(self.data_dir)]
        for key, value in self.overrides.items():
            cmd += ["-o", f"{key}={value}"]
        return cmd + self.args

    def start(self, timeout_s: float = 20) -> "BrokerProcess":
        if self.log_path is not None:
            self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log_file or subprocess.DEVNULL,
                                     stderr=self._log_file or subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError("broker did not start listening")

    def stop(self, timeout_s: float = 20) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> "BrokerProcess":
        self.stop()
        return self.start()

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def __enter__(self) -> "BrokerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RawClient:
    """A blocking socket that sends kproto requests and reads responses: no client library in the way."""

    def __init__(self, bootstrap: str, timeout_s: float = 10, client_id: str | None = "raw-test"):
        host, _, port = bootstrap.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.client_id = client_id
        self._correlation_id = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, message: Message | int, version: int, body: dict) -> int:
        message = BY_KEY[message] if isinstance(message, int) else message
        self._correlation_id += 1
        self.sock.sendall(encode_request(message, version, self._correlation_id, body, self.client_id))
        return self._correlation_id

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_frame(self) -> bytes:
        """One response frame without its size prefix; b'' if the broker closed the connection."""
        size = self._read_exactly(4)
        if not size:
            return b""
        return self._read_exactly(int.from_bytes(size, "big"))

    def _read_exactly(self, n: int) -> bytes:
        chunks, remaining = [], n
        while remaining:
            chunk = self.sock.recv(min(remaining, 1 << 20))
            if not chunk:
                return b""
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self, message: Message | int, version: int) -> tuple[int, dict]:
        message = BY_KEY[message] if isinstance(message, int) else message
        frame = self.read_frame()
        if not frame:
            raise ConnectionError("broker closed the connection")
        return decode_response(frame, message, version)

    def request(self, message: Message | int, version: int, body: dict) -> dict:
        correlation_id = self.send(message, version, body)
        got, response = self.receive(message, version)
        assert got == correlation_id, f"correlation id {got}, expected {correlation_id}"
        return response

    def is_closed(self, wait_s: float = 5) -> bool:
        """True if the broker closed this connection (EOF within ``wait_s``)."""
        self.sock.settimeout(wait_s)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionError:
            return True


def process_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def process_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
