"""DescribeTransactions 0: the state of transactional ids (kafka-transactions.sh describe)."""

from broker.registry import handles
from kproto.messages import DESCRIBE_TRANSACTIONS


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "transaction_states": [
        {"error_code": code, "transactional_id": t, "transaction_state": "", "transaction_timeout_ms": 0,
         "transaction_start_time_ms": -1, "producer_id": -1, "producer_epoch": -1, "topics": []}
        for t in req["transactional_ids"]]}


@handles(DESCRIBE_TRANSACTIONS, "0", error_response=_errors)
def describe_transactions(ctx, req: dict) -> dict:
    return ctx.broker.transactions.describe(ctx, req)
