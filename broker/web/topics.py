"""The console's topic pages: the list, one topic's partitions and configs, create, delete, alter.

Reads come straight from storage (offsets, sizes and configs of every partition log:
no record is read); changes go through the Kafka handlers (broker/web/calls.py):
CreateTopics v7, DeleteTopics v6, IncrementalAlterConfigs v1 (config_alter.py, the code
path every admin client takes), DescribeConfigs v4.
"""

from __future__ import annotations

from broker.web.calls import call, error_name, http_status, request_for
from broker.web.httpserver import HttpError, Request
from kproto.api_keys import ApiKey
from storage.errors import StorageError

SET, DELETE = 0, 1     # IncrementalAlterConfigs operations
TOPIC = 2              # ConfigResource type
CONFIG_SOURCES = {1: "topic", 2: "broker", 3: "cluster default", 4: "static broker", 5: "default"}


def _topic_info(broker, name: str):
    info = broker.storage.topic(name)
    if info is None:
        raise HttpError(404, f"no topic {name!r}")
    return info


def partition_rows(broker, name: str, count: int) -> list[dict]:
    storage = broker.storage
    rows = []
    for index in range(count):
        log = storage.partition(name, index)
        start, end = log.log_start_offset, log.log_end_offset
        rows.append({"partition": index, "earliest": start, "latest": end, "messages": end - start,
                     "size": log.size, "leader": broker.node_id, "replicas": [broker.node_id],
                     "isr": [broker.node_id]})
    return rows


def topic_summary(broker, name: str, info) -> dict:
    storage = broker.storage
    messages = size = 0
    config = None
    for index in range(info.num_partitions):
        log = storage.partition(name, index)
        messages += log.log_end_offset - log.log_start_offset
        size += log.size
        config = log.config
    return {"name": name, "partitions": info.num_partitions, "messages": messages, "size": size,
            "internal": info.internal, "topic_id": str(info.topic_id),
            "retention_ms": config.retention_ms if config else None,
            "retention_bytes": config.retention_bytes if config else None,
            "cleanup_policy": config.cleanup_policy if config else None}


def list_topics(broker) -> list[dict]:
    return [topic_summary(broker, name, info) for name, info in sorted(broker.storage.topics().items())]


def describe_topic(broker, name: str) -> dict:
    info = _topic_info(broker, name)
    summary = topic_summary(broker, name, info)
    summary["partition_list"] = partition_rows(broker, name, info.num_partitions)
    summary["configs"] = topic_configs(broker, name)
    return summary


def topic_configs(broker, name: str) -> list[dict]:
    """DescribeConfigs v4 of the topic: every key, its value, where it comes from, its documentation."""
    response = call(broker, ApiKey.DESCRIBE_CONFIGS, 4, request_for(
        ApiKey.DESCRIBE_CONFIGS, 4, resources=[{"resource_type": TOPIC, "resource_name": name,
                                                "configuration_keys": None}],
        include_synonyms=False, include_documentation=True))
    [result] = response["results"]
    if result["error_code"]:
        raise HttpError(404 if result["error_code"] == 3 else 400,
                        result["error_message"] or error_name(result["error_code"]))
    return [{"name": c["name"], "value": c["value"], "source": CONFIG_SOURCES.get(c["config_source"], "default"),
             "read_only": c["read_only"], "sensitive": c["is_sensitive"], "doc": c["documentation"]}
            for c in result["configs"]]


# -- changes --------------------------------------------------------------------------------------

def _string_map(value, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float, bool))
                                              for k, v in value.items()):
        raise HttpError(400, f"{what} must be an object of names to values")
    return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}


def create_topic(broker, request: Request) -> dict:
    body = request.json_object()
    name = body.get("name")
    partitions = body.get("partitions", -1)
    factor = body.get("replication_factor", -1)
    if not isinstance(name, str) or not isinstance(partitions, int) or not isinstance(factor, int) \
            or isinstance(partitions, bool) or isinstance(factor, bool):
        raise HttpError(400, "give name (text), partitions and replication_factor (integers)")
    if not -1 <= factor <= 32767 or not -1 <= partitions <= 2 ** 31 - 1:
        raise HttpError(400, "partitions or replication_factor out of range")
    configs = _string_map(body.get("configs"), "configs")
    response = call(broker, ApiKey.CREATE_TOPICS, 7, request_for(ApiKey.CREATE_TOPICS, 7, topics=[{
        "name": name, "num_partitions": partitions, "replication_factor": factor, "assignments": [],
        "configs": [{"name": k, "value": v} for k, v in configs.items()]}], timeout_ms=5000),
        client_host=request.peer, principal=request.principal)
    [result] = response["topics"]
    if result["error_code"]:
        status = http_status(result["error_code"], 409 if result["error_code"] == 36 else 400)   # TOPIC_ALREADY_EXISTS
        raise HttpError(status, f"{error_name(result['error_code'])}: {result['error_message'] or ''}".rstrip(": "))
    return {"name": name, "partitions": result["num_partitions"], "topic_id": _uuid_text(result["topic_id"])}


def delete_topic(broker, request: Request, name: str) -> dict:
    _topic_info(broker, name)
    response = call(broker, ApiKey.DELETE_TOPICS, 6, request_for(
        ApiKey.DELETE_TOPICS, 6, topics=[{"name": name, "topic_id": bytes(16)}], timeout_ms=5000),
        client_host=request.peer, principal=request.principal)
    [result] = response["responses"]
    if result["error_code"]:
        raise HttpError(http_status(result["error_code"], 400),
                        f"{error_name(result['error_code'])}: {result['error_message'] or ''}".rstrip(": "))
    return {"deleted": name}


def alter_configs(broker, request: Request, name: str) -> dict:
    """``{"set": {key: value}, "delete": [key], "validate_only": false}`` as one IncrementalAlterConfigs."""
    body = request.json_object()
    to_set = _string_map(body.get("set"), "set")
    to_delete = body.get("delete") or []
    if not isinstance(to_delete, list) or not all(isinstance(k, str) for k in to_delete):
        raise HttpError(400, "delete must be a list of config names")
    if not to_set and not to_delete:
        raise HttpError(400, "nothing to change: give set and/or delete")
    configs = [{"name": k, "config_operation": SET, "value": v} for k, v in to_set.items()]
    configs += [{"name": k, "config_operation": DELETE, "value": None} for k in to_delete]
    response = call(broker, ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, request_for(
        ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, resources=[{"resource_type": TOPIC, "resource_name": name,
                                                         "configs": configs}],
        validate_only=bool(body.get("validate_only"))), client_host=request.peer, principal=request.principal)
    [result] = response["responses"]
    if result["error_code"]:
        status = http_status(result["error_code"], 404 if result["error_code"] == 3 else 400)
        raise HttpError(status, f"{error_name(result['error_code'])}: {result['error_message'] or ''}".rstrip(": "))
    return {"configs": topic_configs(broker, name)}


def _uuid_text(raw: bytes) -> str:
    import uuid

    return str(uuid.UUID(bytes=bytes(raw)))


def partition_log(broker, name: str, index: int):
    try:
        return broker.storage.partition(name, index)
    except StorageError:
        raise HttpError(404, f"no partition {name}-{index}") from None
