"""AlterReplicaLogDirs 0-2: move partitions to another log directory; there is only one.

Moving a partition to the directory it is in succeeds and changes nothing. A directory
this broker does not have gets LOG_DIR_NOT_FOUND, a partition it does not host
REPLICA_NOT_AVAILABLE, and a topic name too long for a move's directory name
INVALID_TOPIC_EXCEPTION, as Kafka answers. Results are grouped by topic.
"""

import os

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import ALTER_REPLICA_LOG_DIRS
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource

MAX_FILE_NAME = 255
FUTURE_SUFFIX_LENGTH = len(".") + 32 + len("-future")   # Kafka's '<topic>-<partition>.<uuid hex>-future'


def _results(req: dict, code_of) -> list[dict]:
    by_topic: dict[str, dict[int, int]] = {}
    for directory in req["dirs"]:
        for topic in directory["topics"]:
            for index in topic["partitions"]:
                by_topic.setdefault(topic["name"], {})[index] = code_of(directory["path"], topic["name"], index)
    return [{"topic_name": name, "partitions": [{"partition_index": index, "error_code": code}
                                                for index, code in partitions.items()]}
            for name, partitions in by_topic.items()]


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "results": _results(req, lambda *_: code)}


@handles(ALTER_REPLICA_LOG_DIRS, "0-2", error_response=_errors)
def alter_replica_log_dirs(ctx, req: dict) -> dict:
    broker = ctx.broker
    ctx.require(Op.ALTER, Resource.CLUSTER, CLUSTER_NAME)
    log_dir = None if broker.config.data_dir is None else os.path.abspath(broker.config.data_dir)
    storage = broker.storage

    def code_of(path: str, topic: str, index: int) -> int:
        if len(f"{topic}-{index}") + FUTURE_SUFFIX_LENGTH > MAX_FILE_NAME:
            return ErrorCode.INVALID_TOPIC_EXCEPTION
        if log_dir is None or path != log_dir:
            return ErrorCode.LOG_DIR_NOT_FOUND
        info = storage.topic(topic)
        if info is None or not 0 <= index < info.num_partitions:
            return ErrorCode.REPLICA_NOT_AVAILABLE
        return ErrorCode.NONE

    return {"throttle_time_ms": 0, "results": _results(req, code_of)}
