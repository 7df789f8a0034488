"""TxnOffsetCommit 0-4: a group's offsets committed inside a transaction (v5 is KIP-890 part 2)."""

from broker.registry import handles
from kproto.messages import TXN_OFFSET_COMMIT


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p["partition_index"], "error_code": code}
                                           for p in t["partitions"]]} for t in req["topics"]]}


@handles(TXN_OFFSET_COMMIT, "0-4", error_response=_errors)
def txn_offset_commit(ctx, req: dict) -> dict:
    return ctx.broker.groups.txn_commit_offsets(ctx, req)
