"""DescribeConfigs 0-4: the configs of topics and of this broker, as Kafka shows them.

A TOPIC resource lists every topic config (its override, else the broker's default) and
a BROKER resource named by the node id every broker config; the BROKER resource named
"" lists the dynamic cluster-wide defaults only. Sources, synonyms (v1+, when asked),
types and documentation (v3+, when asked) are built in broker/config_describe.py.
Each resource is answered on its own: an unknown topic, a bad name or another
resource type is that resource's error.
"""

import re

from broker.config_describe import broker_entries, topic_entries
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_CONFIGS
from storage import validate_topic_name
from storage.errors import StorageError
from broker.authz import config_refusal
from kproto.constants import AclOperation as Op

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "results": [
        {"error_code": code, "error_message": None, "resource_type": r["resource_type"],
         "resource_name": r["resource_name"], "configs": []} for r in req["resources"]]}


class _Refused(Exception):
    def __init__(self, code: int, message: str | None = None):
        super().__init__(message)
        self.code, self.message = code, message


def broker_id(name: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,10}", name):
        raise _Refused(ErrorCode.INVALID_REQUEST, f"Broker id must be an integer, but it is: {name}")
    return int(name)


def _configs(ctx, resource: dict, include_synonyms: bool, include_documentation: bool) -> list[dict]:
    broker = ctx.broker
    kind, name, names = resource["resource_type"], resource["resource_name"], resource["configuration_keys"]
    options = {"include_synonyms": include_synonyms, "include_documentation": include_documentation}
    if kind == TOPIC:
        try:
            validate_topic_name(name)
        except StorageError as exc:
            raise _Refused(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc)) from None
        info = broker.storage.topic(name)
        if info is None:
            raise _Refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "")
        return topic_entries(broker.broker_configs, info.configs, names, **options)
    if kind == BROKER:
        if name and broker_id(name) != broker.node_id:
            raise _Refused(ErrorCode.INVALID_REQUEST,
                           f"Unexpected broker id, expected {broker.node_id} or empty string, but received {name}")
        return broker_entries(broker.broker_configs, bool(name), names, **options)
    raise _Refused(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {kind}")


@handles(DESCRIBE_CONFIGS, "0-4", error_response=_errors)
def describe_configs(ctx, req: dict) -> dict:
    results = []
    for resource in req["resources"]:
        result = {"error_code": 0, "error_message": "", "resource_type": resource["resource_type"],
                  "resource_name": resource["resource_name"], "configs": []}
        refused = config_refusal(ctx, Op.DESCRIBE_CONFIGS, resource["resource_type"], resource["resource_name"])
        if refused:
            result.update(error_code=refused, error_message=None)
            results.append(result)
            continue
        try:
            result["configs"] = _configs(ctx, resource, req["include_synonyms"], req["include_documentation"])
        except _Refused as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return {"throttle_time_ms": 0, "results": results}
