"""Three brokers and ZooKeeper: RF=3 topics written with acks=all and idempotence by
confluent-kafka, kafka-python and aiokafka, read back whole; every broker gives the same view."""

from __future__ import annotations

import pytest

from compat_tests.clients import CLIENTS, Out, consume, produce


def create_rf3(cluster, name: str, partitions: int = 3, configs: dict | None = None) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 3, config=configs or {})], operation_timeout=20)
    futures[name].result(timeout=30)


IDEMPOTENT = {
    "kafka-python": {"acks": "all", "enable_idempotence": True},
    "confluent": {"acks": "all", "enable.idempotence": True},
    "aiokafka": {"acks": "all", "enable_idempotence": True},
}


@pytest.mark.parametrize("client", CLIENTS)
def test_acks_all_idempotent_produce_to_rf3_is_read_back_whole(shared_cluster, topic_name, client):
    create_rf3(shared_cluster, topic_name)
    messages = [Out(b"k%d" % i, b"v%d" % i) for i in range(300)]
    deliveries = produce(client, shared_cluster.bootstrap, topic_name, messages, **IDEMPOTENT[client])
    assert [d.error for d in deliveries] == [None] * 300
    received = consume(client, shared_cluster.bootstrap, topic_name, 3, 300)
    assert sorted(r.value for r in received) == sorted(m.value for m in messages)
    for partition in range(3):   # each partition in the order it was acknowledged
        acked = [d.offset for d in deliveries if d.partition == partition]
        assert [r.offset for r in received if r.partition == partition] == sorted(acked)


def test_every_broker_gives_the_same_view_with_replicas_and_isr(shared_cluster, topic_name):
    create_rf3(shared_cluster, topic_name, partitions=6)

    def same_view():   # the controller tells every broker at once; each applies it when it arrives
        views = [shared_cluster.metadata(node, [topic_name]) for node in shared_cluster.brokers]
        return all((v["brokers"], v["controller_id"], v["topics"]) == (views[0]["brokers"], views[0][
            "controller_id"], views[0]["topics"]) and v["topics"][0]["error_code"] == 0 for v in views) and views
    views = shared_cluster.wait_for(same_view, what="one view on every broker")
    partitions = views[0]["topics"][0]["partitions"]
    assert len(partitions) == 6
    for p in partitions:
        assert sorted(p["replica_nodes"]) == [1, 2, 3] and sorted(p["isr_nodes"]) == [1, 2, 3]
        assert p["leader_id"] == p["replica_nodes"][0] and p["offline_replicas"] == []
    # leaders are spread: each broker prefers two of the six
    assert sorted(p["leader_id"] for p in partitions) == [1, 1, 2, 2, 3, 3]


def test_the_wrong_broker_names_the_leader_kip_951(shared_cluster, topic_name):
    from broker.testing import RawClient
    from kproto.errors import ErrorCode
    from kproto.messages import FETCH, PRODUCE
    from storage import Record, build_batch

    create_rf3(shared_cluster, topic_name, partitions=1)
    view = shared_cluster.partition(topic_name)
    follower = next(b for b in view["replica_nodes"] if b != view["leader_id"])
    with RawClient(shared_cluster.brokers[follower].bootstrap) as client:
        produced = client.request(PRODUCE, 10, {"transactional_id": None, "acks": -1, "timeout_ms": 5000,
                                                "topic_data": [{"name": topic_name, "partition_data": [{
                                                    "index": 0, "records": build_batch([Record(value=b"v")])}]}]})
        fetched = client.request(FETCH, 12, {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "isolation_level": 0,
                                             "session_id": 0, "session_epoch": -1, "topics": [{
                                                 "topic": topic_name, "partitions": [{
                                                     "partition": 0, "current_leader_epoch": view["leader_epoch"] + 1,
                                                     "fetch_offset": 0, "partition_max_bytes": 1000}]}],
                                             "forgotten_topics_data": [], "rack_id": ""})
    entry = produced["responses"][0]["partition_responses"][0]
    assert entry["error_code"] == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert entry["current_leader"] == {"leader_id": view["leader_id"], "leader_epoch": view["leader_epoch"]}
    assert [n["node_id"] for n in produced["node_endpoints"]] == [view["leader_id"]]
    # a follower serves fetches (KIP-392) but not from an epoch it has not seen
    assert fetched["responses"][0]["partitions"][0]["error_code"] == ErrorCode.UNKNOWN_LEADER_EPOCH


