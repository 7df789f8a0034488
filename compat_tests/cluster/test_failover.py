"""Failures of brokers and of ZooKeeper, with real processes and real clients: nothing that was
acknowledged is lost, leaders move, and the ISR follows who is caught up."""

from __future__ import annotations

import signal
import threading
import time

from broker.testing import RawClient
from compat_tests.cluster.test_cluster_clients import create_rf3
from kproto.errors import ErrorCode
from kproto.messages import PRODUCE
from storage import Record, build_batch


class Producing:
    """An idempotent acks=all confluent-kafka producer sending numbered messages in a thread until
    stopped; what was acknowledged (partition -> values in order) and every delivery error."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, **config):
        from confluent_kafka import Producer

        self.topic, self.partitions = topic, partitions
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                  "linger.ms": 2, "message.timeout.ms": 120000, "retry.backoff.ms": 50,
                                  "retry.backoff.max.ms": 200, "topic.metadata.refresh.interval.ms": 500,
                                  **config})
        self.acked: dict[int, list[int]] = {p: [] for p in range(partitions)}
        self.errors: list[str] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, err, msg) -> None:
        if err is not None:
            self.errors.append(err.name())
        else:
            self.acked[msg.partition()].append(int(msg.value()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.producer.produce(self.topic, value=b"%d" % self.sent, partition=self.sent % self.partitions,
                                      on_delivery=self._delivered)
                self.sent += 1
            except BufferError:
                pass
            self.producer.poll(0.002)

    def __enter__(self) -> Producing:
        self._thread.start()
        return self

    def count(self) -> int:
        return sum(map(len, self.acked.values()))

    def wait_for_more(self, extra: int, timeout_s: float = 60) -> float:
        """Seconds until ``extra`` more messages are acknowledged."""
        start, target = time.monotonic(), self.count() + extra
        while self.count() < target:
            assert time.monotonic() - start < timeout_s, \
                f"no progress: {self.count()} of {target} acknowledged; errors {self.errors[:5]}"
            time.sleep(0.01)
        return time.monotonic() - start

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        assert self.producer.flush(120) == 0


def read_all(cluster, topic: str, partitions: int, expected: int) -> dict[int, list[int]]:
    from compat_tests.clients import consume

    got: dict[int, list[int]] = {p: [] for p in range(partitions)}
    for r in consume("confluent", cluster.bootstrap, topic, partitions, expected, timeout_s=60):
        got[r.partition].append(int(r.value))
    return got


def assert_nothing_lost(producing: Producing, got: dict[int, list[int]]) -> None:
    for partition, acked in producing.acked.items():
        values = got[partition]
        assert len(values) == len(set(values)), f"partition {partition}: duplicates"
        assert values == sorted(values), f"partition {partition}: out of order"
        assert set(acked) <= set(values), f"partition {partition}: {len(set(acked) - set(values))} acked lost"


def test_a_leader_killed_again_and_again_loses_nothing_acknowledged(make_cluster, topic_name):
    cluster = make_cluster(3)
    create_rf3(cluster, topic_name, partitions=2, configs={"min.insync.replicas": "2"})
    with Producing(cluster.bootstrap, topic_name, 2) as producing:
        producing.wait_for_more(200)
        for round_ in range(3):
            victim = cluster.leader(topic_name, round_ % 2)
            cluster.brokers[victim].kill()
            producing.wait_for_more(200)   # acknowledged again, by a new leader
            cluster.brokers[victim].start()
            cluster.wait_for_brokers(3)
    assert producing.errors == []
    assert_nothing_lost(producing, read_all(cluster, topic_name, 2, producing.count()))


def produce_raw(bootstrap: str, topic: str, acks: int = -1, partition: int = 0) -> int:
    """One Produce v9 with one record; the partition's error code."""
    with RawClient(bootstrap) as client:
        response = client.request(PRODUCE, 9, {"transactional_id": None, "acks": acks, "timeout_ms": 5000,
                                               "topic_data": [{"name": topic, "partition_data": [
                                                   {"index": partition,
                                                    "records": build_batch([Record(value=b"x", timestamp=1)])}]}]})
    return response["responses"][0]["partition_responses"][0]["error_code"]


