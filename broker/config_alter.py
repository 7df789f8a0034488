"""AlterConfigs and IncrementalAlterConfigs: the new configs of each resource, checked, then applied.

Both APIs answer per resource, and a resource changes whole or not at all. AlterConfigs
replaces every dynamic config of a resource with the ones given; IncrementalAlterConfigs
starts from the current ones and applies SET, DELETE, APPEND or SUBTRACT (list keys) to
single keys. The checks and their answers are Kafka's:

- a resource named twice, a key named twice in one resource, or a null value (other than
  for DELETE): INVALID_REQUEST;
- TOPIC: its name ("" and invalid names refused), then the new overrides as storage checks
  them (unknown key, wrong type, out of range: INVALID_CONFIG), then that it exists;
- BROKER: named "" (every broker) or by this broker's id; a key that cannot change at run
  time, a per-broker key at the cluster level, or a bad value: INVALID_REQUEST (Kafka
  answers broker config checks so, not INVALID_CONFIG); keys the catalogue does not know
  are kept, as Kafka keeps custom broker keys;
- GROUP (KIP-848, KIP-932; IncrementalAlterConfigs only): an unknown key, a value of the wrong type or below Kafka's
  bound, or outside the broker's range: INVALID_CONFIG. The group need not exist yet. The
  group service keeps the values (``alter_group_configs``) and applies them to the group.

A change takes effect at once (topic overrides and the log defaults reach every
partition log) and is persisted (storage's topics file, the broker configs file).
``validate_only`` checks everything and changes nothing.
"""

from __future__ import annotations

import re

from broker import config_catalog as catalog
from broker.broker_configs import BrokerConfigs
from broker.config import PROPERTIES
from kproto.errors import ErrorCode
from storage import TOPIC_CONFIG_DEFAULTS, InvalidConfigError, StorageError, validate_topic_name

TOPIC, BROKER, GROUP = 2, 4, 32              # Kafka's ConfigResource types
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3    # IncrementalAlterConfigs operations
OPERATION_NAMES = {APPEND: "APPEND", SUBTRACT: "SUBTRACT"}


class Refused(Exception):
    def __init__(self, code: int, message: str | None):
        super().__init__(message)
        self.code = code
        self.message = message


def alter(broker, resources: list[dict], validate_only: bool, *, incremental: bool) -> list[dict]:
    """The response entries, one per resource in request order."""
    seen: dict[tuple[int, str], int] = {}
    for resource in resources:
        ident = (resource["resource_type"], resource["resource_name"])
        seen[ident] = seen.get(ident, 0) + 1
    responses = []
    for resource in resources:
        entry = {"error_code": 0, "error_message": None, "resource_type": resource["resource_type"],
                 "resource_name": resource["resource_name"]}
        try:
            if seen[(resource["resource_type"], resource["resource_name"])] > 1:
                raise Refused(ErrorCode.INVALID_REQUEST, "Each resource must appear at most once.")
            _alter_one(broker, resource, validate_only, incremental)
        except Refused as exc:
            entry.update(error_code=exc.code, error_message=exc.message)
        responses.append(entry)
    return responses


def _alter_one(broker, resource: dict, validate_only: bool, incremental: bool) -> None:
    configs = resource["configs"]
    names = [c["name"] for c in configs]
    if len(set(names)) != len(names):
        raise Refused(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
    nulls = [c["name"] for c in configs if c["value"] is None and not (incremental and c["config_operation"] == DELETE)]
    if nulls:
        raise Refused(ErrorCode.INVALID_REQUEST, "Null value not supported for : " + ", ".join(nulls))
    if incremental:
        for c in configs:
            if c["config_operation"] not in (SET, DELETE, APPEND, SUBTRACT):
                raise Refused(ErrorCode.INVALID_REQUEST, f"Unknown operations type {c['config_operation']}")
    kind, name = resource["resource_type"], resource["resource_name"]
    if kind == TOPIC:
        _alter_topic(broker, name, configs, validate_only, incremental)
    elif kind == BROKER:
        _alter_broker(broker, name, configs, validate_only, incremental)
    elif kind == GROUP and incremental:   # AlterConfigs (legacy) takes topics and brokers only
        _alter_group(broker, name, configs, validate_only)
    else:
        raise Refused(ErrorCode.INVALID_REQUEST, f"Unknown resource type {kind}")


# -- topics ----------------------------------------------------------------------------------------

def _alter_topic(broker, name: str, configs: list[dict], validate_only: bool, incremental: bool) -> None:
    if not name:
        raise Refused(ErrorCode.INVALID_REQUEST, "Default topic resources are not allowed.")
    try:
        validate_topic_name(name)
    except StorageError as exc:
        raise Refused(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc)) from None
    storage = broker.storage
    info = storage.topic(name)
    current = dict(info.configs) if info is not None else {}
    if incremental:
        new = _apply_operations(current, configs, _topic_list_default, _topic_not_a_list)
    else:
        new = {c["name"]: c["value"] for c in configs}
    try:
        storage.defaults.with_overrides(new)
    except InvalidConfigError as exc:
        raise Refused(ErrorCode.INVALID_CONFIG, str(exc)) from None
    if info is None:
        raise Refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
    if not validate_only and new != current:
        storage.alter_topic_configs(name, new)


def _topic_list_default(key: str) -> str | None:
    key_info = catalog.TOPIC_CONFIGS.get(key)
    if key_info is None or key_info.type != catalog.LIST:
        return None
    return TOPIC_CONFIG_DEFAULTS.get(key, "")


