"""AddOffsetsToTxn 0-4: a group's offsets partition joins a producer's transaction."""

from broker.registry import handles
from kproto.messages import ADD_OFFSETS_TO_TXN


@handles(ADD_OFFSETS_TO_TXN, "0-4")
def add_offsets_to_txn(ctx, req: dict) -> dict:
    return ctx.broker.transactions.add_offsets(ctx, req)
