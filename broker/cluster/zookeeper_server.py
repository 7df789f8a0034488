"""A standalone ZooKeeper server in a child process, for development and tests.

``kbroker cluster`` and the cluster tests start their own ZooKeeper with this: a JVM
running ``ZooKeeperServerMain`` on a free port with its data in a directory of ours.
The jars are found where Debian's ``zookeeper`` package puts them (``/usr/share/java``),
or under ``$ZOOKEEPER_PATH`` (a directory holding ``zookeeper*.jar`` and its libraries,
as kazoo's test harness takes it). Readiness is ZooKeeper's own ``ruok`` answer.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

INSTALL_HELP = ("ZooKeeper is not installed. On Debian or Ubuntu: `apt-get install zookeeper` "
                "(it brings a Java runtime); elsewhere, unpack Apache ZooKeeper 3.8 and set "
                "ZOOKEEPER_PATH to its lib directory. kbroker needs a JRE 11+ (`java`) too.")

SEARCH_PATHS = ("/usr/share/java", "/usr/share/zookeeper/lib", "/usr/share/zookeeper", "/opt/zookeeper/lib")
TICK_MS = 250   # session expiry is checked every tick: a short tick keeps failover near the session timeout


@dataclass(frozen=True)
class ZooKeeperInstall:
    java: str
    classpath: str


def find_zookeeper() -> ZooKeeperInstall | None:
    """The java binary and the classpath of an installed ZooKeeper, or None."""
    java = shutil.which("java")
    if java is None:
        return None
    roots = [os.environ["ZOOKEEPER_PATH"]] if os.environ.get("ZOOKEEPER_PATH") else list(SEARCH_PATHS)
    for root in roots:
        main = Path(root) / "zookeeper.jar"
        if main.exists():   # Debian's jar names its libraries in its manifest
            jars = [str(main)] + [p for p in (Path(root) / "slf4j-simple.jar",) if p.exists()]
            return ZooKeeperInstall(java, ":".join(map(str, jars)))
        jars = sorted(glob.glob(os.path.join(root, "*.jar")))
        if any(os.path.basename(j).startswith("zookeeper") for j in jars):
            return ZooKeeperInstall(java, ":".join(jars))
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def four_letter_word(port: int, word: str, timeout_s: float = 1.0) -> str:
    """ZooKeeper's four-letter command on 127.0.0.1:port ('' if it does not answer)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(word.encode())
            chunks = []
            while chunk := s.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


class ZooKeeperServer:
    """One standalone ZooKeeper on 127.0.0.1. ``start`` waits until it answers ``imok``."""

    def __init__(self, directory: Path, *, port: int | None = None, install: ZooKeeperInstall | None = None):
        self.directory = Path(directory)
        self.port = port or free_port()
        self.install = install or find_zookeeper()
        if self.install is None:
            raise FileNotFoundError(INSTALL_HELP)
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def connect_string(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.directory / "zoo.cfg"
        config.write_text("\n".join([
            f"tickTime={TICK_MS}",
            f"dataDir={data}",
            f"clientPort={self.port}",
            "clientPortAddress=127.0.0.1",
            "minSessionTimeout=500",
            "maxSessionTimeout=60000",
            "maxClientCnxns=0",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr,stat,mntr",
            "",
        ]))
        return config

    def command(self) -> list[str]:
        return [self.install.java, "-Xms16m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dzookeeper.admin.enableServer=false",
                "-cp", self.install.classpath, "org.apache.zookeeper.server.ZooKeeperServerMain",
                str(self._write_config())]

    def start(self, timeout_s: float = 30) -> ZooKeeperServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._log = open(self.directory / "zookeeper.log", "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited with {self.proc.returncode}; see {self.directory}/zookeeper.log")
            if four_letter_word(self.port, "ruok", 0.5) == "imok":
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"ZooKeeper did not answer on port {self.port} within {timeout_s} s")

    def stop(self, timeout_s: float = 10) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._closed()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._closed()

    def _closed(self) -> None:
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ZooKeeperServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
