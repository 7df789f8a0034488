"""The command line as tooling uses it: `kbroker` and `python -m broker` with the documented
flags, a server.properties file, the data-directory lock, and clean shutdown on SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from broker.testing import RawClient, free_port
from kproto.messages import METADATA

KBROKER = Path(sys.executable).parent / "kbroker"


def wait_serving(port: int, proc: subprocess.Popen, timeout_s: float = 20) -> RawClient:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            return RawClient(f"127.0.0.1:{port}")
        except OSError:
            time.sleep(0.05)
    raise AssertionError("broker did not start")


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, err.decode()


@pytest.mark.parametrize("command", [[str(KBROKER)], [sys.executable, "-m", "broker"]], ids=["kbroker", "python-m"])
def test_documented_flags(command, tmp_path):
    port = free_port()
    data = tmp_path / "some" / "dir"
    proc = subprocess.Popen(command + ["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data),
                                       "--num-partitions", "3", "--advertised-host", "localhost"],
                            stderr=subprocess.PIPE)
    with wait_serving(port, proc) as client:
        response = client.request(METADATA, 9, {"topics": [{"name": "auto-made"}], "allow_auto_topic_creation": True})
    assert response["brokers"][0]["host"] == "localhost" and response["brokers"][0]["port"] == port
    assert len(response["topics"][0]["partitions"]) == 3
    code, err = stop(proc)
    assert code == 0, err
    assert (data / "auto-made-2").is_dir() and (data / "meta.properties").exists()


def test_server_properties_file_and_sigint(tmp_path):
    port = free_port()
    props = tmp_path / "server.properties"
    props.write_text(f"listeners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={tmp_path / 'logs'}\n"
                     "auto.create.topics.enable=false\nsome.unknown.key=1\n")
    proc = subprocess.Popen([str(KBROKER), "--config", str(props)], stderr=subprocess.PIPE)
    with wait_serving(port, proc) as client:
        response = client.request(METADATA, 9, {"topics": [{"name": "not-made"}], "allow_auto_topic_creation": True})
    assert response["topics"][0]["error_code"] == 3   # UNKNOWN_TOPIC_OR_PARTITION: auto-creation is off
    code, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    assert "some.unknown.key" in err and "received SIGINT" in err
    assert (tmp_path / "logs" / "meta.properties").exists()


def test_a_second_broker_on_the_same_data_dir_refuses_to_start(tmp_path):
    first_port = free_port()
    first = subprocess.Popen([str(KBROKER), "--port", str(first_port), "--data-dir", str(tmp_path / "d")],
                             stderr=subprocess.PIPE)
    wait_serving(first_port, first).close()
    second = subprocess.run([str(KBROKER), "--port", str(free_port()), "--data-dir", str(tmp_path / "d")],
                            capture_output=True, timeout=30)
    assert second.returncode == 1
    assert b"in use by another broker" in second.stderr
    assert stop(first)[0] == 0


def test_memory_broker_and_bad_flags(tmp_path):
    bad = subprocess.run([str(KBROKER), "--port", "notaport"], capture_output=True, timeout=30)
    assert bad.returncode == 2 and b"--port" in bad.stderr
    port = free_port()
    proc = subprocess.Popen([str(KBROKER), "--port", str(port), "--memory"], stderr=subprocess.PIPE,
                            cwd=tmp_path)
    wait_serving(port, proc).close()
    assert stop(proc)[0] == 0
    assert list(tmp_path.iterdir()) == []   # nothing written anywhere
