"""``kbroker topics list|create|describe|delete|alter-config``: what kafka-topics.sh and kafka-configs.sh do for topics."""

from __future__ import annotations

import argparse
import uuid

from kproto.errors import ErrorCode
from kproto.messages import CREATE_TOPICS, DELETE_TOPICS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS
from storage import kafka_uuid_string

from broker.commands.client import CommandError, KafkaClient, kafka_error
from broker.commands.common import add_common, connect, emit, key_values, run

TOPIC_RESOURCE = 2
DYNAMIC_TOPIC_CONFIG = 1     # DescribeConfigs source: set on the topic
SET, DELETE = 0, 1           # IncrementalAlterConfigs operations


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker topics", description="List, create, describe, delete and configure topics.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="topics and their partition counts")
    listing.add_argument("--exclude-internal", action="store_true", help="leave out __consumer_offsets and the like")
    create = sub.add_parser("create", help="create topics")
    create.add_argument("topics", nargs="+", metavar="TOPIC")
    create.add_argument("--partitions", type=int, default=-1, help="default: the broker's num.partitions")
    create.add_argument("--replication-factor", type=int, default=-1, help="default: the broker's")
    create.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="a topic config (repeat)")
    create.add_argument("--if-not-exists", action="store_true", help="no error if a topic exists")
    describe = sub.add_parser("describe", help="partitions, leaders, replicas and configs set on the topic")
    describe.add_argument("topics", nargs="*", metavar="TOPIC", help="default: every topic")
    delete = sub.add_parser("delete", help="delete topics")
    delete.add_argument("topics", nargs="+", metavar="TOPIC")
    delete.add_argument("--if-exists", action="store_true", help="no error if a topic does not exist")
    alter = sub.add_parser("alter-config", help="set or delete topic configs")
    alter.add_argument("topic", metavar="TOPIC")
    alter.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="set a config (repeat)")
    alter.add_argument("--delete", action="append", default=[], metavar="KEY", help="back to the default (repeat)")
    for action in (listing, create, describe, delete, alter):
        add_common(action)
    return p


def main(argv: list[str]) -> int:
    return run(build_parser(), argv, lambda args: ACTIONS[args.action](args))


def _controller(client: KafkaClient):
    client.metadata([])
    return client.node(client.controller_id) if client.controller_id in client.brokers else client.any()


def list_topics(args) -> None:
    with connect(args) as client:
        topics = sorted(client.metadata(None)["topics"], key=lambda t: t["name"])
    topics = [t for t in topics if not (args.exclude_internal and t["is_internal"])]
    data = [{"name": t["name"], "partitions": len(t["partitions"]), "internal": t["is_internal"]} for t in topics]
    emit(args, data, ["TOPIC", "PARTITIONS"], [[t["name"], t["partitions"]] for t in data])


def create_topics(args) -> int:
    configs = key_values(args.config, "config")
    with connect(args) as client:
        _, response = client.request(CREATE_TOPICS, {"topics": [
            {"name": name, "num_partitions": args.partitions, "replication_factor": args.replication_factor,
             "assignments": [], "configs": [{"name": k, "value": v} for k, v in configs.items()]}
            for name in args.topics], "timeout_ms": args.request_timeout_ms, "validate_only": False}, _controller(client))
    results = []
    for topic in response["topics"]:
        code = topic["error_code"]
        if code == ErrorCode.TOPIC_ALREADY_EXISTS and args.if_not_exists:
            code = 0
        elif code:
            raise kafka_error(code, f"cannot create topic {topic['name']!r}", topic.get("error_message"))
        results.append({"name": topic["name"], "partitions": topic.get("num_partitions", args.partitions),
                        "created": topic["error_code"] == 0})
    emit(args, results, text="\n".join(
        f"created topic {r['name']} ({r['partitions']} partitions)" if r["created"] else f"topic {r['name']} exists"
        for r in results))
    return 0


