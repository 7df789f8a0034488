"""The authorizer: may this principal, from this host, do this operation on this resource?

Off by default; ``authorizer.class.name`` (any value: Kafka's StandardAuthorizer is what it
stands for) or ``--acl`` turns it on. Then, as Kafka's StandardAuthorizer decides:

1. a principal in ``super.users`` (``User:admin;User:ops``) may do everything;
2. the bindings that apply to the resource are those on its exact name, on ``*``, and
   PREFIXED ones its name starts with; if there are none, the answer is
   ``allow.everyone.if.no.acl.found`` (default false);
3. a DENY binding for the principal (or ``User:*``) and host (or ``*``) naming the operation
   (or ALL) refuses, whatever allows it;
4. else an ALLOW binding naming the operation, or ALL, or one that implies it (READ, WRITE,
   DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows;
5. else it is refused.

Decisions are kept until the ACLs change, so a produce request costs a dictionary lookup per
topic however many bindings there are.
"""

from __future__ import annotations

import logging
from pathlib import Path

from broker.security.acls import WILDCARD, WILDCARD_PRINCIPAL, AclBinding, AclFilter, AclStore
from kproto.constants import AclOperation as Op, AclPermissionType as Permission, PatternType, ResourceType

log = logging.getLogger("kbroker.authorizer")

SUPPORTED_OPERATIONS = {
    ResourceType.TOPIC: (Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE, Op.DELETE, Op.ALTER, Op.DESCRIBE_CONFIGS,
                         Op.ALTER_CONFIGS),
    ResourceType.GROUP: (Op.READ, Op.DESCRIBE, Op.DELETE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS),
    ResourceType.CLUSTER: (Op.CREATE, Op.CLUSTER_ACTION, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS, Op.IDEMPOTENT_WRITE,
                           Op.ALTER, Op.DESCRIBE),
    ResourceType.TRANSACTIONAL_ID: (Op.DESCRIBE, Op.WRITE),
    ResourceType.DELEGATION_TOKEN: (Op.DESCRIBE,),
    ResourceType.USER: (Op.CREATE_TOKENS, Op.DESCRIBE_TOKENS),
}

# operation asked -> the operations of ALLOW bindings that grant it
_GRANTED_BY = {op: frozenset({op, Op.ALL}) for op in Op}
_GRANTED_BY[Op.DESCRIBE] = frozenset({Op.DESCRIBE, Op.READ, Op.WRITE, Op.DELETE, Op.ALTER, Op.ALL})
_GRANTED_BY[Op.DESCRIBE_CONFIGS] = frozenset({Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS, Op.ALL})

CACHE_ENTRIES = 100_000     # decisions kept; the whole cache is dropped when full


class _Index:
    """The bindings of one resource type, by literal name and by prefix."""

    def __init__(self):
        self.literal: dict[str, list[AclBinding]] = {}
        self.prefixed: dict[str, list[AclBinding]] = {}
        self.prefix_lengths: list[int] = []

    def add(self, binding: AclBinding) -> None:
        table = self.literal if binding.pattern_type == PatternType.LITERAL else self.prefixed
        table.setdefault(binding.resource_name, []).append(binding)

    def finish(self) -> None:
        self.prefix_lengths = sorted({len(prefix) for prefix in self.prefixed})

    def applying_to(self, name: str) -> list[AclBinding]:
        found = []
        literal = self.literal
        if name in literal:
            found += literal[name]
        if WILDCARD in literal and name != WILDCARD:
            found += literal[WILDCARD]
        prefixed = self.prefixed
        for length in self.prefix_lengths:
            if length > len(name):
                break
            bindings = prefixed.get(name[:length])
            if bindings:
                found += bindings
        return found


