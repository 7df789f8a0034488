"""InitProducerId 0-5: a producer id and epoch for idempotent and transactional producers.

Without a transactional id: a new producer id, epoch 0 (ids come in blocks reserved on disk,
so they are never reused after a restart); this stays off the transaction coordinator. With
one: the transaction coordinator's answer (broker/transactions), which bumps the epoch of the
id, fences its older producers and aborts a transaction they left open.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import INIT_PRODUCER_ID
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "producer_id": -1, "producer_epoch": -1}


@handles(INIT_PRODUCER_ID, "0-5", error_response=_errors)
def init_producer_id(ctx, req: dict) -> dict:
    if (req["producer_id"] == -1) != (req["producer_epoch"] == -1):
        return _errors(req, ctx.api_version, ErrorCode.INVALID_REQUEST)
    if req["transactional_id"] is not None:
        ctx.require(Op.WRITE, Resource.TRANSACTIONAL_ID, req["transactional_id"])
        return ctx.broker.transactions.init_producer_id(ctx, req)
    if not (ctx.authorize(Op.IDEMPOTENT_WRITE, Resource.CLUSTER, CLUSTER_NAME)
            or ctx.authorize_any(Op.WRITE, Resource.TOPIC)):
        return _errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    return {"throttle_time_ms": 0, "error_code": 0,
            "producer_id": ctx.broker.producer_ids.next_id(), "producer_epoch": 0}