def test_a_consumer_reads_from_a_replica_in_its_rack_kip_392(make_cluster, topic_name):
    from broker.testing import RawClient
    from kproto.messages import FETCH
    from compat_tests.clients import consume

    cluster = make_cluster(3, racks=["a", "b", "c"],
                           replica_selector_class="org.apache.kafka.common.replica.RackAwareReplicaSelector")
    create_rf3(cluster, topic_name, partitions=1)
    produce("confluent", cluster.bootstrap, topic_name, [Out(None, b"%d" % i) for i in range(20)], acks="all")
    view = cluster.partition(topic_name)
    follower = next(b for b in view["replica_nodes"] if b != view["leader_id"])
    rack = "abc"[follower - 1]
    with RawClient(cluster.brokers[view["leader_id"]].bootstrap) as client:
        answer = client.request(FETCH, 12, {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "isolation_level": 0,
                                            "session_id": 0, "session_epoch": -1, "topics": [{
                                                "topic": topic_name, "partitions": [{
                                                    "partition": 0, "current_leader_epoch": -1, "fetch_offset": 0,
                                                    "partition_max_bytes": 100000}]}],
                                            "forgotten_topics_data": [], "rack_id": rack})
    assert answer["responses"][0]["partitions"][0]["preferred_read_replica"] == follower
    # librdkafka follows the hint and reads everything from the follower in its rack
    got = consume("confluent", cluster.bootstrap, topic_name, 1, 20, **{"client.rack": rack})
    assert [int(r.value) for r in got] == list(range(20))


def test_a_topic_config_change_reaches_every_broker(shared_cluster, topic_name):
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
    from broker.testing import RawClient
    from kproto.messages import DESCRIBE_CONFIGS

    create_rf3(shared_cluster, topic_name, partitions=1, configs={"retention.ms": "1000000"})
    admin = AdminClient({"bootstrap.servers": shared_cluster.bootstrap})
    resource = ConfigResource("topic", topic_name, incremental_configs=[
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        for name, value in (("retention.ms", "2000000"), ("segment.bytes", "1000000"))])
    admin.incremental_alter_configs([resource])[resource].result(30)

    def described(node: int) -> dict:
        with RawClient(shared_cluster.brokers[node].bootstrap) as client:
            answer = client.request(DESCRIBE_CONFIGS, 4, {"resources": [{
                "resource_type": 2, "resource_name": topic_name, "configuration_keys": ["retention.ms",
                                                                                         "segment.bytes"]}],
                "include_synonyms": False, "include_documentation": False})
        return {c["name"]: c["value"] for c in answer["results"][0]["configs"]}
    for node in shared_cluster.brokers:
        shared_cluster.wait_for(lambda: described(node) == {"retention.ms": "2000000", "segment.bytes": "1000000"},
                                what=f"the configs on broker {node}")


def test_delete_records_on_the_leader_moves_every_replicas_log_start(shared_cluster, topic_name):
    from broker.testing import RawClient
    from kproto.errors import ErrorCode
    from kproto.messages import DELETE_RECORDS, FETCH

    create_rf3(shared_cluster, topic_name, partitions=1)
    produce("confluent", shared_cluster.bootstrap, topic_name, [Out(None, b"%d" % i) for i in range(50)], acks="all")
    view = shared_cluster.partition(topic_name)
    request = {"topics": [{"name": topic_name, "partitions": [{"partition_index": 0, "offset": 30}]}],
               "timeout_ms": 5000}
    follower = next(b for b in view["replica_nodes"] if b != view["leader_id"])
    with RawClient(shared_cluster.brokers[follower].bootstrap) as client:
        refused = client.request(DELETE_RECORDS, 2, request)
    assert refused["topics"][0]["partitions"][0]["error_code"] == ErrorCode.NOT_LEADER_OR_FOLLOWER
    with RawClient(shared_cluster.brokers[view["leader_id"]].bootstrap) as client:
        done = client.request(DELETE_RECORDS, 2, request)
    assert done["topics"][0]["partitions"][0] == {"partition_index": 0, "low_watermark": 30, "error_code": 0}
    # the followers learn it from their next fetch (a consumer may read a follower, KIP-392)
    produce("confluent", shared_cluster.bootstrap, topic_name, [Out(None, b"more")], acks="all")

    def follower_start_moved() -> bool:
        with RawClient(shared_cluster.brokers[follower].bootstrap) as client:
            answer = client.request(FETCH, 12, {
                "replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "isolation_level": 0, "session_id": 0,
                "session_epoch": -1, "topics": [{"topic": topic_name, "partitions": [{
                    "partition": 0, "current_leader_epoch": -1, "fetch_offset": 0, "partition_max_bytes": 1000}]}],
                "forgotten_topics_data": [], "rack_id": ""})
        return answer["responses"][0]["partitions"][0]["error_code"] == ErrorCode.OFFSET_OUT_OF_RANGE
    shared_cluster.wait_for(follower_start_moved, what="the follower's log start at 30")
    got = consume("confluent", shared_cluster.bootstrap, topic_name, 1, 21)
    assert [r.offset for r in got] == list(range(30, 51))