def first_produce(cluster, topic: str) -> int:
    """The partition's leader, once it takes a produce: the first broker's metadata may name it
    before the leader itself has taken the leadership (UNKNOWN_TOPIC_OR_PARTITION or
    NOT_LEADER_OR_FOLLOWER meanwhile, which a client retries, as with Kafka)."""
    leader = cluster.leader(topic)
    cluster.wait_for(lambda: produce_raw(cluster.brokers[leader].bootstrap, topic) == 0,
                     what="the leader taking a produce")
    return leader


def test_min_insync_replicas_with_two_brokers_down_refuses_then_resumes(make_cluster, topic_name):
    cluster = make_cluster(3)
    create_rf3(cluster, topic_name, partitions=1, configs={"min.insync.replicas": "2"})
    leader = first_produce(cluster, topic_name)
    others = [b for b in cluster.brokers if b != leader]
    for broker_id in others:
        cluster.brokers[broker_id].kill()
    cluster.wait_for(lambda: cluster.partition(topic_name, via=leader)["isr_nodes"] == [leader], what="ISR of one")
    assert sorted(cluster.partition(topic_name, via=leader)["offline_replicas"]) == sorted(others)
    bootstrap = cluster.brokers[leader].bootstrap
    assert produce_raw(bootstrap, topic_name) == ErrorCode.NOT_ENOUGH_REPLICAS
    assert produce_raw(bootstrap, topic_name, acks=1) == 0   # acks=1 does not ask for the ISR
    cluster.brokers[others[0]].start()
    cluster.wait_for(lambda: len(cluster.partition(topic_name, via=leader)["isr_nodes"]) == 2, what="ISR of two")
    assert produce_raw(bootstrap, topic_name) == 0


def test_a_stopped_follower_leaves_the_isr_and_rejoins(make_cluster, topic_name):
    # the session outlives the pause: the leader, not the session, decides (replica.lag.time.max.ms)
    cluster = make_cluster(3, zookeeper_session_timeout_ms=15000, replica_lag_time_max_ms=1500)
    create_rf3(cluster, topic_name, partitions=1)
    leader = first_produce(cluster, topic_name)
    controller = cluster.metadata()["controller_id"]   # the ISR changes through it: it keeps running
    follower = next(b for b in cluster.brokers if b not in (leader, controller))
    cluster.signal(follower, signal.SIGSTOP)
    try:
        cluster.wait_for(lambda: follower not in cluster.partition(topic_name, via=leader)["isr_nodes"],
                         what="the follower out of the ISR")
        for _ in range(20):   # acks=all goes on with the two left
            assert produce_raw(cluster.brokers[leader].bootstrap, topic_name) == 0
    finally:
        cluster.signal(follower, signal.SIGCONT)
    cluster.wait_for(lambda: follower in cluster.partition(topic_name, via=leader)["isr_nodes"],
                     what="the follower back in the ISR")
    cluster.wait_for(lambda: cluster.partition(topic_name, via=follower)["isr_nodes"] ==
                     cluster.partition(topic_name, via=leader)["isr_nodes"], what="the same ISR on both")


def test_controlled_shutdown_moves_leaders_first(make_cluster, topic_name):
    cluster = make_cluster(3)
    create_rf3(cluster, topic_name, partitions=6)
    stopping = cluster.leader(topic_name, 0)
    with Producing(cluster.bootstrap, topic_name, 6) as producing:
        producing.wait_for_more(300)
        assert cluster.brokers[stopping].stop() == 0
        producing.wait_for_more(300)
    assert producing.errors == []   # retriable errors at most, retried by the producer
    log = (cluster.directory / f"broker-{stopping}.log").read_text()
    assert "controlled shutdown: leaderships moved" in log
    leaders = [cluster.leader(topic_name, p) for p in range(6)]
    assert stopping not in leaders and -1 not in leaders
    assert_nothing_lost(producing, read_all(cluster, topic_name, 6, producing.count()))


