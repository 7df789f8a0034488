"""ListTransactions 0-1: the transactional ids known, by state, producer id and (v1) age.

With the authorizer on, only the ids the client may DESCRIBE are listed, as Kafka answers."""

from broker.registry import handles
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.messages import LIST_TRANSACTIONS


@handles(LIST_TRANSACTIONS, "0-1")
def list_transactions(ctx, req: dict) -> dict:
    response = ctx.broker.transactions.list_transactions(ctx, req)
    if ctx.broker.authorizer is not None:
        listed = response["transaction_states"]
        describable = ctx.authorized(Op.DESCRIBE, Resource.TRANSACTIONAL_ID, [s["transactional_id"] for s in listed])
        response["transaction_states"] = [s for s in listed if s["transactional_id"] in describable]
    return response
