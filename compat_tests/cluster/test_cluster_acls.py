"""ACLs, client quotas and SCRAM users in a cluster: three brokers with the authorizer on, clients
on a SASL_PLAINTEXT listener, the brokers on a PLAINTEXT one of their own
(``inter.broker.listener.name``), whose principal, User:ANONYMOUS, is a super user, as Kafka's
users make their inter-broker principal.

What a user sees: Metadata hides topics a client may not describe, creating and producing
without rights is refused, ACLs created through one broker hold on every broker (they live in
ZooKeeper), and a user with rights produces with acks=all to leaders on every broker and
consumes in a group, while the brokers replicate to each other. Metadata answers each client
with the endpoints of the listener it came in on. Client quotas and SCRAM credentials set through
one broker are described by every broker, and a SCRAM user logs in through any broker: they live
in ZooKeeper, in Kafka's znodes.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from broker.cluster.zookeeper_server import free_port
from compat_tests.security_kit import USERS

pytest.importorskip("confluent_kafka")


@pytest.fixture(scope="module")
def acl_cluster(zookeeper, tmp_path_factory):
    from broker.cluster.local import LocalCluster

    root = tmp_path_factory.mktemp("acl-cluster")
    (root / "users").write_text("".join(f"{user}:{password}\n" for user, password in USERS.items()))
    cluster = LocalCluster(root, 3, zookeeper=zookeeper, chroot=f"/acl-{uuid.uuid4().hex[:8]}",
                           overrides={"zookeeper.session.timeout.ms": "4000",
                                      "super.users": "User:admin;User:ANONYMOUS",
                                      "inter.broker.listener.name": "INTERNAL",
                                      "listener.security.protocol.map": "INTERNAL:PLAINTEXT,CLIENT:SASL_PLAINTEXT"})
    cluster.sasl = {}
    taken = {broker.port for broker in cluster.brokers.values()}   # chosen, not bound yet
    for node_id, broker in cluster.brokers.items():
        while (port := free_port()) in taken:
            pass
        taken.add(port)
        cluster.sasl[node_id] = port
        broker.overrides["listeners"] = (f"INTERNAL://127.0.0.1:{broker.port},"   # first: --port is its port
                                         f"CLIENT://127.0.0.1:{cluster.sasl[node_id]}")
        broker.args += ["--sasl-users", str(root / "users"), "--acl"]
    cluster.sasl_bootstrap = lambda node_id=None: ",".join(
        f"127.0.0.1:{port}" for i, port in cluster.sasl.items() if node_id in (None, i))
    cluster.start()
    yield cluster
    cluster.stop()


def sasl(cluster, user: str, node_id: int | None = None) -> dict:
    return {"bootstrap.servers": cluster.sasl_bootstrap(node_id), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": USERS[user]}


def binding(principal, name, operation, resource="TOPIC"):
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    return AclBinding(getattr(ResourceType, resource), name, ResourcePatternType.LITERAL, principal, "*",
                      getattr(AclOperation, operation), AclPermissionType.ALLOW)


def admin(cluster, user: str = "admin", node_id: int | None = None):
    from confluent_kafka.admin import AdminClient
    return AdminClient(sasl(cluster, user, node_id))


def create_topic(cluster, name: str, partitions: int = 3) -> None:
    from confluent_kafka.admin import NewTopic
    client = admin(cluster)
    client.create_topics([NewTopic(name, partitions, 3)], operation_timeout=20)[name].result(30)

    def known_everywhere():   # the controller tells each broker; each applies it when it arrives
        views = [cluster.metadata(node_id, [name])["topics"][0] for node_id in cluster.brokers]
        return all(v["error_code"] == 0 and len(v["partitions"]) == partitions for v in views)
    cluster.wait_for(known_everywhere, what=f"{name} on every broker")


def acls_on(node_id: int, cluster) -> list[tuple]:
    """DescribeAcls (everything) from one broker, over its INTERNAL listener (User:ANONYMOUS, a super user)."""
    from broker.testing import RawClient
    from kproto.messages import DESCRIBE_ACLS
    with RawClient(cluster.brokers[node_id].bootstrap) as client:
        answer = client.request(DESCRIBE_ACLS, 2, {"resource_type_filter": 1, "resource_name_filter": None,
                                                   "pattern_type_filter": 1, "principal_filter": None,
                                                   "host_filter": None, "operation": 1, "permission_type": 1})
    return sorted((r["resource_name"], a["principal"], a["operation"])
                  for r in answer["resources"] for a in r["acls"])


def test_a_user_without_rights_sees_no_topics_and_may_not_create_or_produce(acl_cluster, topic_name):
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import NewTopic

    create_topic(acl_cluster, topic_name)
    seen_by_admin = admin(acl_cluster).list_topics(timeout=10)
    assert topic_name in seen_by_admin.topics
    # Metadata on the client listener names the brokers' client endpoints, not INTERNAL's
    assert sorted(b.port for b in seen_by_admin.brokers.values()) == sorted(acl_cluster.sasl.values())

    bob = admin(acl_cluster, "bob")   # kept: its futures fail once it is gone
    assert topic_name not in bob.list_topics(timeout=10).topics
    refused = bob.create_topics([NewTopic(topic_name + "-new", 1, 3)], operation_timeout=10)
    with pytest.raises(KafkaException) as caught:
        refused[topic_name + "-new"].result(15)
    assert caught.value.args[0].name() == "TOPIC_AUTHORIZATION_FAILED"

    errors = []
    producer = Producer({**sasl(acl_cluster, "bob"), "message.timeout.ms": 5000})
    try:
        producer.produce(topic_name, b"v", on_delivery=lambda err, msg: errors.append(err and err.name()))
        producer.flush(10)
    except KafkaException as exc:
        errors.append(exc.args[0].name())
    assert errors == ["TOPIC_AUTHORIZATION_FAILED"]


def test_a_user_with_rights_produces_to_every_leader_and_consumes_in_a_group(acl_cluster, topic_name):
    from confluent_kafka import Consumer, Producer

    group = f"{topic_name}-group"
    # created through broker 1 alone; they live in ZooKeeper, so every broker enforces them
    admin_1 = admin(acl_cluster, node_id=1)
    futures = admin_1.create_acls([
        binding("User:alice", topic_name, "WRITE"), binding("User:alice", topic_name, "READ"),
        binding("User:alice", group, "READ", resource="GROUP")])
    for future in futures.values():
        future.result(10)
    wanted = sorted([(topic_name, "User:alice", 3), (topic_name, "User:alice", 4), (group, "User:alice", 3)])
    for node_id in acl_cluster.brokers:
        acl_cluster.wait_for(lambda: all(acl in acls_on(node_id, acl_cluster) for acl in wanted),
                             what=f"the ACLs on broker {node_id}")
    create_topic(acl_cluster, topic_name)
    leaders = {p["partition_index"]: p["leader_id"]
               for t in acl_cluster.metadata(topics=[topic_name])["topics"] for p in t["partitions"]}
    assert sorted(leaders.values()) == [1, 2, 3]   # one leader on each broker

    # bootstrapped at broker 3 only: the other leaders are found through Metadata's SASL endpoints
    producer = Producer({**sasl(acl_cluster, "alice", 3), "acks": "all", "enable.idempotence": True})
    delivered = []
    for i in range(90):
        producer.produce(topic_name, b"v%d" % i, partition=i % 3,
                         on_delivery=lambda err, msg: delivered.append((err, msg.partition())))
    assert producer.flush(30) == 0
    assert [err for err, _ in delivered] == [None] * 90

    consumer = Consumer({**sasl(acl_cluster, "alice", 2), "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    try:
        consumer.subscribe([topic_name])
        values = []
        for _ in range(200):
            message = consumer.poll(0.5)
            if message is not None:
                assert message.error() is None, message.error()
                values.append(message.value())
            if len(values) == 90:
                break
        assert sorted(values) == sorted(b"v%d" % i for i in range(90))
        consumer.commit(asynchronous=False)
        committed = consumer.committed([_tp(topic_name, p) for p in range(3)], timeout=10)
        assert sum(tp.offset for tp in committed) == 90
    finally:
        consumer.close()
    # replicated: every partition's ISR is all three brokers, and the followers hold the records
    for p in acl_cluster.metadata(topics=[topic_name])["topics"][0]["partitions"]:
        assert sorted(p["isr_nodes"]) == [1, 2, 3]


def _tp(topic: str, partition: int):
    from confluent_kafka import TopicPartition
    return TopicPartition(topic, partition)


def test_inter_broker_requests_need_cluster_action(acl_cluster):
    """A client that is not a broker (bob, over SASL) may not send the controller's requests."""
    from broker.testing import RawClient
    from kproto.errors import ErrorCode
    from kproto.messages import SASL_AUTHENTICATE, SASL_HANDSHAKE, STOP_REPLICA, UPDATE_METADATA

    with RawClient(f"127.0.0.1:{acl_cluster.sasl[1]}") as client:
        assert client.request(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})["error_code"] == 0
        assert client.request(SASL_AUTHENTICATE, 2, {"auth_bytes": b"\0bob\0" + USERS["bob"].encode()})[
            "error_code"] == 0
        updated = client.request(UPDATE_METADATA, 7, {
            "controller_id": 1, "controller_epoch": 1_000_000, "broker_epoch": -1, "topic_states": [],
            "live_brokers": []})
        stopped = client.request(STOP_REPLICA, 3, {
            "controller_id": 1, "controller_epoch": 1_000_000, "broker_epoch": -1, "topic_states": []})
    assert updated["error_code"] == ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    assert stopped["error_code"] == ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    # and the cluster's view is untouched: still three brokers
    assert len(acl_cluster.metadata(1)["brokers"]) == 3


