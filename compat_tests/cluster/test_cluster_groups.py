"""A consumer group in a cluster: its coordinator is the leader of its __consumer_offsets
partition, and the group keeps its committed offsets, and goes on, when that broker dies."""

from __future__ import annotations

import signal
import time

from broker.groups.offsets import OFFSETS_TOPIC, partition_for
from broker.testing import RawClient
from compat_tests.cluster.test_cluster_clients import create_rf3
from compat_tests.clients import Out, produce
from compat_tests.raw_groups import commit, stable_member
from kproto.messages import CREATE_TOPICS, DESCRIBE_GROUPS, FIND_COORDINATOR
from storage.records import read_header


def coordinator_of(cluster, group: str) -> int:
    for broker in cluster.brokers.values():
        if broker.proc is None:
            continue
        with RawClient(broker.bootstrap) as client:
            answer = client.request(FIND_COORDINATOR, 3, {"key": group, "key_type": 0})
        if answer["error_code"] == 0:
            return answer["node_id"]
    return -1


def consume_some(consumer, count: int, timeout_s: float = 60) -> list[int]:
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None or message.error():
            continue
        got.append(int(message.value()))
        consumer.commit(message, asynchronous=False)
    return got


def test_a_group_keeps_its_offsets_and_goes_on_when_its_coordinator_dies(make_cluster, topic_name):
    from confluent_kafka import Consumer

    cluster = make_cluster(3)
    create_rf3(cluster, topic_name, partitions=1)
    produce("confluent", cluster.bootstrap, topic_name, [Out(None, b"%d" % i) for i in range(100)], acks="all")
    settings = {"bootstrap.servers": cluster.bootstrap, "group.id": f"{topic_name}-group",
                "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500}
    consumer = Consumer(settings)
    consumer.subscribe([topic_name])
    first = consume_some(consumer, 40)
    assert first == list(range(40))
    coordinator = cluster.wait_for(lambda: coordinator_of(cluster, settings["group.id"]) > 0 and
                                   coordinator_of(cluster, settings["group.id"]), what="a coordinator")
    cluster.brokers[coordinator].kill()
    # the same member goes on with the next coordinator: consuming, committing
    second = consume_some(consumer, 30)
    assert second == list(range(40, 70))
    assert coordinator_of(cluster, settings["group.id"]) not in (-1, coordinator)
    consumer.close()
    # a new member of the group starts where the group's last commit left it
    again = Consumer(settings)
    again.subscribe([topic_name])
    rest = consume_some(again, 30)
    again.close()
    assert rest == list(range(70, 100))


def file_batches(directory):
    """(header, bytes) of every whole batch in a partition directory's segment files, in order."""
    for path in sorted(directory.glob("*.log")):
        data, position = path.read_bytes(), 0
        while position + 61 <= len(data):
            header = read_header(data, position)
            if header.batch_length <= 0 or position + header.size > len(data):
                break
            yield header, data[position:position + header.size]
            position += header.size


def batches_on_disk(cluster, node: int, topic: str) -> dict[int, list[tuple[int, int, int]]]:
    """Partition -> (base offset, CRC, leader epoch) of every whole batch of a broker's replicas
    of ``topic`` that hold any, read from its files."""
    found = {}
    for directory in (cluster.brokers[node].data_dir).glob(f"{topic}-*"):
        batches = [(h.base_offset, h.crc, h.partition_leader_epoch) for h, _ in file_batches(directory)]
        if batches:
            found[int(directory.name.rsplit("-", 1)[1])] = batches
    return found


def test_only_the_coordinator_writes_its_groups_partition(make_cluster, topic_name):
    """Leaderships move (a broker stops) and the survivors load the coordinator again: a broker
    that only follows the group's partition of __consumer_offsets takes none of its groups. A
    follower holding a copy of the group would end the member's session there and write that in
    its own log, a batch its leader never wrote. The leader is paused meanwhile, so that the
    follower cannot fetch (and cut such a batch away). The group's records are only in its
    partition (replication factor 2 of 3 brokers: a broker holds only some partitions of the
    topic, and places groups on the cluster's count), and the follower's replica holds the
    coordinator's batches, byte for byte, and no other. The group commits offsets of a topic
    whose one replica is on another broker: the coordinator checks them on the cluster's topics."""
    cluster = make_cluster(3, group_min_session_timeout_ms=500, offsets_topic_replication_factor=2,
                           zookeeper_session_timeout_ms=10000)   # outlasts the pause
    group = f"{topic_name}-group"
    coordinator = cluster.wait_for(lambda: coordinator_of(cluster, group) > 0 and coordinator_of(cluster, group),
                                   what="a coordinator")
    partitions = cluster.wait_for(lambda: cluster.metadata(coordinator, [OFFSETS_TOPIC])["topics"][0]["partitions"],
                                  what="the coordinator's metadata of the topic")
    partition = partition_for(group, len(partitions))
    follower, = {r for p in partitions if p["partition_index"] == partition for r in p["replica_nodes"]} - {coordinator}
    stopped, = set(cluster.brokers) - {coordinator, follower}

    def on_disk(node: int) -> dict:
        return batches_on_disk(cluster, node, OFFSETS_TOPIC)
    # the group's topic: one replica, on the follower; the coordinator knows it from the cluster
    with RawClient(cluster.brokers[cluster.metadata()["controller_id"]].bootstrap) as raw:
        assert raw.request(CREATE_TOPICS, 5, {"topics": [{
            "name": topic_name, "num_partitions": -1, "replication_factor": -1, "configs": [],
            "assignments": [{"partition_index": 0, "broker_ids": [follower]}]}], "timeout_ms": 10000,
            "validate_only": False})["topics"][0]["error_code"] == 0
    with RawClient(cluster.brokers[coordinator].bootstrap) as raw:
        cluster.wait_for(lambda: raw.request(DESCRIBE_GROUPS, 5, {
            "groups": [group], "include_authorized_operations": False})["groups"][0]["error_code"] == 0,
            what="the coordinator loaded")
        member_id, generation = stable_member(raw, group, topic_name, [0], session_ms=1000)
        assert cluster.wait_for(lambda: cluster.leader(topic_name, via=coordinator) == follower, what="its metadata")
        assert commit(raw, group, {(topic_name, 0): 5}, generation=generation, member_id=member_id) == {
            (topic_name, 0): 0}
    cluster.wait_for(lambda: on_disk(follower) == on_disk(coordinator), what="the follower caught up")
    assert list(on_disk(coordinator)) == [partition]
    follower_log = cluster.directory / f"broker-{follower}.log"
    loads = follower_log.read_text().count("coordinating the groups of")
    cluster.brokers[stopped].stop()   # its leaderships move to both survivors, which load again
    cluster.wait_for(lambda: follower_log.read_text().count("coordinating the groups of") > loads,
                     what="the follower loading again")
    cluster.signal(coordinator, signal.SIGSTOP)
    try:
        time.sleep(1.5)   # a copy of the member loaded on the follower would have expired there by now
        on_follower, on_coordinator = on_disk(follower), on_disk(coordinator)
    finally:
        cluster.signal(coordinator, signal.SIGCONT)
    assert list(on_coordinator) == [partition]
    assert set(on_follower) <= {partition}
    # what the follower holds is the coordinator's (which may have written more meanwhile)
    assert on_follower.get(partition, []) == on_coordinator[partition][:len(on_follower.get(partition, []))]
