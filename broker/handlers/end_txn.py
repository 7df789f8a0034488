"""EndTxn 0-4: commit or abort a transaction (v5, KIP-890 part 2, is not served).

With the authorizer on: WRITE on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED)."""

from broker.registry import handles
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.messages import END_TXN


@handles(END_TXN, "0-4")
def end_txn(ctx, req: dict) -> dict:
    ctx.require(Op.WRITE, Resource.TRANSACTIONAL_ID, req["transactional_id"])
    return ctx.broker.transactions.end_txn(ctx, req)