def _zookeeper_data(cluster, path: str) -> bytes:
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=cluster.connect)   # the cluster's chroot included
    zk.start(timeout=10)
    try:
        return zk.get(path)[0]
    finally:
        zk.stop()
        zk.close()


def _quotas_on(cluster, node_id: int, user: str) -> dict:
    from broker.testing import RawClient
    from kproto.messages import DESCRIBE_CLIENT_QUOTAS
    with RawClient(cluster.brokers[node_id].bootstrap) as client:
        answer = client.request(DESCRIBE_CLIENT_QUOTAS, 1, {"components": [
            {"entity_type": "user", "match_type": 0, "match": user}], "strict": False})
    return {tuple(sorted((e["entity_type"], e["entity_name"]) for e in entry["entity"])):
            {v["key"]: v["value"] for v in entry["values"]} for entry in answer["entries"]}


def test_a_scram_user_made_through_one_broker_logs_in_through_another(acl_cluster):
    from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism, UserScramCredentialDeletion,
                                       UserScramCredentialUpsertion)

    user = f"carol-{uuid.uuid4().hex[:6]}"
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192)
    admin_1, admin_2, admin_3 = (admin(acl_cluster, node_id=n) for n in (1, 2, 3))   # kept: futures need them
    for future in admin_1.alter_user_scram_credentials([
            UserScramCredentialUpsertion(user, info, b"carol-secret", b"salt-of-carol")]).values():
        future.result(10)
    stored = json.loads(_zookeeper_data(acl_cluster, f"/config/users/{user}"))
    assert stored["version"] == 1 and list(stored["config"]) == ["SCRAM-SHA-256"]
    assert re.fullmatch(r"salt=c2FsdC1vZi1jYXJvbA==,stored_key=[A-Za-z0-9+/=]{44},server_key=[A-Za-z0-9+/=]{44},"
                        r"iterations=8192", stored["config"]["SCRAM-SHA-256"])

    carol = {"bootstrap.servers": acl_cluster.sasl_bootstrap(2), "security.protocol": "SASL_PLAINTEXT",
             "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": user, "sasl.password": "carol-secret"}
    described = admin_2.describe_user_scram_credentials
    acl_cluster.wait_for(lambda: described([user])[user].result(10), what="the credential on broker 2")
    from confluent_kafka.admin import AdminClient
    assert AdminClient(carol).list_topics(timeout=10).brokers   # logged in through broker 2

    for future in admin_3.alter_user_scram_credentials(
            [UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)]).values():
        future.result(10)

    def gone_from_broker_2():
        try:
            described([user])[user].result(10)
        except Exception as exc:
            return "RESOURCE_NOT_FOUND" in str(exc)
    acl_cluster.wait_for(gone_from_broker_2, what="the deletion on broker 2")