def describe_topics(args) -> None:
    with connect(args) as client:
        metadata = client.metadata(args.topics or None)
        topics = sorted(metadata["topics"], key=lambda t: t["name"])
        for topic in topics:
            if topic["error_code"]:
                raise kafka_error(topic["error_code"], f"topic {topic['name']!r}")
        configs = _topic_configs(client, [t["name"] for t in topics]) if topics else {}
    data = []
    for topic in topics:
        partitions = sorted(topic["partitions"], key=lambda p: p["partition_index"])
        data.append({
            "name": topic["name"], "topic_id": kafka_uuid_string(uuid.UUID(bytes=topic["topic_id"])),
            "partitions": [{"partition": p["partition_index"], "leader": p["leader_id"],
                            "replicas": p["replica_nodes"], "isr": p["isr_nodes"]} for p in partitions],
            "replication_factor": len(partitions[0]["replica_nodes"]) if partitions else 0,
            "configs": configs.get(topic["name"], {})})
    blocks = []
    for t in data:
        set_configs = ",".join(f"{k}={v}" for k, v in sorted(t["configs"].items()))
        rows = [[p["partition"], p["leader"], ",".join(map(str, p["replicas"])), ",".join(map(str, p["isr"]))]
                for p in t["partitions"]]
        from broker.commands.common import table

        blocks.append(f"Topic: {t['name']}  TopicId: {t['topic_id']}  PartitionCount: {len(t['partitions'])}  "
                      f"ReplicationFactor: {t['replication_factor']}  Configs: {set_configs}\n"
                      + table(["PARTITION", "LEADER", "REPLICAS", "ISR"], rows))
    emit(args, data, text="\n\n".join(blocks))


def _topic_configs(client: KafkaClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The configs set on each topic (not the defaults)."""
    _, response = client.request(DESCRIBE_CONFIGS, {"resources": [
        {"resource_type": TOPIC_RESOURCE, "resource_name": name, "configuration_keys": None} for name in names],
        "include_synonyms": False, "include_documentation": False})
    found = {}
    for result in response["results"]:
        if result["error_code"]:
            raise kafka_error(result["error_code"], f"configs of topic {result['resource_name']!r}",
                              result.get("error_message"))
        found[result["resource_name"]] = {c["name"]: c["value"] for c in result["configs"]
                                          if c.get("config_source", -1) == DYNAMIC_TOPIC_CONFIG}
    return found


def delete_topics(args) -> None:
    with connect(args) as client:
        _, response = client.request(DELETE_TOPICS, {"topic_names": args.topics, "timeout_ms": args.request_timeout_ms,
                                                     "topics": [{"name": n, "topic_id": bytes(16)} for n in args.topics]},
                                     _controller(client))
    deleted = []
    for result in response["responses"]:
        code = result["error_code"]
        if code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and args.if_exists:
            continue
        if code:
            raise kafka_error(code, f"cannot delete topic {result['name']!r}", result.get("error_message"))
        deleted.append(result["name"])
    emit(args, {"deleted": deleted}, text="\n".join(f"deleted topic {name}" for name in deleted) or "nothing deleted")


def alter_config(args) -> None:
    settings = key_values(args.set, "config")
    if not settings and not args.delete:
        raise CommandError("nothing to change: give --set KEY=VALUE or --delete KEY")
    with connect(args) as client:
        client.topic(args.topic)
        _, response = client.request(INCREMENTAL_ALTER_CONFIGS, {"resources": [{
            "resource_type": TOPIC_RESOURCE, "resource_name": args.topic,
            "configs": [{"name": k, "config_operation": SET, "value": v} for k, v in settings.items()]
            + [{"name": k, "config_operation": DELETE, "value": None} for k in args.delete]}],
            "validate_only": False}, _controller(client))
    [result] = response["responses"]
    if result["error_code"]:
        raise kafka_error(result["error_code"], f"cannot alter the configs of {args.topic!r}",
                          result.get("error_message"))
    emit(args, {"topic": args.topic, "set": settings, "deleted": args.delete},
         text=f"altered the configs of topic {args.topic}")


ACTIONS = {"list": list_topics, "create": create_topics, "describe": describe_topics, "delete": delete_topics,
           "alter-config": alter_config}
