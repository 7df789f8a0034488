"""DescribeTransactions 0: the state of transactional ids (kafka-transactions.sh describe).

With the authorizer on, as Kafka checks: DESCRIBE on each transactional id (else its entry is
TRANSACTIONAL_ID_AUTHORIZATION_FAILED), and the partitions of topics the client may not
DESCRIBE are left out of the answer."""

from broker.registry import handles
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_TRANSACTIONS


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "transaction_states": [
        {"error_code": code, "transactional_id": t, "transaction_state": "", "transaction_timeout_ms": 0,
         "transaction_start_time_ms": -1, "producer_id": -1, "producer_epoch": -1, "topics": []}
        for t in req["transactional_ids"]]}


def _refused(transactional_id: str) -> dict:
    """Kafka's entry for an id the client may not describe: the error, every other field zero."""
    return {"error_code": ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "transactional_id": transactional_id,
            "transaction_state": "", "transaction_timeout_ms": 0, "transaction_start_time_ms": 0, "producer_id": 0,
            "producer_epoch": 0, "topics": []}


@handles(DESCRIBE_TRANSACTIONS, "0", error_response=_errors)
def describe_transactions(ctx, req: dict) -> dict:
    if ctx.broker.authorizer is None:
        return ctx.broker.transactions.describe(ctx, req)
    ids = req["transactional_ids"]
    describable = ctx.authorized(Op.DESCRIBE, Resource.TRANSACTIONAL_ID, ids)
    described = iter(ctx.broker.transactions.describe(ctx, {**req, "transactional_ids": [
        t for t in ids if t in describable]})["transaction_states"])
    states = [next(described) if t in describable else _refused(t) for t in ids]
    topics = ctx.authorized(Op.DESCRIBE, Resource.TOPIC, {topic["topic"] for s in states for topic in s["topics"]})
    for state in states:
        state["topics"] = [topic for topic in state["topics"] if topic["topic"] in topics]
    return {"throttle_time_ms": 0, "transaction_states": states}
