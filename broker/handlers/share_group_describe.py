"""ShareGroupDescribe 1: state, epochs, members and assignments of share groups.

With the authorizer on, as Kafka answers: DESCRIBE on each group (else
GROUP_AUTHORIZATION_FAILED), and a group whose assignments name a topic the client may not
DESCRIBE is TOPIC_AUTHORIZATION_FAILED, without its members."""

from broker.registry import handles
from kproto.messages import SHARE_GROUP_DESCRIBE
from broker.authz import describe_groups


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "groups": [{"group_id": g, "error_code": code} for g in req["group_ids"]]}


@handles(SHARE_GROUP_DESCRIBE, "1", error_response=_error)
def share_group_describe(ctx, req: dict) -> dict:
    return describe_groups(ctx, req, ctx.broker.groups.share.describe, ("assignment",))
