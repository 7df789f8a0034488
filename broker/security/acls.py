"""ACL bindings and filters, as Kafka defines them, and the store kept in the data directory.

A binding says: ``principal`` from ``host`` is allowed (or denied) ``operation`` on the
resources of a type whose name is ``resource_name`` (LITERAL; ``*`` is every name) or starts
with it (PREFIXED). A filter selects bindings for DescribeAcls and DeleteAcls: ANY matches
every value of a field, null names/principals/hosts match every one, and the MATCH pattern
type selects every binding that would apply to the name given.

The store is ``<data_dir>/kbroker-acls.json``, replaced atomically on every change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, NamedTuple

from broker.security import persist
from kproto.constants import CLUSTER_NAME, AclOperation as Op, AclPermissionType as Permission, \
    PatternType, ResourceType

FILE = "kbroker-acls.json"
WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"


class AclBinding(NamedTuple):
    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission_type: int

    def describe(self) -> str:
        return (f"{_name(Permission, self.permission_type)} {self.principal} from {self.host} "
                f"{_name(Op, self.operation)} on {_name(ResourceType, self.resource_type)} "
                f"{_name(PatternType, self.pattern_type)} {self.resource_name!r}")


class AclFilter(NamedTuple):
    resource_type: int
    resource_name: str | None
    pattern_type: int
    principal: str | None
    host: str | None
    operation: int
    permission_type: int

    def unknown(self) -> str | None:
        """Kafka's refusal of a filter with an UNKNOWN (or unheard-of) part, else None."""
        if not _known(ResourceType, self.resource_type) or not _known(PatternType, self.pattern_type):
            return "Unknown patternFilter."
        if not _known(Op, self.operation) or not _known(Permission, self.permission_type):
            return "Unknown entryFilter."
        return None

    def matches(self, acl: AclBinding) -> bool:
        if self.resource_type != ResourceType.ANY and self.resource_type != acl.resource_type:
            return False
        if self.pattern_type not in (PatternType.ANY, PatternType.MATCH) and self.pattern_type != acl.pattern_type:
            return False
        name = self.resource_name
        if name is not None:
            if self.pattern_type in (PatternType.ANY, acl.pattern_type):
                if name != acl.resource_name:
                    return False
            elif acl.pattern_type == PatternType.LITERAL:
                if name != acl.resource_name and acl.resource_name != WILDCARD:
                    return False
            elif not name.startswith(acl.resource_name):
                return False
        return ((self.principal is None or self.principal == acl.principal)
                and (self.host is None or self.host == acl.host)
                and (self.operation == Op.ANY or self.operation == acl.operation)
                and (self.permission_type == Permission.ANY or self.permission_type == acl.permission_type))


def _known(enum, value: int) -> bool:
    return value in enum._value2member_map_ and value != 0


def _name(enum, value: int) -> str:
    return enum(value).name if value in enum._value2member_map_ else str(value)


def invalid_binding(acl: AclBinding) -> str | None:
    """Kafka's refusal of a binding CreateAcls cannot create, else None."""
    if not _known(ResourceType, acl.resource_type) or acl.resource_type == ResourceType.ANY:
        return f"Invalid resourceType {_name(ResourceType, acl.resource_type) if acl.resource_type else 'UNKNOWN'}"
    if acl.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
        return f"Invalid patternType {_name(PatternType, acl.pattern_type)}"
    if not _known(Op, acl.operation) or acl.operation == Op.ANY:
        return f"Invalid operation {_name(Op, acl.operation) if acl.operation else 'UNKNOWN'}"
    if acl.permission_type not in (Permission.ALLOW, Permission.DENY):
        return f"Invalid permissionType {_name(Permission, acl.permission_type)}"
    if acl.resource_type == ResourceType.CLUSTER and acl.resource_name != CLUSTER_NAME:
        return f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
    if not acl.resource_name:
        return "Resource name should not be empty"
    kind, sep, name = acl.principal.partition(":")
    if not sep or not kind or not name:
        return (f"Could not parse principal from `{acl.principal}` (no colon is present separating the "
                "principal type from the principal name)")
    if not acl.host:
        return "Host should not be empty"
    return None


class AclStore:
    """Every ACL binding, in the order created, and the file that keeps them."""

    def __init__(self, data_dir: Path | None):
        self.path = None if data_dir is None else Path(data_dir) / FILE
        self.bindings: dict[AclBinding, None] = {}
        self.version = 0          # bumped on every change (the authorizer's index follows it)
        document = persist.load(self.path)
        if document is not None:
            for row in document.get("acls", []):
                self.bindings[AclBinding(*row)] = None

    def add(self, bindings: Iterable[AclBinding]) -> list[AclBinding]:
        added = [b for b in bindings if b not in self.bindings]
        for binding in added:
            self.bindings[binding] = None
        if added:
            self._changed()
        return added

    def matching(self, acl_filter: AclFilter) -> list[AclBinding]:
        return [binding for binding in self.bindings if acl_filter.matches(binding)]

    def remove(self, bindings: Iterable[AclBinding]) -> None:
        removed = False
        for binding in bindings:
            if self.bindings.pop(binding, False) is None:
                removed = True
        if removed:
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        persist.save(self.path, {"version": 1, "acls": [list(b) for b in self.bindings]})
