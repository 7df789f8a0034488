"""CreateTopics 2-7: topics with a partition count (or explicit assignments) and configs.

One broker: replication factor 1 (or -1, the default); assignments may only name
this broker. v5+ answers with the topic's partitions, replication factor and every
config with its value and source, as Kafka does; v7+ with the topic id.
"""

from broker.errors import storage_error_code
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import CREATE_TOPICS
from storage import validate_topic_name
from storage.errors import InvalidConfigError, StorageError

DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG = 1, 5


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "error_code": code, "error_message": None} for t in req["topics"]]}


def config_entries(defaults: dict[str, str], overrides: dict[str, str]) -> list[dict]:
    """Every topic config with its value and source (override or default), sorted by name."""
    entries = []
    for name in sorted(set(defaults) | set(overrides)):
        source = DYNAMIC_TOPIC_CONFIG if name in overrides else DEFAULT_CONFIG
        entries.append({"name": name, "value": overrides.get(name, defaults.get(name)), "read_only": False,
                        "config_source": source, "is_sensitive": False})
    return entries


def plan(ctx, topic: dict) -> tuple[int, dict[str, str]]:
    """Partition count and configs for one topic; raises _Refused with the code Kafka gives."""
    config = ctx.broker.config
    partitions, factor, assignments = topic["num_partitions"], topic["replication_factor"], topic["assignments"]
    if assignments:
        if partitions != -1 or factor != -1:
            raise _Refused(ErrorCode.INVALID_REQUEST,
                           "Both numPartitions or replicationFactor and replicasAssignments were set.")
        for a in sorted(assignments, key=lambda a: a["partition_index"]):
            if a["broker_ids"] != [ctx.broker.node_id]:
                raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                               f"Replica assignment {a['broker_ids']} names brokers other than {ctx.broker.node_id}")
        if sorted(a["partition_index"] for a in assignments) != list(range(len(assignments))):
            raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Partitions must be numbered 0..n-1")
        partitions = len(assignments)
    if partitions == -1:
        partitions = config.num_partitions
    if partitions <= 0:
        raise _Refused(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")
    if factor == -1:
        factor = config.default_replication_factor
    if factor <= 0:
        raise _Refused(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.")
    if factor > 1:
        raise _Refused(ErrorCode.INVALID_REPLICATION_FACTOR,
                       f"Unable to replicate the partition {factor} time(s): The target replication factor "
                       f"of {factor} cannot be reached because only 1 broker(s) are registered.")
    configs = {}
    for entry in topic["configs"]:
        if entry["value"] is None:
            raise _Refused(ErrorCode.INVALID_CONFIG, f"Null value not supported for topic configs: {entry['name']}")
        configs[entry["name"]] = entry["value"]
    return partitions, configs


class _Refused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


@handles(CREATE_TOPICS, "2-7", error_response=_errors)
def create_topics(ctx, req: dict) -> dict:
    storage = ctx.broker.storage
    defaults = storage.defaults.topic_configs()
    names = [t["name"] for t in req["topics"]]
    results = []
    for topic in req["topics"]:
        name = topic["name"]
        entry = {"name": name, "topic_id": bytes(16), "error_code": 0, "error_message": None,
                 "num_partitions": -1, "replication_factor": -1, "configs": None}
        results.append(entry)
        try:
            if names.count(name) > 1:
                raise _Refused(ErrorCode.INVALID_REQUEST, f"Create topics request contains duplicate topic {name}")
            validate_topic_name(name)
            partitions, configs = plan(ctx, topic)
            if storage.topic(name) is not None:
                raise _Refused(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
            if req["validate_only"]:
                storage.defaults.with_overrides(configs)
                overrides, topic_id = configs, bytes(16)
            else:
                info = storage.create_topic(name, partitions, configs)
                overrides, topic_id = info.configs, info.topic_id.bytes
        except _Refused as exc:
            entry.update(error_code=exc.code, error_message=str(exc))
            continue
        except StorageError as exc:
            code = storage_error_code(exc)
            entry.update(error_code=code, error_message=str(exc) or None)
            if isinstance(exc, InvalidConfigError):
                entry["topic_config_error_code"] = code
            continue
        entry.update(topic_id=topic_id, num_partitions=partitions, replication_factor=1,
                     configs=config_entries(defaults, overrides))
    return {"throttle_time_ms": 0, "topics": results}