def _topic_not_a_list(key: str, operation: int) -> Refused:
    return Refused(ErrorCode.INVALID_CONFIG,
                   f"Can't {OPERATION_NAMES[operation]} to key {key} because its type is not LIST.")


# -- brokers ---------------------------------------------------------------------------------------

def _alter_broker(broker, name: str, configs: list[dict], validate_only: bool, incremental: bool) -> None:
    per_broker = bool(name)
    if per_broker:
        if not re.fullmatch(r"[+-]?[0-9]{1,10}", name):
            raise Refused(ErrorCode.INVALID_REQUEST, f"Node id must be an integer, but it is: {name}")
        if int(name) != broker.node_id:
            raise Refused(ErrorCode.INVALID_REQUEST,
                          f"Unexpected broker id, expected {broker.node_id}, but received {name}")
    layers: BrokerConfigs = broker.broker_configs
    current = dict(layers.dynamic(per_broker))
    if incremental:
        new = _apply_operations(current, configs, _broker_list_default, _broker_not_a_list)
    else:
        new = {c["name"]: c["value"] for c in configs}
    new = _checked_broker_values(broker, new, per_broker)
    try:
        log_defaults = layers.log_defaults(**{"per_broker" if per_broker else "cluster_default": new})
    except InvalidConfigError as exc:
        raise Refused(ErrorCode.INVALID_REQUEST, str(exc)) from None
    if validate_only or new == current:
        return
    layers.replace(per_broker, new)
    broker.storage.replace_defaults(log_defaults)


def _checked_broker_values(broker, values: dict[str, str], per_broker: bool) -> dict[str, str]:
    """Kafka's checks of a dynamic layer of broker configs; the values as Kafka keeps them (parsed)."""
    known = catalog.BROKER_CONFIGS
    fixed = sorted(k for k in values if (k in known and not known[k].dynamic) or (k in PROPERTIES and k not in known))
    if fixed:
        raise Refused(ErrorCode.INVALID_REQUEST, f"Cannot update these configs dynamically: Set({', '.join(fixed)})")
    only_per_broker = sorted(k for k in values if k in known and known[k].per_broker)
    if only_per_broker and not per_broker:
        raise Refused(ErrorCode.INVALID_REQUEST, "Cannot update these configs at default cluster level, broker id "
                                                 f"must be specified: Set({', '.join(only_per_broker)})")
    kept = dict(values)
    for key_name, value in values.items():
        key = known.get(key_name)
        if key is None:
            continue
        try:
            kept[key_name] = key.parse(value)
        except catalog.InvalidValue as exc:
            raise Refused(ErrorCode.INVALID_REQUEST, str(exc)) from None
        if key.per_broker and key.value_of is not None and kept[key_name] != key.value_of(broker.config):
            raise Refused(ErrorCode.INVALID_REQUEST,
                          f"{key_name} cannot change while the broker runs: set it in server.properties and restart")
    return kept


def _broker_list_default(key: str) -> str | None:
    key_info = catalog.BROKER_CONFIGS.get(key)
    if key_info is None:
        raise Refused(ErrorCode.INVALID_CONFIG, f"Unknown config name: {key}")
    return (key_info.default or "") if key_info.type == catalog.LIST else None


def _broker_not_a_list(key: str, operation: int) -> Refused:
    verb = "append" if operation == APPEND else "subtract"
    return Refused(ErrorCode.INVALID_CONFIG, f"Config value {verb} is not allowed for config key: {key}")


# -- groups ----------------------------------------------------------------------------------------

GROUP_SET, GROUP_DELETE = 0, 1   # the operations the group service takes


def _alter_group(broker, name: str, configs: list[dict], validate_only: bool) -> None:
    """A group's own configs: SET and DELETE of single keys (no group key is a list, so APPEND
    and SUBTRACT are refused as Kafka refuses them for any key that is not a list)."""
    known = catalog.GROUP_CONFIGS
    unknown = [c["name"] for c in configs if c["name"] not in known]
    if unknown:
        raise Refused(ErrorCode.INVALID_CONFIG, f"Unknown group config name: {unknown[0]}")
    operations = []
    for c in configs:
        key, operation, value = c["name"], c["config_operation"], c["value"]
        if operation in (APPEND, SUBTRACT):
            raise _topic_not_a_list(key, operation)
        if operation == DELETE:
            operations.append((key, GROUP_DELETE, None))
            continue
        try:
            operations.append((key, GROUP_SET, known[key].parse(value)))
        except catalog.InvalidValue as exc:
            raise Refused(ErrorCode.INVALID_CONFIG, str(exc)) from None
    code, message = broker.groups.alter_group_configs(name, operations, validate_only=validate_only)
    if code:
        raise Refused(code, message)


# -- incremental operations ----------------------------------------------------------------------

def _apply_operations(current: dict[str, str], configs: list[dict], list_default, not_a_list) -> dict[str, str]:
    """The configs after SET, DELETE, APPEND and SUBTRACT, in request order.

    ``list_default(key)``: the default of a list key (None: not a list key);
    ``not_a_list(key, operation)``: the refusal for APPEND or SUBTRACT on another key.
    """
    new = dict(current)
    for c in configs:
        key, operation, value = c["name"], c["config_operation"], c["value"]
        if operation == SET:
            new[key] = value
        elif operation == DELETE:
            new.pop(key, None)
        else:
            default = list_default(key)
            if default is None:
                raise not_a_list(key, operation)
            items = catalog.split_list(new.get(key, default))
            given = [item for item in value.split(",")]
            if operation == APPEND:
                items += [item for item in given if item not in items]
            else:
                for item in given:
                    if item in items:
                        items.remove(item)
            new[key] = ",".join(items)
    return new
