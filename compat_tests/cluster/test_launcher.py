"""``kbroker cluster`` for development, and one broker that stays free of cluster mode."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import socket

from broker.cluster.zookeeper_server import free_port


def two_free_ports() -> int:
    """A port that is free, with the next one free too."""
    while True:
        port = free_port()
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


def test_kbroker_cluster_starts_prints_the_bootstrap_list_and_stops_on_ctrl_c(zookeeper, tmp_path):
    port = two_free_ports()
    proc = subprocess.Popen([sys.executable, "-m", "broker", "cluster", "--brokers", "2", "--data-dir",
                             str(tmp_path / "c"), "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while not any(line.startswith("bootstrap servers:") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
        bootstrap = lines[-1].split(":", 1)[1].strip()
        assert bootstrap == f"127.0.0.1:{port},127.0.0.1:{port + 1}"
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        producer.produce("from-the-launcher", b"hello")
        assert producer.flush(30) == 0
        broker_pids = [int(p) for p in re.findall(r"pid (\d+)", "".join(lines))]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        assert "stopping the cluster" in proc.stdout.read()
        for pid in broker_pids:
            assert not os.path.exists(f"/proc/{pid}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kbroker_cluster_without_zookeeper_says_how_to_get_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "broker", "cluster", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=30,
                            env={**os.environ, "ZOOKEEPER_PATH": str(tmp_path / "nowhere")})
    assert result.returncode == 1
    assert "apt-get install zookeeper" in result.stderr


SCRIPT = """
import sys, anyio
from broker.config import BrokerConfig
from broker.core import Broker
from broker.server import serve
async def main():
    with anyio.move_on_after(0.5):
        await serve(Broker(BrokerConfig(port=0, data_dir=None)))
anyio.run(main)
print(sorted(m for m in sys.modules if m == "kazoo" or m.startswith(("kazoo.", "broker.cluster"))))
"""


def test_one_broker_loads_nothing_of_cluster_mode():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
