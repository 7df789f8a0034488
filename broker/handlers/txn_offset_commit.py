"""TxnOffsetCommit 0-4: a group's offsets committed inside a transaction (v5 is KIP-890 part 2).

With the authorizer on, as Kafka checks: WRITE on the transactional id (else
TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition), READ on the group (else
GROUP_AUTHORIZATION_FAILED for every partition), and READ on each topic (else
TOPIC_AUTHORIZATION_FAILED for its partitions; the others are committed)."""

from broker.authz import split
from broker.registry import handles
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import TXN_OFFSET_COMMIT


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p["partition_index"], "error_code": code}
                                           for p in t["partitions"]]} for t in req["topics"]]}


@handles(TXN_OFFSET_COMMIT, "0-4", error_response=_errors)
def txn_offset_commit(ctx, req: dict) -> dict:
    ctx.require(Op.WRITE, Resource.TRANSACTIONAL_ID, req["transactional_id"])
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    allowed, refused = split(ctx, Op.READ, Resource.TOPIC, req["topics"])
    if not refused:
        return ctx.broker.groups.txn_commit_offsets(ctx, req)
    response = ctx.broker.groups.txn_commit_offsets(ctx, {**req, "topics": allowed}) if allowed \
        else {"throttle_time_ms": 0, "topics": []}
    response["topics"] += _errors({"topics": refused}, ctx.api_version, ErrorCode.TOPIC_AUTHORIZATION_FAILED)["topics"]
    return response
