"""ACLs with real clients: an authorizer on (``--acl``), SASL users, ``super.users=User:admin``.

The admin (a super user) adds and removes bindings with confluent-kafka's admin API while
alice and bob's clients are connected; what they may do follows at once, and the
bindings survive a restart.
"""

from __future__ import annotations

import pytest

from broker.testing import BrokerProcess
from compat_tests.security_kit import USERS

pytest.importorskip("confluent_kafka")


def sasl(user: str) -> dict:
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": user,
            "sasl.password": USERS[user]}


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("acl")
    (root / "users").write_text("".join(f"{user}:{password}\n" for user, password in USERS.items()))
    process = BrokerProcess(root / "data", log_path=root / "broker.log", overrides={"super.users": "User:admin"},
                            args=["--sasl-users", str(root / "users"), "--acl"]).start()
    yield process
    assert process.stop() == 0


def admin_of(broker, user="admin"):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": broker.bootstrap, **sasl(user)})


def binding(principal, name, operation, permission="ALLOW", pattern="LITERAL", resource="TOPIC"):
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    return AclBinding(getattr(ResourceType, resource), name, getattr(ResourcePatternType, pattern), principal, "*",
                      getattr(AclOperation, operation), getattr(AclPermissionType, permission))


def create(broker, *bindings):
    admin = admin_of(broker)   # kept: its futures fail once it is gone
    for future in admin.create_acls(list(bindings)).values():
        future.result(10)


def delete(broker, *bindings):
    from confluent_kafka.admin import AclBindingFilter
    filters = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                                b.permission_type) for b in bindings]
    admin = admin_of(broker)
    for future in admin.delete_acls(filters).values():
        future.result(10)


def produce_errors(broker, user: str, topic: str, producer=None) -> list[str | None]:
    """Produce one message; the delivery error's name, or None."""
    from confluent_kafka import Producer
    producer = producer or Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 5000,
                                     "allow.auto.create.topics": True, **sasl(user)})
    from confluent_kafka import KafkaException
    errors = []
    try:
        producer.produce(topic, b"v", on_delivery=lambda err, msg: errors.append(err and err.name()))
    except KafkaException as exc:   # the client remembers the topic's last error
        return [exc.args[0].name()]
    producer.flush(10)
    return errors


def eventually(check, timeout_s: float = 10):
    """The client refreshes what it knows of a topic now and then: ask until ``check()`` holds."""
    import time
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "never"
        time.sleep(0.2)


def test_a_producer_may_write_one_topic_and_not_another(acl_broker, topic_name):
    create(acl_broker, binding("User:alice", topic_name, "WRITE"), binding("User:alice", topic_name, "CREATE"))
    assert produce_errors(acl_broker, "alice", topic_name) == [None]
    assert produce_errors(acl_broker, "alice", topic_name + "-other") == ["TOPIC_AUTHORIZATION_FAILED"]
    assert produce_errors(acl_broker, "bob", topic_name) == ["TOPIC_AUTHORIZATION_FAILED"]


def test_prefixed_acls_and_deny_overriding_allow(acl_broker, topic_name):
    create(acl_broker, binding("User:alice", f"{topic_name}-", "ALL", pattern="PREFIXED"),
           binding("User:*", f"{topic_name}-secret", "WRITE", permission="DENY"))
    assert produce_errors(acl_broker, "alice", f"{topic_name}-a") == [None]
    assert produce_errors(acl_broker, "alice", f"{topic_name}-secret") == ["TOPIC_AUTHORIZATION_FAILED"]


def test_a_consumer_denied_its_group(acl_broker, topic_name):
    from confluent_kafka import Consumer, KafkaException
    create(acl_broker, binding("User:bob", topic_name, "READ"))
    admin = admin_of(acl_broker)
    from confluent_kafka.admin import NewTopic
    admin.create_topics([NewTopic(topic_name, 1, 1)])[topic_name].result(10)
    consumer = Consumer({"bootstrap.servers": acl_broker.bootstrap, "group.id": f"{topic_name}-group",
                         "auto.offset.reset": "earliest", **sasl("bob")})
    try:
        consumer.subscribe([topic_name])
        error = None
        for _ in range(50):
            message = consumer.poll(0.2)
            if message is not None and message.error():
                error = message.error()
                break
        assert error is not None and error.name() == "GROUP_AUTHORIZATION_FAILED", error
    finally:
        try:
            consumer.close()
        except KafkaException:
            pass


def test_metadata_hides_topics_a_principal_may_not_describe(acl_broker, topic_name):
    from confluent_kafka.admin import NewTopic
    admin = admin_of(acl_broker)
    for name in (f"{topic_name}-seen", f"{topic_name}-hidden"):
        admin.create_topics([NewTopic(name, 1, 1)])[name].result(10)
    create(acl_broker, binding("User:bob", f"{topic_name}-seen", "DESCRIBE"))
    bob = admin_of(acl_broker, "bob")
    seen = set(bob.list_topics(timeout=10).topics)
    assert f"{topic_name}-seen" in seen and f"{topic_name}-hidden" not in seen
    assert {f"{topic_name}-seen", f"{topic_name}-hidden"} <= set(admin.list_topics(timeout=10).topics)


def test_acls_change_while_clients_are_connected_and_survive_a_restart(acl_broker, topic_name):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, \
        ResourceType
    producer = Producer({"bootstrap.servers": acl_broker.bootstrap, "message.timeout.ms": 5000,
                         "topic.metadata.refresh.interval.ms": 300, **sasl("alice")})
    assert produce_errors(acl_broker, "alice", topic_name, producer) == ["TOPIC_AUTHORIZATION_FAILED"]
    allow = [binding("User:alice", topic_name, "WRITE"), binding("User:alice", topic_name, "CREATE")]
    create(acl_broker, *allow)
    eventually(lambda: produce_errors(acl_broker, "alice", topic_name, producer) == [None])
    acl_broker.restart()
    everything = AclBindingFilter(ResourceType.TOPIC, topic_name, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    admin = admin_of(acl_broker)
    kept = admin.describe_acls(everything).result(10)
    assert sorted(b.operation for b in kept) == sorted([AclOperation.WRITE, AclOperation.CREATE])
    delete(acl_broker, *allow)
    eventually(lambda: produce_errors(acl_broker, "alice", topic_name, producer) == ["TOPIC_AUTHORIZATION_FAILED"])


def test_only_a_super_user_may_change_acls(acl_broker, topic_name):
    from confluent_kafka import KafkaException
    bob = admin_of(acl_broker, "bob")
    futures = bob.create_acls([binding("User:bob", topic_name, "ALL")])
    with pytest.raises(KafkaException, match="CLUSTER_AUTHORIZATION_FAILED|authoriz"):
        for future in futures.values():
            future.result(10)