class Authorizer:
    def __init__(self, data_dir: Path | None, super_users: frozenset[str], allow_everyone_if_no_acl_found: bool):
        self.store = AclStore(data_dir)
        self.super_users = super_users
        self.allow_everyone_if_no_acl_found = allow_everyone_if_no_acl_found
        self._cache: dict[tuple, bool] = {}
        self._rebuild()

    # -- decisions -----------------------------------------------------------------------------------

    def authorize(self, principal: str, host: str, operation: int, resource_type: int, name: str) -> bool:
        key = (principal, host, operation, resource_type, name)
        allowed = self._cache.get(key)
        if allowed is None:
            allowed = self._decide(principal, host, operation, resource_type, name)
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = allowed
            if not allowed:
                log.info("denied %s from %s %s on %s %r", principal, host, Op(operation).name,
                         ResourceType(resource_type).name, name)
        return allowed

    def _decide(self, principal: str, host: str, operation: int, resource_type: int, name: str) -> bool:
        if principal in self.super_users:
            return True
        index = self._indexes.get(resource_type)
        bindings = index.applying_to(name) if index is not None else []
        if not bindings:
            return self.allow_everyone_if_no_acl_found
        granted_by = _GRANTED_BY[operation]
        allowed = False
        for binding in bindings:
            if binding.principal not in (principal, WILDCARD_PRINCIPAL) or binding.host not in (host, WILDCARD):
                continue
            if binding.permission_type == Permission.DENY:
                if binding.operation in (operation, Op.ALL):
                    return False
            elif binding.operation in granted_by:
                allowed = True
        return allowed

    def authorize_any(self, principal: str, host: str, operation: int, resource_type: int) -> bool:
        """Whether some resource of the type may be ``operation``-ed (Kafka's authorizeByResourceType,
        as InitProducerId asks for WRITE on any topic): an ALLOW binding of the principal for it
        that no DENY on every name (``*``) cancels."""
        if principal in self.super_users:
            return True
        index = self._indexes.get(resource_type)
        if index is None:
            return False
        matching = lambda b: b.principal in (principal, WILDCARD_PRINCIPAL) and b.host in (host, WILDCARD)  # noqa
        for binding in index.literal.get(WILDCARD, []):
            if binding.permission_type == Permission.DENY and binding.operation in (operation, Op.ALL) \
                    and matching(binding):
                return False
        granted_by = _GRANTED_BY[operation]
        for table in (index.literal, index.prefixed):
            for bindings in table.values():
                for binding in bindings:
                    if binding.permission_type == Permission.ALLOW and binding.operation in granted_by \
                            and matching(binding) and not self._denied(principal, host, operation, binding):
                        return True
        return False

    def _denied(self, principal: str, host: str, operation: int, allow: AclBinding) -> bool:
        """Whether a DENY covers every resource the ALLOW binding names."""
        if allow.pattern_type != PatternType.LITERAL:
            return False
        return not self._decide(principal, host, operation, allow.resource_type, allow.resource_name)

    def authorized_operations(self, principal: str, host: str, resource_type: int, name: str) -> int:
        """The ``*_authorized_operations`` bit set: the supported operations this principal may do."""
        bits = 0
        for operation in SUPPORTED_OPERATIONS[resource_type]:
            if self._decide(principal, host, operation, resource_type, name):
                bits |= 1 << operation
        return bits

    # -- the bindings ----------------------------------------------------------------------------------

    def create(self, bindings: list[AclBinding]) -> None:
        added = self.store.add(bindings)
        for binding in added:
            log.info("ACL added: %s", binding.describe())
        self._rebuild()

    def describe(self, acl_filter: AclFilter) -> list[AclBinding]:
        return self.store.matching(acl_filter)

    def delete(self, filters: list[AclFilter]) -> list[list[AclBinding]]:
        """The bindings each filter matched, all of them removed."""
        matched = [self.store.matching(f) for f in filters]
        removed = {binding: None for bindings in matched for binding in bindings}
        self.store.remove(removed)
        for binding in removed:
            log.info("ACL removed: %s", binding.describe())
        if removed:
            self._rebuild()
        return matched

    def _rebuild(self) -> None:
        indexes: dict[int, _Index] = {}
        for binding in self.store.bindings:
            indexes.setdefault(binding.resource_type, _Index()).add(binding)
        for index in indexes.values():
            index.finish()
        self._indexes = indexes
        self._cache = {}
