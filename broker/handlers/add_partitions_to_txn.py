"""AddPartitionsToTxn 0-5: partitions join a producer's transaction (v4+: the broker-side form,
several transactions, or verify_only for KIP-890's check)."""

from broker.registry import handles
from kproto.messages import ADD_PARTITIONS_TO_TXN


def _errors(req: dict, api_version: int, code: int) -> dict:
    def results(topics):
        return [{"name": t["name"], "results_by_partition": [
            {"partition_index": p, "partition_error_code": code} for p in t["partitions"]]} for t in topics]

    if api_version >= 4:
        return {"throttle_time_ms": 0, "error_code": code, "results_by_transaction": []}
    return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": results(req["v3_and_below_topics"])}


@handles(ADD_PARTITIONS_TO_TXN, "0-5", error_response=_errors)
def add_partitions_to_txn(ctx, req: dict) -> dict:
    return ctx.broker.transactions.add_partitions(ctx, req)
