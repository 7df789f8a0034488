"""ListTransactions 0-1: the transactional ids known, by state, producer id and (v1) age."""

from broker.registry import handles
from kproto.messages import LIST_TRANSACTIONS


@handles(LIST_TRANSACTIONS, "0-1")
def list_transactions(ctx, req: dict) -> dict:
    return ctx.broker.transactions.list_transactions(ctx, req)
