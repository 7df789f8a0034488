"""EndTxn 0-4: commit or abort a transaction (v5, KIP-890 part 2, is not served)."""

from broker.registry import handles
from kproto.messages import END_TXN


@handles(END_TXN, "0-4")
def end_txn(ctx, req: dict) -> dict:
    return ctx.broker.transactions.end_txn(ctx, req)
