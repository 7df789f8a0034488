"""Cluster mode's handlers: the controller's APIs, and the handlers that differ from one broker's.

Imported only in cluster mode, so one broker neither serves nor advertises any of this.
Served here: LeaderAndIsr 5-7, UpdateMetadata 7-8 and StopReplica 3-4 (from the controller),
ControlledShutdown 1-3 and AlterPartition 0-1 (to the controller). Produce and Fetch keep
their handlers, which consult ``broker.replication``; they are wrapped to wait for acks=all
and to add KIP-951's leader endpoints. The admin and metadata handlers that answer from the
cluster's view instead of this broker's storage are replaced (``admin``, ``coordinators``,
``transactions``, ``acls``, ``client_configs``).

With the authorizer on, the APIs between brokers need CLUSTER_ACTION on the cluster
(CLUSTER_AUTHORIZATION_FAILED otherwise), as Kafka checks them; follower fetches are checked
by the shared Fetch handler, WriteTxnMarkers by its own.
"""

from __future__ import annotations

import logging

from broker.cluster.replacing import replace
from broker.registry import SERVED, handles
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import (ALTER_PARTITION, CONTROLLED_SHUTDOWN, FETCH, LEADER_AND_ISR, PRODUCE, STOP_REPLICA,
                             UPDATE_METADATA)

log = logging.getLogger("kbroker.cluster")

FULL = 2   # UpdateMetadata's Type for a whole view


def require_cluster_action(ctx) -> None:
    """The inter-broker APIs need CLUSTER_ACTION on the cluster (else CLUSTER_AUTHORIZATION_FAILED in
    the API's error shape), as Kafka's KafkaApis checks them: brokers must connect as a principal
    that has it, a super user (``super.users``) or one granted it."""
    ctx.require(Op.CLUSTER_ACTION, Resource.CLUSTER, CLUSTER_NAME)


# -- from the controller ---------------------------------------------------------------------------------------

@handles(LEADER_AND_ISR, "5-7", error_response=lambda req, v, code: {"error_code": code, "topics": []})
async def leader_and_isr(ctx, req: dict) -> dict:
    require_cluster_action(ctx)
    return await ctx.broker.cluster.replicas.leader_and_isr(req)


@handles(UPDATE_METADATA, "7-8")
def update_metadata(ctx, req: dict) -> dict:
    require_cluster_action(ctx)
    node = ctx.broker.cluster
    if req["controller_epoch"] < node.replicas.controller_epoch:
        return {"error_code": ErrorCode.STALE_CONTROLLER_EPOCH}
    node.replicas.controller_epoch = req["controller_epoch"]
    for topic in node.metadata.update(req):   # deleted now: what is left of it here goes
        if node.broker.storage.topic(topic) is None:
            node.broker.topic_gone(topic)   # no copy here: the groups coordinated here forget it
        elif not any(key[0] == topic for key in node.replicas.partitions):
            log.info("topic %s is no longer in the cluster: deleting this broker's copy", topic)
            node.broker.delete_topic(topic)
    if req["type"] == FULL:   # the whole view: say which local topics the cluster does not have (kept)
        stray = sorted(t for t in node.broker.storage.topics() if not node.metadata.has_topic(t))
        if stray:
            log.warning("topics in %s that the cluster does not have (deleted while this broker was away, "
                        "or made before it joined), kept but not served: %s", node.broker.config.data_dir,
                        ", ".join(stray))
    return {"error_code": 0}


@handles(STOP_REPLICA, "3-4",
         error_response=lambda req, v, code: {"error_code": code, "partition_errors": []})
async def stop_replica(ctx, req: dict) -> dict:
    require_cluster_action(ctx)
    return await ctx.broker.cluster.replicas.stop_replica(req)


# -- to the controller -------------------------------------------------------------------------------------------

@handles(CONTROLLED_SHUTDOWN, "1-3",
         error_response=lambda req, v, code: {"error_code": code, "remaining_partitions": []})
async def controlled_shutdown(ctx, req: dict) -> dict:
    require_cluster_action(ctx)
    node = ctx.broker.cluster
    controller = node.controller
    if not node.is_controller:
        return {"error_code": ErrorCode.NOT_CONTROLLER, "remaining_partitions": []}
    code, remaining = await controller.call(
        lambda: controller.controlled_shutdown(req["broker_id"], req["broker_epoch"]))
    return {"error_code": code, "remaining_partitions": [{"topic_name": t, "partition_index": p}
                                                          for t, p in remaining]}


@handles(ALTER_PARTITION, "0-1",
         error_response=lambda req, v, code: {"throttle_time_ms": 0, "error_code": code, "topics": []})
async def alter_partition(ctx, req: dict) -> dict:
    require_cluster_action(ctx)
    node = ctx.broker.cluster
    controller = node.controller
    if not node.is_controller:
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NOT_CONTROLLER, "topics": []}
    return await controller.call(lambda: controller.alter_partition(req))


# -- Produce and Fetch: the shared handlers, waiting for the ISR and hinting at leaders -------------------------

_produce = SERVED[PRODUCE.api_key].handler
_fetch = SERVED[FETCH.api_key].handler


async def produce(ctx, req: dict) -> dict | None:
    replication = ctx.broker.replication
    try:
        response = _produce(ctx, req)
    except BaseException:
        replication.drop_pending()
        raise
    await replication.complete_produce(response, req["timeout_ms"], ctx.api_version, ctx.listener.name)
    return response


async def fetch(ctx, req: dict) -> dict:
    response = _fetch(ctx, req)     # the answer, or the long poll's coroutine when it must wait
    if not isinstance(response, dict):
        response = await response
    ctx.broker.replication.fetch_hints(response, ctx.api_version, ctx.listener.name)
    return response


replace(PRODUCE, produce, may_wait=True)
replace(FETCH, fetch)

# the replaced admin, config, coordinator and transaction handlers
from broker.cluster import acls, admin, client_configs, configs, coordinators, transactions  # noqa: E402,F401
