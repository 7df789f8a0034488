"""AddPartitionsToTxn 0-5: partitions join a producer's transaction (v4+: the broker-side form,
several transactions, or verify_only for KIP-890's check).

With the authorizer on, as Kafka checks: v0-3 come from clients and need WRITE on the
transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition) and WRITE on
each topic (else TOPIC_AUTHORIZATION_FAILED for its partitions, and the transaction fails);
v4+ come from brokers and need CLUSTER_ACTION on the cluster (else the top-level
CLUSTER_AUTHORIZATION_FAILED), and no topic check."""

from broker.registry import handles
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource
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
    if ctx.api_version >= 4:
        ctx.require(Op.CLUSTER_ACTION, Resource.CLUSTER, CLUSTER_NAME)
        return ctx.broker.transactions.add_partitions(ctx, req)
    ctx.require(Op.WRITE, Resource.TRANSACTIONAL_ID, req["v3_and_below_transactional_id"])
    unwritable = ()
    if ctx.broker.authorizer is not None:
        names = {t["name"] for t in req["v3_and_below_topics"]}
        unwritable = names - ctx.authorized(Op.WRITE, Resource.TOPIC, names)
    return ctx.broker.transactions.add_partitions(ctx, req, unwritable)