def test_client_quotas_set_through_one_broker_are_every_brokers(acl_cluster):
    """Last in this module: it stops broker 3 and starts it again."""
    from broker.testing import RawClient
    from kproto.messages import ALTER_CLIENT_QUOTAS

    user = f"quota-{uuid.uuid4().hex[:6]}"
    entity = [{"entity_type": "user", "entity_name": user}, {"entity_type": "client-id", "entity_name": "app 1"}]

    def alter(node_id: int, *ops) -> list:
        with RawClient(acl_cluster.brokers[node_id].bootstrap) as client:
            answer = client.request(ALTER_CLIENT_QUOTAS, 1, {"entries": [{"entity": entity, "ops": [
                {"key": key, "value": value or 0.0, "remove": value is None} for key, value in ops]}],
                "validate_only": False})
        return [e["error_code"] for e in answer["entries"]]

    assert acl_cluster.brokers[3].stop() == 0   # away while the quotas are set
    assert alter(1, ("producer_byte_rate", 1048576.0), ("request_percentage", 50.0)) == [0]
    wanted = {(("client-id", "app 1"), ("user", user)): {"producer_byte_rate": 1048576.0, "request_percentage": 50.0}}
    acl_cluster.wait_for(lambda: _quotas_on(acl_cluster, 2, user) == wanted, what="the quotas on broker 2")
    acl_cluster.brokers[3].start()
    acl_cluster.wait_for(lambda: _quotas_on(acl_cluster, 3, user) == wanted, what="the quotas on broker 3")
    # Kafka's znode: the user and client id URL-encoded, the values strings
    assert json.loads(_zookeeper_data(acl_cluster, f"/config/users/{user}/clients/app%201")) == {
        "version": 1, "config": {"producer_byte_rate": "1048576", "request_percentage": "50.0"}}

    assert alter(2, ("producer_byte_rate", None)) == [0]   # removed through another broker
    acl_cluster.wait_for(lambda: _quotas_on(acl_cluster, 3, user) == {
        (("client-id", "app 1"), ("user", user)): {"request_percentage": 50.0}}, what="the removal on broker 3")
