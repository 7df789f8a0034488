"""What goes wrong around a cluster: no ZooKeeper, two brokers with one id, a replica whose
log diverged from its new leader's."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from broker.cluster.zookeeper_server import ZooKeeperServer, free_port
from broker.testing import BrokerProcess, RawClient
from compat_tests.cluster.test_failover import produce_raw
from compat_tests.clients import consume
from kproto.errors import ErrorCode
from kproto.messages import METADATA


def wait_for_text(path, text: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.05)


def test_a_broker_without_zookeeper_says_so_retries_and_leads_nothing(zookeeper, tmp_path):
    port = free_port()
    broker = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log", args=[
        "--node-id", "1", "--zookeeper", f"127.0.0.1:{port}/k", "-o", "zookeeper.connection.timeout.ms=500",
        "-o", "zookeeper.session.timeout.ms=2000"]).start()
    own = ZooKeeperServer(tmp_path / "zookeeper", port=port, install=zookeeper.install)
    try:
        wait_for_text(tmp_path / "broker.log", f"cannot reach ZooKeeper at 127.0.0.1:{port}/k")
        with RawClient(broker.bootstrap) as client:
            answer = client.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": True,
                                                   "include_topic_authorized_operations": False})
        assert answer["controller_id"] == -1 and answer["topics"] == []
        assert produce_raw(broker.bootstrap, "anything") in (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                                             ErrorCode.NOT_LEADER_OR_FOLLOWER)
        deadline = time.monotonic() + 20
        while (tmp_path / "broker.log").read_text().count("cannot reach ZooKeeper") < 2:   # it retries
            assert time.monotonic() < deadline
            time.sleep(0.1)
        own.start()
        wait_for_text(tmp_path / "broker.log", "broker 1 is the controller")
    finally:
        broker.kill()
        own.kill()


def test_a_second_broker_with_the_same_id_is_refused(make_cluster, tmp_path):
    cluster = make_cluster(1)
    second = subprocess.run(
        [sys.executable, "-m", "broker", "--port", str(free_port()), "--data-dir", str(tmp_path / "second"),
         "--node-id", "1", "--zookeeper", cluster.connect, "-o", "zookeeper.session.timeout.ms=1000"],
        capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert "broker.id 1 is already registered" in second.stderr and "--node-id" in second.stderr
    assert cluster.metadata()["brokers"][0]["port"] == cluster.brokers[1].port   # the first one is untouched


def test_a_cluster_broker_whose_inter_broker_listener_is_not_plaintext_is_refused_saying_why(tmp_path):
    """Brokers open plain connections to each other: the listener they use must be PLAINTEXT."""
    port = free_port()
    (tmp_path / "users").write_text("alice:alice-secret\n")
    refused = subprocess.run(
        [sys.executable, "-m", "broker", "--port", str(port), "--data-dir", str(tmp_path / "data"),
         "--node-id", "1", "--zookeeper", f"127.0.0.1:{free_port()}/k", "--sasl-users", str(tmp_path / "users"),
         "-o", f"listeners=SASL_PLAINTEXT://127.0.0.1:{port},PLAINTEXT://127.0.0.1:{free_port()}",
         "-o", "inter.broker.listener.name=SASL_PLAINTEXT"],
        capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "inter-broker listener SASL_PLAINTEXT, which must be PLAINTEXT" in refused.stderr


def test_an_authorizer_without_the_inter_broker_principal_as_super_user_is_said_clearly(zookeeper, tmp_path):
    """As in Kafka the broker starts, but its brokers' requests would be refused: the log says
    what to configure."""
    broker = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log", overrides={
        "super.users": "User:admin"}, args=["--node-id", "1", "--zookeeper", f"{zookeeper.connect_string}/acl-warn",
                                            "--acl"]).start()
    try:
        wait_for_text(tmp_path / "broker.log", "may not CLUSTER_ACTION on the cluster")
        assert "Add User:ANONYMOUS to super.users" in (tmp_path / "broker.log").read_text()
    finally:
        broker.kill()


def test_a_diverged_replica_is_cut_to_the_leaders_epoch_boundary(make_cluster, topic_name):
    """Broker A leads; its follower B is paused (still in the ISR) while A takes records with
    acks=1; A dies; B is elected (clean: it was in the ISR) and takes other records; A comes
    back: its tail, which B never had, is cut at the start of B's epoch, never merged."""
    from confluent_kafka.admin import AdminClient, NewTopic

    cluster = make_cluster(2, zookeeper_session_timeout_ms=3000, replica_lag_time_max_ms=60000)
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic_name, 1, 2)], operation_timeout=20)[topic_name].result(30)
    a = cluster.leader(topic_name)
    b = 3 - a
    cluster.wait_for(lambda: cluster.leader(topic_name, via=a) == a and cluster.leader(topic_name, via=b) == a,
                     what="both brokers told of the topic")
    for _ in range(5):
        assert produce_raw(cluster.brokers[a].bootstrap, topic_name) == 0   # acks=all: both have these
    cluster.signal(b, signal.SIGSTOP)
    for _ in range(3):
        assert produce_raw(cluster.brokers[a].bootstrap, topic_name, acks=1) == 0   # only A has these
    # B, still in the ISR, does not have them: the high watermark stays, consumers see 5
    assert [r.offset for r in consume("confluent", cluster.brokers[a].bootstrap, topic_name, 1, 8,
                                      timeout_s=2)] == [0, 1, 2, 3, 4]
    cluster.brokers[a].kill()
    cluster.signal(b, signal.SIGCONT)
    cluster.wait_for(lambda: cluster.leader(topic_name, via=b) == b, what="B leading")
    for _ in range(4):
        assert produce_raw(cluster.brokers[b].bootstrap, topic_name, acks=1) == 0
    cluster.brokers[a].start()
    cluster.wait_for(lambda: sorted(cluster.partition(topic_name, via=b)["isr_nodes"]) == [1, 2],
                     what="A back in the ISR")
    # B's epoch 1 starts where B's log ended (5, or 6 if A's first acks=1 record reached B's
    # socket before the pause took hold): A keeps what B had and drops the rest of its tail
    checkpoint = (cluster.directory / f"broker-{b}" / f"{topic_name}-0" / "leader-epoch-checkpoint").read_text()
    boundary = dict(tuple(map(int, line.split())) for line in checkpoint.splitlines()[2:])[1]
    assert boundary in (5, 6)
    log = (cluster.directory / f"broker-{a}.log").read_text()
    assert f"{topic_name}-0: truncating from 8 to {boundary}" in log
    cluster.brokers[b].kill()   # what A has now is B's log: the common records, then B's 4
    cluster.wait_for(lambda: cluster.leader(topic_name, via=a) == a, what="A leading again")
    got = consume("confluent", cluster.brokers[a].bootstrap, topic_name, 1, 20, timeout_s=5)
    assert [r.offset for r in got] == list(range(boundary + 4))

