"""CreateTopics 0-7: topics with a partition count (or explicit assignments) and configs.

One broker: replication factor 1 (or -1, the default); a larger factor gets
INVALID_REPLICATION_FACTOR, and assignments may only name this broker. Configs are
checked as AlterConfigs checks them (INVALID_CONFIG, the topic's own error).
v5+ answers with the topic's partitions, replication factor and every config with
its value and source, as Kafka does; v7+ with the topic id. validate_only checks
and creates nothing. A name given twice is answered once, last, with INVALID_REQUEST;
more than 10,000 partitions in one request get POLICY_VIOLATION, as Kafka's
controller answers a batch too large.
"""

from collections import Counter

from broker.config_describe import created_topic_entries
from broker.errors import storage_error_code
from broker.quotas import THROTTLED_MESSAGE
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import CREATE_TOPICS
from storage import validate_topic_name
from storage.errors import StorageError
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource

MAX_NEW_PARTITIONS = 10000   # the most records Kafka's controller writes for one request


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "error_code": code, "error_message": None} for t in req["topics"]]}


def topic_configs(topic: dict) -> dict[str, str]:
    """The configs asked for; a null value is refused (every null key named)."""
    nulls = [entry["name"] for entry in topic["configs"] if entry["value"] is None]
    if nulls:
        raise _Refused(ErrorCode.INVALID_CONFIG, f"Null value not supported for topic configs: {','.join(nulls)}")
    return {entry["name"]: entry["value"] for entry in topic["configs"]}


def partition_count(ctx, topic: dict) -> int:
    """The partitions to create; raises _Refused with the code Kafka gives."""
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
    partitions, factor = counts_or_defaults(config, partitions, factor)
    if factor > 1:
        raise _Refused(ErrorCode.INVALID_REPLICATION_FACTOR,
                       f"Unable to replicate the partition {factor} time(s): The target replication factor "
                       f"of {factor} cannot be reached because only 1 broker(s) are registered.")
    return partitions


def counts_or_defaults(config, partitions: int, factor: int) -> tuple[int, int]:
    """The partition count and replication factor asked for, -1 meaning the broker's default
    (num.partitions, default.replication.factor); _Refused when either is not above 0."""
    if partitions == -1:
        partitions = config.num_partitions
    if partitions <= 0:
        raise _Refused(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")
    if factor == -1:
        factor = config.default_replication_factor
    if factor <= 0:
        raise _Refused(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.")
    return partitions, factor


class _Refused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _refused(name: str, code: int, message: str | None) -> dict:
    return {"name": name, "topic_id": bytes(16), "error_code": code, "error_message": message,
            "num_partitions": -1, "replication_factor": -1, "configs": None}


@handles(CREATE_TOPICS, "0-7", error_response=_errors)
def create_topics(ctx, req: dict) -> dict:
    """The topics created are made durable together (one write to disk), before the answer."""
    with ctx.broker.storage.topic_changes():
        return _create_topics(ctx, req)


def _create_topics(ctx, req: dict) -> dict:
    broker = ctx.broker
    storage = broker.storage
    counts = Counter(t["name"] for t in req["topics"])
    results = []
    budget = MAX_NEW_PARTITIONS
    entries_by_overrides = {}   # the configs' answer is the same for topics with the same overrides
    create_any = ctx.authorize(Op.CREATE, Resource.CLUSTER, CLUSTER_NAME)
    quota = broker.mutation_quotas.for_request(ctx, CREATE_TOPICS.name)   # controller_mutation_rate
    for topic in req["topics"]:
        name = topic["name"]
        if counts[name] > 1:
            continue
        try:
            if not (create_any or ctx.authorize(Op.CREATE, Resource.TOPIC, name)):
                raise _Refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Authorization failed.")
            # Kafka's order: the name, whether it exists, the configs, then partitions and replicas
            validate_topic_name(name)
            if storage.topic(name) is not None:
                raise _Refused(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
            configs = topic_configs(topic)
            storage.defaults.with_overrides(configs)   # InvalidConfigError: the topic's INVALID_CONFIG
            partitions = partition_count(ctx, topic)
            budget -= partitions
            if budget < 0:
                raise _Refused(ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation.")
            if not quota.record(partitions):
                raise _Refused(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLED_MESSAGE)
            if req["validate_only"]:
                overrides, topic_id = configs, bytes(16)
            else:
                info = storage.create_topic(name, partitions, configs)
                overrides, topic_id = info.configs, info.topic_id.bytes
        except _Refused as exc:
            results.append(_refused(name, exc.code, str(exc)))
            continue
        except StorageError as exc:
            results.append(_refused(name, storage_error_code(exc), str(exc) or None))
            continue
        entries = []   # the configs: v5+ only
        if ctx.api_version >= 5:
            key = tuple(sorted(overrides.items()))
            entries = entries_by_overrides.get(key)
            if entries is None:
                entries = entries_by_overrides[key] = created_topic_entries(broker.broker_configs, overrides)
        result = {"name": name, "topic_id": topic_id, "error_code": 0, "error_message": None,
                  "num_partitions": partitions, "replication_factor": 1, "configs": entries}
        if not ctx.authorize(Op.DESCRIBE_CONFIGS, Resource.TOPIC, name):
            result.update(configs=[], topic_config_error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
        results.append(result)
    results += [_refused(name, ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
                for name, count in counts.items() if count > 1]
    return {"throttle_time_ms": quota.throttle_time_ms(), "topics": results}
