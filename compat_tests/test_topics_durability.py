"""Topic changes are durable when answered: a broker killed with SIGKILL right after a
CreateTopics, DeleteTopics or auto-creating Metadata answered comes back with exactly the
topics it said it had (their ids, partitions and configs); the topics of one request are
written to disk together, in one write."""

from __future__ import annotations

from broker.testing import RawClient
from kproto.messages import CREATE_TOPICS, DELETE_TOPICS, METADATA


def _create(raw: RawClient, names: list[str]) -> dict[str, tuple[bytes, int]]:
    """Create in one request (1-3 partitions, a retention.ms on some); each topic's (id, partitions)."""
    partitions = {name: 1 + len(name) % 3 for name in names}
    response = raw.request(CREATE_TOPICS, 7, {"timeout_ms": 30_000, "validate_only": False, "topics": [
        {"name": name, "num_partitions": partitions[name], "replication_factor": 1, "assignments": [],
         "configs": [{"name": "retention.ms", "value": "60070"}] if name.endswith("0") else []}
        for name in names]})
    assert [t["error_code"] for t in response["topics"]] == [0] * len(names)
    return {t["name"]: (t["topic_id"], partitions[t["name"]]) for t in response["topics"]}


def _listed(raw: RawClient) -> dict[str, tuple[bytes, int]]:
    response = raw.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                          "include_topic_authorized_operations": False})
    return {t["name"]: (t["topic_id"], len(t["partitions"])) for t in response["topics"]}


def test_topics_answered_survive_a_sigkill(own_broker, topic_name):
    from confluent_kafka.admin import AdminClient, ConfigResource

    own_broker.start()
    names = [f"{topic_name}-{'x' * (i % 3)}{i:03d}" for i in range(150)]
    with RawClient(own_broker.bootstrap) as raw:
        ids = _create(raw, names[:100])      # one request of 100
        ids.update(_create(raw, names[100:]))
    own_broker.kill()   # right after the answers

    own_broker.start()
    with RawClient(own_broker.bootstrap) as raw:
        listed = _listed(raw)
        assert {name: listed.get(name) for name in names} == ids
        response = raw.request(DELETE_TOPICS, 6, {"timeout_ms": 30_000, "topics": [
            {"name": name, "topic_id": bytes(16)} for name in names[:60]]})
        assert [t["error_code"] for t in response["responses"]] == [0] * 60
    own_broker.kill()   # right after the deletion was answered

    own_broker.start()
    with RawClient(own_broker.bootstrap) as raw:
        listed = _listed(raw)
    assert [name for name in names if name in listed] == names[60:]
    partition_dirs = [p.name for p in own_broker.data_dir.iterdir() if p.is_dir() and p.name.startswith(topic_name)]
    assert sorted(partition_dirs) == sorted(f"{name}-{p}" for name in names[60:] for p in range(ids[name][1]))
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap})
    resource = ConfigResource("topic", names[70])
    configs = admin.describe_configs([resource])[resource].result(10)
    assert configs["retention.ms"].value == "60070"


def test_auto_created_topics_survive_a_sigkill(own_broker, topic_name):
    own_broker.start()
    names = [f"{topic_name}-auto-{i:02d}" for i in range(30)]
    with RawClient(own_broker.bootstrap) as raw:
        response = raw.request(METADATA, 12, {"topics": [{"name": name, "topic_id": bytes(16)} for name in names],
                                              "allow_auto_topic_creation": True,
                                              "include_topic_authorized_operations": False})
        created = {t["name"]: (t["topic_id"], len(t["partitions"])) for t in response["topics"]}
        assert sorted(created) == names and all(count >= 1 for _, count in created.values())
    own_broker.kill()

    own_broker.start()
    with RawClient(own_broker.bootstrap) as raw:
        listed = _listed(raw)
    assert {name: listed.get(name) for name in names} == created
