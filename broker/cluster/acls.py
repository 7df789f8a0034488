"""ACLs in a cluster: kept in ZooKeeper and the same on every broker, as Kafka's AclAuthorizer
keeps them in ZooKeeper mode.

Each resource's ACLs are one znode (``/kafka-acl/<Type>/<name>``, PREFIXED ones under
``/kafka-acl-extended/prefixed``); a change adds a notification (``/kafka-acl-changes``,
``/kafka-acl-extended-changes``), which every broker watches. CreateAcls and DeleteAcls are
checked and answered as on one broker (ALTER on the cluster, Kafka's validation), applied to
this broker's authorizer, then written to ZooKeeper resource by resource (conditionally on
the znode's version, so two brokers changing one resource at once both keep their change).
Every broker then makes its authorizer's bindings those of ZooKeeper: ZooKeeper is the truth,
and what this broker's ``kbroker-acls.json`` held before it joined is replaced (said in the log).
Notifications older than 15 minutes are deleted, as Kafka's brokers delete them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from broker.cluster import znodes as zn
from broker.cluster.coord import CoordinationError
from broker.cluster.replacing import replace
from broker.cluster.notifications import NotificationExpiry
from broker.registry import SERVED
from broker.security.acls import AclBinding, AclFilter
from kproto.errors import ErrorCode
from kproto.messages import CREATE_ACLS, DELETE_ACLS

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.cluster")

RETRY_S = 1.0


def _resource(binding: AclBinding) -> tuple:
    return binding.resource_type, binding.pattern_type, binding.resource_name


def _entry(binding: AclBinding) -> tuple:
    return binding.principal, binding.host, binding.operation, binding.permission_type


class AclChanges:
    """Keeps this broker's authorizer equal to the ACLs in ZooKeeper."""

    def __init__(self, node: ClusterNode):
        self.node = node
        self.seen: set[str] | None = None
        self.expiry = NotificationExpiry(node.coord, zn.ACL_CHANGE_PREFIX, zn.ACL_CHANGES, zn.EXTENDED_ACL_CHANGES)
        self.loaded = anyio.Event()   # set once ZooKeeper's ACLs are this broker's
        self._changed = anyio.Event()

    async def run(self) -> None:
        while True:
            try:
                changes = await self.node.coord.acl_changes(self._changed.set)
                if self.seen is None or changes - self.seen:   # new ones (old ones expiring change nothing)
                    await self.reload()
                self.seen = changes
                await self.expiry.maybe_expire()
            except CoordinationError as exc:
                log.warning("reading the ACLs in ZooKeeper: %s", exc)
                await anyio.sleep(RETRY_S)
                continue
            await self._changed.wait()
            self._changed = anyio.Event()

    async def reload(self) -> None:
        """Make the authorizer's bindings those of ZooKeeper, adding and removing only the difference."""
        authorizer = self.node.broker.authorizer
        shared = {AclBinding(rtype, name, pattern, *entry)
                  for (rtype, pattern, name), entries in (await self.node.coord.acls()).items() for entry in entries}
        local = set(authorizer.store.bindings)
        stale, new = local - shared, shared - local
        if stale:
            if not self.loaded.is_set():
                log.warning("%d ACL(s) of %s are not in ZooKeeper and are dropped: the cluster's ACLs are "
                            "ZooKeeper's", len(stale), self.node.broker.config.data_dir)
            authorizer.delete([AclFilter(*b) for b in stale])
        if new:
            authorizer.create(sorted(new))
        self.loaded.set()


async def _share(node: ClusterNode, added: list[AclBinding], removed: list[AclBinding]) -> None:
    """Write the bindings this broker added and removed to ZooKeeper, resource by resource."""
    by_resource: dict[tuple, tuple[list, list]] = {}
    for binding in added:
        by_resource.setdefault(_resource(binding), ([], []))[0].append(_entry(binding))
    for binding in removed:
        by_resource.setdefault(_resource(binding), ([], []))[1].append(_entry(binding))
    for resource, (adding, removing) in by_resource.items():
        await node.coord.change_acls(resource, adding, removing)


_create_acls = SERVED[CREATE_ACLS.api_key].handler
_delete_acls = SERVED[DELETE_ACLS.api_key].handler


async def create_acls(ctx, req: dict) -> dict:
    response = _create_acls(ctx, req)
    created = [AclBinding(c["resource_type"], c["resource_name"], c["resource_pattern_type"], c["principal"],
                          c["host"], c["operation"], c["permission_type"])
               for c, result in zip(req["creations"], response["results"]) if not result["error_code"]]
    if created:
        try:
            await _share(ctx.broker.cluster, created, [])
        except CoordinationError as exc:
            log.warning("cannot write ACLs to ZooKeeper: %s", exc)
            for result in response["results"]:
                if not result["error_code"]:
                    result.update(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, error_message=str(exc))
    return response


async def delete_acls(ctx, req: dict) -> dict:
    response = _delete_acls(ctx, req)
    removed = {AclBinding(a["resource_type"], a["resource_name"], a["pattern_type"], a["principal"], a["host"],
                          a["operation"], a["permission_type"]): None
               for result in response["filter_results"] for a in result["matching_acls"]}
    if removed:
        try:
            await _share(ctx.broker.cluster, [], list(removed))
        except CoordinationError as exc:
            log.warning("cannot delete ACLs in ZooKeeper: %s", exc)
            for result in response["filter_results"]:
                if not result["error_code"] and result["matching_acls"]:
                    result.update(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, error_message=str(exc))
    return response


replace(CREATE_ACLS, create_acls, may_wait=True)
replace(DELETE_ACLS, delete_acls, may_wait=True)