def test_the_wrong_broker_answers_each_group_of_a_request_on_its_own(shared_cluster, topic_name):
    """A request about several groups, sent to the coordinator of only some: each of those is
    answered as when asked alone, each other one gets its own entry, NOT_COORDINATOR and empty
    fields (not an empty list, nor one error for all), as Kafka answers partition by partition."""
    from broker.testing import RawClient
    from kproto.errors import ErrorCode
    from kproto.messages import (CONSUMER_GROUP_DESCRIBE, DELETE_GROUPS, DESCRIBE_GROUPS, DESCRIBE_SHARE_GROUP_OFFSETS,
                                 FIND_COORDINATOR, OFFSET_FETCH, SHARE_GROUP_DESCRIBE)

    requests = [   # (message, version, request about the groups, response's list)
        (DESCRIBE_GROUPS, 5, lambda ids: {"groups": ids, "include_authorized_operations": False}, "groups"),
        (CONSUMER_GROUP_DESCRIBE, 0, lambda ids: {"group_ids": ids, "include_authorized_operations": False}, "groups"),
        (SHARE_GROUP_DESCRIBE, 1, lambda ids: {"group_ids": ids, "include_authorized_operations": False}, "groups"),
        (DELETE_GROUPS, 2, lambda ids: {"groups_names": ids}, "results"),
        (OFFSET_FETCH, 8, lambda ids: {"groups": [{"group_id": g, "topics": None} for g in ids],
                                       "require_stable": False}, "groups"),
        (DESCRIBE_SHARE_GROUP_OFFSETS, 0, lambda ids: {"groups": [{"group_id": g, "topics": None} for g in ids]},
         "groups"),
    ]
    groups = [f"{topic_name}-group-{i}" for i in range(12)]

    def coordinators() -> dict[str, int] | None:
        with RawClient(shared_cluster.bootstrap.split(",")[0]) as client:
            answer = client.request(FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": groups})
        if all(c["error_code"] == 0 for c in answer["coordinators"]):
            return {c["key"]: c["node_id"] for c in answer["coordinators"]}
        return None
    found = shared_cluster.wait_for(coordinators, what="the groups' coordinators")
    here = groups[0]
    away = next(g for g in groups if found[g] != found[here])
    with RawClient(shared_cluster.brokers[found[here]].bootstrap) as client:
        shared_cluster.wait_for(lambda: client.request(DESCRIBE_GROUPS, 5, requests[0][2]([here]))["groups"][0][
            "error_code"] == 0, what="the group's partition loaded")
        for message, version, body, answers in requests:
            alone = client.request(message, version, body([here]))[answers]
            mixed = {a["group_id"]: a for a in client.request(message, version, body([away, here]))[answers]}
            elsewhere = client.request(message, version, body([away]))[answers]
            assert mixed[here] == alone[0], message.name
            assert mixed[away] == elsewhere[0], message.name
            assert [(a["group_id"], a["error_code"]) for a in elsewhere] == [(away, ErrorCode.NOT_COORDINATOR)]
            if message is DESCRIBE_GROUPS:
                assert elsewhere[0] == {"error_code": ErrorCode.NOT_COORDINATOR, "group_id": away, "group_state": "",
                                        "protocol_type": "", "protocol_data": "", "members": [],
                                        "authorized_operations": -2147483648, "error_message": None}


def test_kip848_and_share_groups_get_a_topic_with_no_replica_on_their_coordinator(shared_cluster, topic_name):
    """The group coordinators assign the cluster's topics, not this broker's replicas: a topic
    whose partitions all live on the other brokers is assigned to a KIP-848 consumer (a regex
    subscription too) and to a share consumer of groups coordinated here, which read it. Deleted
    in the cluster, it takes the group's committed offsets with it there."""
    import time

    from confluent_kafka import Consumer, Producer, ShareConsumer
    from confluent_kafka.admin import AdminClient
    from broker.groups.offsets import OFFSETS_TOPIC, partition_for
    from broker.testing import RawClient
    from compat_tests.cluster.test_cluster_groups import coordinator_of
    from kproto.messages import CREATE_TOPICS, OFFSET_FETCH

    cluster = shared_cluster
    group = f"{topic_name}-group"
    coordinator = cluster.wait_for(lambda: coordinator_of(cluster, group) > 0 and coordinator_of(cluster, group),
                                   what="a coordinator")
    count = len(cluster.metadata(coordinator, [OFFSETS_TOPIC])["topics"][0]["partitions"])
    share_group = next(g for g in (f"{topic_name}-share-{i}" for i in range(1000))
                       if partition_for(g, count) == partition_for(group, count))   # the same coordinator
    others = sorted(set(cluster.brokers) - {coordinator})
    with RawClient(cluster.brokers[cluster.metadata()["controller_id"]].bootstrap) as raw:
        assert raw.request(CREATE_TOPICS, 5, {"topics": [{
            "name": topic_name, "num_partitions": -1, "replication_factor": -1, "configs": [],
            "assignments": [{"partition_index": i, "broker_ids": [b]} for i, b in enumerate(others)]}],
            "timeout_ms": 10000, "validate_only": False})["topics"][0]["error_code"] == 0
    cluster.wait_for(lambda: {cluster.leader(topic_name, i, via=coordinator) for i in (0, 1)} == set(others),
                     what="the coordinator's metadata")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 0})

    def produce_one_each(prefix: str) -> None:
        for partition in (0, 1):
            producer.produce(topic_name, f"{prefix}-{partition}".encode(), partition=partition)
        producer.flush(10)

    produce_one_each("before")
    consumers = {
        "consumer": Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "group.protocol": "consumer",
                              "auto.offset.reset": "earliest"}),
        "share": ShareConsumer({"bootstrap.servers": cluster.bootstrap, "group.id": share_group})}
    consumers["consumer"].subscribe([f"^{topic_name}$"])   # a regex, resolved by the coordinator
    consumers["share"].subscribe([topic_name])
    got: dict[str, set[tuple[int, str]]] = {kind: set() for kind in consumers}
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
                {p for p, _ in received} == {0, 1} for received in got.values()):
            produce_one_each("during")   # the share group starts at the end of the log: records keep coming
            message = consumers["consumer"].poll(0.1)
            if message is not None and message.error() is None:
                got["consumer"].add((message.partition(), message.value().decode()))
            for message in consumers["share"].poll(0.1):
                if message.error() is None:
                    got["share"].add((message.partition(), message.value().decode()))
    finally:
        for c in consumers.values():
            c.close()   # the KIP-848 consumer commits what it read
    assert {p for p, _ in got["share"]} == {0, 1}, got
    assert {(0, "before-0"), (1, "before-1")} <= got["consumer"], got

    def committed() -> list[str]:
        with RawClient(cluster.brokers[coordinator].bootstrap) as raw:
            return [t["name"] for t in raw.request(OFFSET_FETCH, 8, {"groups": [{"group_id": group, "topics": None}],
                                                                     "require_stable": False})["groups"][0]["topics"]]
    assert committed() == [topic_name]
    # deleted in the cluster: the coordinator, which had no copy of it, drops its offsets too
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.delete_topics([topic_name])[topic_name].result(30)
    cluster.wait_for(lambda: committed() == [], what="the offsets of the deleted topic gone")
