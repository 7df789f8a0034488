"""AlterConfigs 0-2: replace the dynamic configs of topics and brokers, each resource whole.

Every config of a resource not named in the request is removed (Kafka's legacy
semantics). The checks, the answers and how a change takes effect are in
broker/config_alter.py.
"""

from broker.config_alter import alter
from broker.registry import handles
from kproto.messages import ALTER_CONFIGS
from broker.authz import config_refusal
from kproto.constants import AclOperation as Op


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "responses": [
        {"error_code": code, "error_message": None, "resource_type": r["resource_type"],
         "resource_name": r["resource_name"]} for r in req["resources"]]}


@handles(ALTER_CONFIGS, "0-2", error_response=_errors)
def alter_configs(ctx, req: dict) -> dict:
    refusals = [config_refusal(ctx, Op.ALTER_CONFIGS, r["resource_type"], r["resource_name"]) for r in req["resources"]]
    answers = iter(alter(ctx.broker, [r for r, refused in zip(req["resources"], refusals) if not refused],
                         req["validate_only"], incremental=False))
    return {"throttle_time_ms": 0, "responses": [
        next(answers) if not refused else {"error_code": refused, "error_message": None,
                                           "resource_type": r["resource_type"], "resource_name": r["resource_name"]}
        for r, refused in zip(req["resources"], refusals)]}
