"""AddOffsetsToTxn 0-4: a group's offsets partition joins a producer's transaction.

With the authorizer on: WRITE on the transactional id (else
TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then READ on the group (else GROUP_AUTHORIZATION_FAILED)."""

from broker.registry import handles
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.messages import ADD_OFFSETS_TO_TXN


@handles(ADD_OFFSETS_TO_TXN, "0-4")
def add_offsets_to_txn(ctx, req: dict) -> dict:
    ctx.require(Op.WRITE, Resource.TRANSACTIONAL_ID, req["transactional_id"])
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return ctx.broker.transactions.add_offsets(ctx, req)
