"""``kbroker topics|produce|consume|groups|offsets`` against a kbroker (the plugin's kafka_broker
fixture), and ``kbroker --ready-file`` for scripts.

Most commands run in this process through ``broker.cli.main`` (the same code as the console
script, minus Python's start-up); what only a process shows, the exit code and the one-line
error without a traceback, runs ``kbroker`` itself.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from broker.cli import main
from broker.partitioner import murmur2
from broker.testing import KafkaBroker, RawClient, free_port
from kproto.messages import METADATA

KBROKER = Path(sys.executable).parent / "kbroker"


class _Stdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def cli(kafka_broker, capsys, monkeypatch):
    """``cli("topics", "list", stdin="...")`` -> (exit code, stdout, stderr), against kafka_broker."""
    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(stdin.encode())))
        code = main([*args, "--bootstrap-server", kafka_broker.bootstrap_servers])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_topics_create_list_describe_alter_delete(cli, kafka_broker):
    assert cli("topics", "create", "orders", "--partitions", "3", "--config", "retention.ms=60000")[0] == 0
    assert kafka_broker.topics()["orders"] == 3
    code, out, _ = cli("topics", "list")
    assert code == 0 and out.split("\n")[0].split() == ["TOPIC", "PARTITIONS"] and "orders  3" in out
    code, out, _ = cli("topics", "describe", "orders", "--json")
    [described] = json.loads(out)
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert described["configs"] == {"retention.ms": "60000"} and described["replication_factor"] == 1
    code, out, _ = cli("topics", "alter-config", "orders", "--set", "cleanup.policy=compact", "--delete", "retention.ms")
    assert code == 0
    assert json.loads(cli("topics", "describe", "orders", "--json")[1])[0]["configs"] == {"cleanup.policy": "compact"}
    code, out, err = cli("topics", "create", "orders")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "cannot create topic 'orders'" in err and "TOPIC_ALREADY_EXISTS" in err
    assert cli("topics", "create", "orders", "--if-not-exists")[0] == 0
    assert cli("topics", "delete", "orders")[0] == 0
    assert "orders" not in kafka_broker.topics()
    code, _, err = cli("topics", "delete", "orders")
    assert code == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in err
    assert cli("topics", "delete", "orders", "--if-exists")[0] == 0


@pytest.mark.kafka_broker(topics={"events": 4})
def test_produce_lines_with_keys_headers_and_partitions(cli, kafka_broker):
    code, out, _ = cli("produce", "events", "--key-separator", ":", "--header", "source=cli", "--json",
                       stdin="alice:one\nbob:two\nalice:three\n")
    assert code == 0
    placed = json.loads(out)
    records = kafka_broker.records("events")
    assert sorted((r.key, r.value) for r in records) == [(b"alice", b"one"), (b"alice", b"three"), (b"bob", b"two")]
    assert all(r.headers == [("source", b"cli")] for r in records)
    by_value = {r.value: r for r in records}
    assert [(p["partition"], p["offset"]) for p in placed] == [
        (by_value[v].partition, by_value[v].offset) for v in (b"one", b"two", b"three")]
    # keys land where Kafka's default partitioner puts them (murmur2), as a Java client would
    assert by_value[b"one"].partition == (murmur2(b"alice") & 0x7FFFFFFF) % 4
    assert cli("produce", "events", "--partition", "2", stdin="x\ny\n")[0] == 0
    assert [r.value for r in kafka_broker.records("events", 2)][-2:] == [b"x", b"y"]
    code, _, err = cli("produce", "events", "--key-separator", ":", stdin="no separator here\n")
    assert code == 1 and "line 1 has no key separator" in err


def test_murmur2_is_kafkas():
    from kafka.partitioner.default import murmur2 as kafka_python_murmur2

    for key in (b"", b"a", b"ab", b"abc", b"alice", "ключ".encode(), bytes(range(37))):
        assert murmur2(key) == kafka_python_murmur2(key) & 0xFFFFFFFF


@pytest.mark.kafka_broker(topics={"feed": 2})
def test_consume_formats_and_groups(cli, kafka_broker):
    producer = Producer(kafka_broker.config())
    for i in range(4):
        producer.produce("feed", value=f"v{i}".encode(), key=f"k{i}".encode(), partition=i % 2,
                         headers=[("n", str(i).encode())])
    producer.flush(10)
    code, out, err = cli("consume", "feed", "--from-beginning", "--max-messages", "4",
                         "--format", "{partition}:{offset} {key}={value} [{headers}]")
    assert code == 0 and "Processed a total of 4 messages" in err
    assert sorted(out.splitlines()) == ["0:0 k0=v0 [n:0]", "0:1 k2=v2 [n:2]", "1:0 k1=v1 [n:1]", "1:1 k3=v3 [n:3]"]
    code, out, _ = cli("consume", "feed", "--partition", "1", "--offset", "1", "--max-messages", "1", "--json")
    assert json.loads(out) | {"timestamp": 0} == {"topic": "feed", "partition": 1, "offset": 1, "timestamp": 0,
                                                  "key": "k3", "value": "v3", "headers": {"n": "3"}}
    # as a group member: commits what it printed, and the next run goes on from there
    code, out, _ = cli("consume", "feed", "--group", "readers", "--from-beginning", "--max-messages", "3")
    assert code == 0 and len(out.splitlines()) == 3
    assert sum(kafka_broker.committed("readers").values()) == 3
    code, out, _ = cli("consume", "feed", "--group", "readers", "--timeout-ms", "300")
    assert code == 0 and len(out.splitlines()) == 1
    assert kafka_broker.committed("readers") == {("feed", 0): 2, ("feed", 1): 2}
    code, _, err = cli("consume", "missing", "--max-messages", "1")
    assert code == 1 and "topic 'missing'" in err and "UNKNOWN_TOPIC_OR_PARTITION" in err


@pytest.mark.kafka_broker(topics={"work": 2})
def test_groups_list_describe_reset_and_delete(cli, kafka_broker):
    producer = Producer(kafka_broker.config())
    for i in range(5):
        producer.produce("work", f"job-{i}".encode(), partition=0)
    producer.flush(10)
    consumer = Consumer(kafka_broker.config(group_id="workers", auto_offset_reset="earliest",
                                            enable_auto_commit=False))
    consumer.subscribe(["work"])
    for _ in range(2):
        message = consumer.poll(10)
        assert message is not None and message.error() is None
    consumer.commit(asynchronous=False)

    code, out, _ = cli("groups", "list")
    assert code == 0 and out.splitlines()[1].split() == ["workers", "classic", "Stable", "consumer"]
    code, out, _ = cli("groups", "describe", "workers", "--json")
    described = json.loads(out)
    assert described["state"] == "Stable" and len(described["members"]) == 1
    [member] = described["members"]
    assert member["client_id"] == "rdkafka" and sorted(map(tuple, member["partitions"])) == [("work", 0), ("work", 1)]
    row = next(r for r in described["partitions"] if r["partition"] == 0)
    assert (row["current_offset"], row["log_end_offset"], row["lag"]) == (2, 5, 3)
    assert row["member_id"] == member["member_id"]
    code, out, _ = cli("groups", "describe", "workers")
    assert "CURRENT-OFFSET  LOG-END-OFFSET  LAG" in out and "Stable, 1 member(s)" in out

    code, _, err = cli("groups", "reset-offsets", "workers", "--all-topics", "--to-earliest", "--execute")
    assert code == 1 and "has no members" in err and "Stable" in err
    code, _, err = cli("groups", "delete", "workers")
    assert code == 1 and "NON_EMPTY_GROUP" in err
    consumer.close()

    code, out, err = cli("groups", "reset-offsets", "workers", "--topic", "work:0", "--to-offset", "4")
    assert code == 0 and "dry run" in err and kafka_broker.committed("workers")[("work", 0)] == 2
    assert cli("groups", "reset-offsets", "workers", "--topic", "work:0", "--shift-by", "-1", "--execute")[0] == 0
    assert kafka_broker.committed("workers")[("work", 0)] == 1
    assert cli("groups", "reset-offsets", "workers", "--all-topics", "--to-latest", "--execute")[0] == 0
    assert kafka_broker.committed("workers")[("work", 0)] == 5
    assert cli("groups", "delete", "workers")[0] == 0
    assert kafka_broker.committed("workers") == {}
    assert "does not exist" in cli("groups", "describe", "workers")[1]


@pytest.mark.kafka_broker(topics={"log": 2})
def test_offsets_earliest_and_latest(cli, kafka_broker):
    producer = Producer(kafka_broker.config())
    for i in range(3):
        producer.produce("log", b"x", partition=1, timestamp=1_000 + i)
    producer.flush(10)
    code, out, _ = cli("offsets", "log")
    assert out.splitlines() == ["TOPIC  PARTITION  EARLIEST  LATEST", "log    0          0         0",
                                "log    1          0         3"]
    code, out, _ = cli("offsets", "log", "--partition", "1", "--time", "1001", "--json")
    assert json.loads(out) == [{"topic": "log", "partition": 1, "earliest": 0, "latest": 3, "at_time": 1}]


def test_errors_are_one_line_without_a_traceback_unless_debug():
    port = free_port()
    plain = subprocess.run([str(KBROKER), "topics", "list", "-b", f"127.0.0.1:{port}"], capture_output=True,
                           text=True, timeout=30)
    assert plain.returncode == 1 and plain.stdout == ""
    assert plain.stderr == f"kbroker topics: error: cannot connect to 127.0.0.1:{port}: Connection refused\n"
    debug = subprocess.run([str(KBROKER), "topics", "list", "-b", f"127.0.0.1:{port}", "--log-level", "DEBUG"],
                           capture_output=True, text=True, timeout=30)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    usage = subprocess.run([str(KBROKER), "topics", "frobnicate"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


def test_memory_broker_on_port_0_writes_its_address_to_the_ready_file(tmp_path):
    ready = tmp_path / "ready"
    ready.write_text("stale")    # removed before the broker listens: a script never reads an old address
    proc = subprocess.Popen([str(KBROKER), "--memory", "--port", "0", "--ready-file", str(ready)],
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not (ready.exists() and ready.read_text().endswith("\n")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        address = ready.read_text().strip()
        host, _, port = address.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        with RawClient(address) as client:
            response = client.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                                     "include_topic_authorized_operations": False})
        assert [(b["host"], b["port"]) for b in response["brokers"]] == [("127.0.0.1", int(port))]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert not ready.exists()


def test_a_port_in_use_is_a_clear_error(kafka_broker):
    taken = subprocess.run([str(KBROKER), "--memory", "--port", str(kafka_broker.port)], capture_output=True,
                           text=True, timeout=30)
    assert taken.returncode == 1
    assert f"cannot start: port {kafka_broker.port} on 127.0.0.1 is in use" in taken.stderr
    assert "Traceback" not in taken.stderr
    with pytest.raises(OSError, match=f"port {kafka_broker.port} on 127.0.0.1 is in use"):
        KafkaBroker(port=kafka_broker.port).start()
