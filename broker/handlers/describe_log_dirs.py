"""DescribeLogDirs 0-4: the one log directory, every topic in it and the size of each partition.

All partitions (null topics) or those asked for; every topic of the directory is
listed, with only the partitions asked for, and partitions that do not exist are left
out, as Kafka answers. The offset lag is 0 (the high watermark is the log end) and no
partition is a future replica. v4 adds the volume's total and usable bytes. A broker
whose log is in memory has no log directory and answers none.
"""

import os

from broker.registry import handles
from kproto.messages import DESCRIBE_LOG_DIRS
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "results": []}


@handles(DESCRIBE_LOG_DIRS, "0-4", error_response=_errors)
def describe_log_dirs(ctx, req: dict) -> dict:
    broker = ctx.broker
    storage = broker.storage
    ctx.require(Op.DESCRIBE, Resource.CLUSTER, CLUSTER_NAME)
    if broker.config.data_dir is None:
        return {"throttle_time_ms": 0, "error_code": 0, "results": []}
    wanted = None
    if req["topics"] is not None:
        wanted = {}
        for topic in req["topics"]:
            wanted.setdefault(topic["topic"], set()).update(topic["partitions"])
    topics = []
    for name, info in sorted(storage.topics().items()):
        indexes = range(info.num_partitions) if wanted is None else sorted(
            index for index in wanted.get(name, ()) if 0 <= index < info.num_partitions)
        topics.append({"name": name, "partitions": [
            {"partition_index": index, "partition_size": storage.partition(name, index).size, "offset_lag": 0,
             "is_future_key": False} for index in indexes]})
    log_dir = os.path.abspath(broker.config.data_dir)
    volume = os.statvfs(log_dir)
    return {"throttle_time_ms": 0, "error_code": 0, "results": [{
        "error_code": 0, "log_dir": log_dir, "topics": topics,
        "total_bytes": volume.f_blocks * volume.f_frsize, "usable_bytes": volume.f_bavail * volume.f_frsize}]}
