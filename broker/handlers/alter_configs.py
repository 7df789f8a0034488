"""AlterConfigs 0-2: replace the dynamic configs of topics and brokers, each resource whole.

Every config of a resource not named in the request is removed (Kafka's legacy
semantics). The checks, the answers and how a change takes effect are in
broker/config_alter.py.
"""

from broker.config_alter import alter
from broker.registry import handles
from kproto.messages import ALTER_CONFIGS


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "responses": [
        {"error_code": code, "error_message": None, "resource_type": r["resource_type"],
         "resource_name": r["resource_name"]} for r in req["resources"]]}


@handles(ALTER_CONFIGS, "0-2", error_response=_errors)
def alter_configs(ctx, req: dict) -> dict:
    return {"throttle_time_ms": 0,
            "responses": alter(ctx.broker, req["resources"], req["validate_only"], incremental=False)}
