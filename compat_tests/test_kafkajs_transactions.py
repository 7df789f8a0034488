"""kafkajs transactions against the broker: read_committed visibility, consume-transform-produce with
sendOffsets, fencing, a killed producer whose transaction times out, a broker restart mid-transaction.

Each test runs one scenario of ``compat_tests/kafkajs/transactions.js`` in a ``node`` process; the
assertions are here. Without node or the kafkajs install (``make test`` does it) the tests skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from broker.testing import BrokerProcess, RawClient
from compat_tests.clients import create_topic, end_offsets, produce, Out
from compat_tests.group_clients import committed_offsets
from kproto.messages import LIST_OFFSETS

KAFKAJS = Path(__file__).parent / "kafkajs"
SCENARIOS = KAFKAJS / "transactions.js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(not (KAFKAJS / "node_modules" / "kafkajs" / "package.json").is_file(),
                       reason="kafkajs is not installed: run `npm ci --prefix compat_tests/kafkajs` (make test does)"),
]


def command(scenario: str, bootstrap: str, **args) -> list[str]:
    return [NODE, str(SCENARIOS), scenario, json.dumps({"bootstrap": bootstrap, **args})]


def run(scenario: str, bootstrap: str, **args) -> dict:
    """Run one scenario to its end; its JSON output (kafkajs's log in the failure message)."""
    done = subprocess.run(command(scenario, bootstrap, **args), cwd=KAFKAJS, capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, f"kafkajs {scenario} exited {done.returncode}:\n{done.stderr[-6000:]}"
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def txn_broker(tmp_path_factory) -> BrokerProcess:
    root = tmp_path_factory.mktemp("kafkajs-txn")
    process = BrokerProcess(root / "data", log_path=root / "broker.log", overrides={
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "100"}).start()
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


def by_partition(messages: list[dict]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for m in sorted(messages, key=lambda m: (m["partition"], m["offset"])):
        out.setdefault(m["partition"], []).append(m["value"])
    return out


def last_stable_offset(bootstrap: str, topic: str) -> int:
    with RawClient(bootstrap) as raw:
        response = raw.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 1, "topics": [
            {"name": topic, "partitions": [{"partition_index": 0, "timestamp": -1}]}]})
    return response["topics"][0]["partitions"][0]["offset"]


def test_read_committed_sees_exactly_the_committed_records(txn_broker, topic_name):
    bootstrap = txn_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 2)
    out = run("visibility", bootstrap, topic=topic_name, transactionalId=f"{topic_name}-tx")
    names = lambda tag, p, count: [f"{tag}-{i:02d}" for i in range(count) if i % 2 == p]
    assert by_partition(out["committed"]) == {p: names("one", p, 10) + names("two", p, 10) for p in (0, 1)}
    assert by_partition(out["everything"]) == {
        p: names("one", p, 10) + names("aborted", p, 6) + names("two", p, 10) for p in (0, 1)}


def test_consume_transform_produce_with_send_offsets(txn_broker, topic_name):
    bootstrap = txn_broker.bootstrap
    source, target, group = topic_name, f"{topic_name}-out", f"{topic_name}-group"
    create_topic("confluent", bootstrap, source, 2)
    create_topic("confluent", bootstrap, target, 2)
    produce("confluent", bootstrap, source, [Out(None, b"v%03d" % i, partition=i % 2) for i in range(40)])
    out = run("copy", bootstrap, source=source, target=target, group=group, count=40,
              transactionalId=f"{topic_name}-tx")
    assert out["copied"] == 40
    assert by_partition(out["output"]) == {p: ["V%03d" % i for i in range(p, 40, 2)] for p in (0, 1)}
    assert committed_offsets(bootstrap, group, source, 2) == {(source, p): (20, "") for p in (0, 1)}


def test_a_new_producer_fences_the_old_one(txn_broker, topic_name):
    bootstrap = txn_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    out = run("fence", bootstrap, topic=topic_name, transactionalId=f"{topic_name}-tx")
    assert out["zombieError"] in ("PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")
    assert [m["value"] for m in out["committed"]] == ["fresh"]


def test_a_killed_producers_transaction_is_aborted_after_its_timeout(txn_broker, topic_name):
    bootstrap = txn_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    zombie = subprocess.Popen(command("zombie", bootstrap, topic=topic_name, transactionalId=f"{topic_name}-tx",
                                      transactionTimeout=1000),
                              cwd=KAFKAJS, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert zombie.stdout.readline().strip() == "ready"
        assert end_offsets(bootstrap, topic_name, 1) == [5] and last_stable_offset(bootstrap, topic_name) == 0
    finally:
        zombie.kill()
        zombie.wait()
    deadline = time.monotonic() + 15
    while last_stable_offset(bootstrap, topic_name) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert last_stable_offset(bootstrap, topic_name) == 6
    out = run("fence", bootstrap, topic=topic_name, transactionalId=f"{topic_name}-tx")
    assert [m["value"] for m in out["committed"]] == ["fresh"]


def test_a_transaction_open_across_a_broker_restart_commits(own_broker, topic_name):
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    values = [f"across-{i}" for i in range(5)]
    node = subprocess.Popen(command("restart", bootstrap, topic=topic_name, transactionalId=f"{topic_name}-tx",
                                    values=values),
                            cwd=KAFKAJS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert node.stdout.readline().strip() == "sent"
        own_broker.restart()
        node.stdin.write("go\n")
        node.stdin.flush()
        out, err = node.communicate(timeout=60)
    finally:
        node.kill()
    assert node.returncode == 0, err[-6000:]
    assert [m["value"] for m in json.loads(out.splitlines()[-1])["committed"]] == values
