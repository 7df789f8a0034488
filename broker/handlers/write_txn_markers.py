"""WriteTxnMarkers 0-1: write transaction markers, as a partition leader does for its
coordinator (admin tools use it to abort a hanging transaction)."""

from broker.registry import handles
from kproto.messages import WRITE_TXN_MARKERS


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"markers": [{"producer_id": m["producer_id"], "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p, "error_code": code} for p in t["partition_indexes"]]}
        for t in m["topics"]]} for m in req["markers"]]}


@handles(WRITE_TXN_MARKERS, "0-1", error_response=_errors)
def write_txn_markers(ctx, req: dict) -> dict:
    return ctx.broker.transactions.write_txn_markers(ctx, req)
