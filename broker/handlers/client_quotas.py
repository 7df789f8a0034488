"""DescribeClientQuotas 0-1 and AlterClientQuotas 0-1: quotas per user, client id or IP (broker/quotas.py).

Describe needs DESCRIBE_CONFIGS on the cluster, Alter needs ALTER_CONFIGS (else
CLUSTER_AUTHORIZATION_FAILED), as Kafka checks. A bad filter is answered with the request's
error code and message and no entries; Alter answers each entity: INVALID_REQUEST for an
unknown entity type or key, a default or empty name where none may be, an IP combined with a
user or client id, a value not above 0 or fractional for a byte rate, a key or entity given
twice. ``validate_only`` checks and changes nothing. Changes are kept on disk at once and
take effect on the next request.
"""

from broker.quotas import QuotaError
from broker.registry import handles
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType
from kproto.errors import ErrorCode
from kproto.messages import ALTER_CLIENT_QUOTAS, DESCRIBE_CLIENT_QUOTAS


def _describe_errors(req: dict, api_version: int, code: int, message: str | None = None) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "error_message": message, "entries": None}


def _alter_errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "entries": [{"error_code": code, "error_message": None, "entity": e["entity"]}
                                               for e in req["entries"]]}


@handles(DESCRIBE_CLIENT_QUOTAS, "0-1", error_response=_describe_errors)
def describe_client_quotas(ctx, req: dict) -> dict:
    if not ctx.authorize(Op.DESCRIBE_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME):
        return _describe_errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
                                "Cluster authorization failed.")
    try:
        entries = ctx.broker.client_quotas.describe(req["components"], req["strict"])
    except QuotaError as exc:
        return _describe_errors(req, ctx.api_version, exc.code, str(exc))
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "entries": entries}


@handles(ALTER_CLIENT_QUOTAS, "0-1", error_response=_alter_errors)
def alter_client_quotas(ctx, req: dict) -> dict:
    if not ctx.authorize(Op.ALTER_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME):
        return _alter_errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    return {"throttle_time_ms": 0,
            "entries": ctx.broker.client_quotas.alter(req["entries"], req["validate_only"])}