def test_a_zookeeper_restart_loses_nothing_and_leaves_a_controller(zookeeper, tmp_path, topic_name):
    from broker.cluster.local import LocalCluster
    from broker.cluster.zookeeper_server import ZooKeeperServer

    own = ZooKeeperServer(tmp_path / "zookeeper", install=zookeeper.install)
    cluster = LocalCluster(tmp_path / "cluster", 3, zookeeper=own, overrides={
        "zookeeper.session.timeout.ms": "2000", "zookeeper.connection.timeout.ms": "2000"}).start()
    try:
        create_rf3(cluster, topic_name, partitions=3)
        with Producing(cluster.bootstrap, topic_name, 3) as producing:
            producing.wait_for_more(300)
            own.stop()
            time.sleep(3)   # longer than the session timeout: every broker fences itself meanwhile
            own.start()
            producing.wait_for_more(300, timeout_s=60)
        assert producing.errors == []
        views = [cluster.metadata(node) for node in cluster.brokers]
        assert all(v["controller_id"] > 0 and len(v["brokers"]) == 3 for v in views)
        assert len({v["controller_id"] for v in views}) == 1
        assert_nothing_lost(producing, read_all(cluster, topic_name, 3, producing.count()))
    finally:
        cluster.kill()
        own.kill()


def test_preferred_leaders_come_back_by_election_and_by_rebalance(make_cluster, topic_name):
    from kproto.messages import ELECT_LEADERS

    cluster = make_cluster(3, auto_leader_rebalance_enable="false")
    create_rf3(cluster, topic_name, partitions=3)
    preferred = {p: cluster.partition(topic_name, p)["replica_nodes"][0] for p in range(3)}
    cluster.brokers[1].kill()
    cluster.wait_for(lambda: all(cluster.leader(topic_name, p, via=2) not in (1, -1) for p in range(3)),
                     what="leaders off broker 1")
    cluster.brokers[1].start()
    cluster.wait_for(lambda: all(1 in cluster.partition(topic_name, p, via=2)["isr_nodes"] for p in range(3)),
                     what="broker 1 back in every ISR")
    moved = [p for p in range(3) if preferred[p] == 1]
    assert [cluster.leader(topic_name, p, via=2) for p in moved] != [1] * len(moved)   # no rebalance: still away
    controller = cluster.metadata()["controller_id"]
    with RawClient(cluster.brokers[controller].bootstrap) as client:
        answer = client.request(ELECT_LEADERS, 2, {"election_type": 0, "timeout_ms": 10000, "topic_partitions": [
            {"topic": topic_name, "partitions": [0, 1, 2]}]})
    codes = {r["partition_id"]: r["error_code"] for r in answer["replica_election_results"][0]["partition_result"]}
    assert codes == {p: 0 if p in moved else ErrorCode.ELECTION_NOT_NEEDED for p in range(3)}
    cluster.wait_for(lambda: all(cluster.leader(topic_name, p, via=3) == preferred[p] for p in range(3)),
                     what="every preferred replica leading")


def test_auto_leader_rebalance_gives_leaderships_back(make_cluster, topic_name):
    cluster = make_cluster(3, leader_imbalance_check_interval_seconds=1)
    create_rf3(cluster, topic_name, partitions=3)
    preferred = {p: cluster.partition(topic_name, p)["replica_nodes"][0] for p in range(3)}
    cluster.brokers[2].kill()
    cluster.wait_for(lambda: all(cluster.leader(topic_name, p, via=1) not in (2, -1) for p in range(3)),
                     what="leaders off broker 2")
    cluster.brokers[2].start()
    cluster.wait_for(lambda: all(cluster.leader(topic_name, p, via=1) == preferred[p] for p in range(3)),
                     what="the preferred leaders back without asking")
