"""Configs as DescribeConfigs and CreateTopics show them: value, source, synonyms, type, documentation.

A topic config's value is its override, else what the broker keys it has as synonyms
set (``log.retention.hours=1`` makes ``retention.ms`` 3600000), else its default. Its
synonyms are the override and then every layer's setting of those broker keys, in the
order they win; the first gives the source. Kafka drops the broker entries that come
before the first one named as the topic key's main synonym, so a topic whose
``retention.ms`` comes from ``log.retention.hours`` alone shows no synonyms and the
source DEFAULT_CONFIG: that is what Kafka answers, and it is kept.

A group resource lists the group's configs (group_entries). A broker resource named by
the node id lists every broker key the catalogue knows and
every key set statically or dynamically; the resource named "" lists only the dynamic
cluster-wide defaults. A key the catalogue does not know has no type, so it is shown
as sensitive, without its value, as Kafka does.
"""

from __future__ import annotations

from broker import config_catalog as catalog
from broker.broker_configs import BrokerConfigs
from storage import TOPIC_CONFIG_DEFAULTS


def display(key: catalog.ConfigKey | None, value: str | None) -> str | None:
    """A value as Kafka shows it once parsed by its type (unparsable text is shown as it is)."""
    if value is None or key is None:
        return value
    try:
        return key.parse(value)
    except catalog.InvalidValue:
        return value


# -- topics ----------------------------------------------------------------------------------------

def merged_broker_configs(configs: BrokerConfigs) -> dict[str, str]:
    """Every broker key set, as the broker merges its layers (static, then dynamic ones over it)."""
    return {**configs.static(), **configs.cluster_default, **configs.per_broker}


def topic_value(configs: BrokerConfigs, name: str, overrides: dict[str, str],
                merged: dict[str, str] | None = None) -> str | None:
    """The value a topic config has: its override, else its broker synonyms as the broker merges
    its layers (the finer synonym wins, whatever layer sets it), else its default."""
    key = catalog.TOPIC_CONFIGS.get(name)
    if name in overrides:
        return display(key, overrides[name])
    if merged is None:
        merged = merged_broker_configs(configs)
    for broker_name, factor in catalog.TOPIC_SYNONYMS.get(name, ()):
        if broker_name in merged:
            return display(key, _scaled(merged[broker_name], factor))
    return TOPIC_CONFIG_DEFAULTS.get(name)


def _scaled(value: str, factor: int) -> str:
    """A broker value in hours or minutes as milliseconds; a negative one means unlimited (-1)."""
    if factor == 1:
        return value
    try:
        number = int(value.strip())
    except ValueError:
        return value
    return str(number * factor if number >= 0 else -1)


def topic_entries(configs: BrokerConfigs, overrides: dict[str, str], names=None, *, include_synonyms: bool = False,
                  include_documentation: bool = False) -> list[dict]:
    """Every config of a topic with these overrides (or those in ``names``), sorted by name."""
    layers = configs.layers()
    merged = merged_broker_configs(configs)
    everything = set(TOPIC_CONFIG_DEFAULTS) | set(overrides)
    entries = []
    for name in sorted(everything if not names else everything & set(names)):
        key = catalog.TOPIC_CONFIGS.get(name)
        sensitive = key is None or key.sensitive
        value = None if sensitive else topic_value(configs, name, overrides, merged)
        synonyms = []
        if name in overrides:
            synonyms.append({"name": name, "value": value, "source": catalog.DYNAMIC_TOPIC_CONFIG})
        broker_names = [broker_name for broker_name, _ in catalog.TOPIC_SYNONYMS.get(name, ())]
        if broker_names:
            synonyms += _synonyms(layers, broker_names[0], broker_names, sensitive)
        entries.append(_entry(name, value, key, synonyms, read_only=False, include_synonyms=include_synonyms,
                              include_documentation=include_documentation))
    return entries


def created_topic_entries(configs: BrokerConfigs, overrides: dict[str, str]) -> list[dict]:
    """CreateTopics v5+: each config's value and source as the controller resolves it, layer by
    layer (no synonyms, never read-only), sorted by name."""
    layers = configs.layers()[:-1]   # the defaults are the topic's own, not the broker keys'
    merged = merged_broker_configs(configs)
    entries = []
    for name in sorted(set(TOPIC_CONFIG_DEFAULTS) | set(overrides)):
        key = catalog.TOPIC_CONFIGS.get(name)
        source = catalog.DYNAMIC_TOPIC_CONFIG if name in overrides else catalog.DEFAULT_CONFIG
        if name not in overrides:
            broker_names = [broker_name for broker_name, _ in catalog.TOPIC_SYNONYMS.get(name, ())]
            source = next((layer_source for layer_source, values in layers
                           if any(broker_name in values for broker_name in broker_names)), source)
        sensitive = key is None or key.sensitive
        entries.append({"name": name, "value": None if sensitive else topic_value(configs, name, overrides, merged),
                        "read_only": False, "config_source": source, "is_sensitive": sensitive})
    return entries


# -- brokers ---------------------------------------------------------------------------------------

def broker_entries(configs: BrokerConfigs, per_broker: bool, names=None, *, include_synonyms: bool = False,
                   include_documentation: bool = False) -> list[dict]:
    """The configs of this broker (``per_broker``) or the dynamic cluster-wide defaults, sorted by name."""
    layers = configs.layers()
    if per_broker:
        listed = set(catalog.BROKER_CONFIGS).union(*(values for _, values in layers))
    else:
        listed = set(configs.cluster_default)
        layers = [(source, values) for source, values in layers if source == catalog.DYNAMIC_DEFAULT_BROKER_CONFIG]
    entries = []
    for name in sorted(listed if not names else listed & set(names)):
        key = catalog.BROKER_CONFIGS.get(name)
        sensitive = key is None or key.sensitive
        value = next((values[name] for _, values in layers if name in values), None)
        synonyms = _synonyms(layers, name, catalog.broker_synonyms(name), sensitive)
        entries.append(_entry(name, None if sensitive else value, key, synonyms,
                              read_only=key is None or not key.dynamic, include_synonyms=include_synonyms,
                              include_documentation=include_documentation))
    return entries


# -- groups ----------------------------------------------------------------------------------------

def group_entries(described: list[dict], *, include_synonyms: bool = False,
                  include_documentation: bool = False) -> list[dict]:
    """A group's configs as the group service describes them (``{name, value, is_default}``), sorted
    by name. As Kafka shows them: a group's own value has the source GROUP_CONFIG and itself as its
    one synonym; otherwise the value is the broker's group.* setting, with the source DEFAULT_CONFIG
    and no synonym (Kafka names no broker key as a group key's synonym). Never read-only."""
    entries = []
    for config in sorted(described, key=lambda c: c["name"]):
        key = catalog.GROUP_CONFIGS.get(config["name"])
        value = display(key, config["value"])
        synonyms = [] if config["is_default"] else [
            {"name": config["name"], "value": value, "source": catalog.GROUP_CONFIG}]
        entries.append(_entry(config["name"], value, key, synonyms, read_only=False,
                              include_synonyms=include_synonyms, include_documentation=include_documentation))
    return entries


# -- both ------------------------------------------------------------------------------------------

def _synonyms(layers, name: str, names: list[str], sensitive: bool) -> list[dict]:
    """The settings of ``names`` layer by layer, from the first entry named ``name`` on."""
    found = [{"name": synonym, "value": None if sensitive else values[synonym], "source": source}
             for source, values in layers for synonym in names if synonym in values]
    for i, synonym in enumerate(found):
        if synonym["name"] == name:
            return found[i:]
    return []


def _entry(name: str, value: str | None, key: catalog.ConfigKey | None, synonyms: list[dict], *, read_only: bool,
           include_synonyms: bool, include_documentation: bool) -> dict:
    source = synonyms[0]["source"] if synonyms else catalog.DEFAULT_CONFIG
    return {
        "name": name, "value": value, "read_only": read_only, "is_default": source == catalog.DEFAULT_CONFIG,
        "config_source": source, "is_sensitive": key is None or key.sensitive,
        "synonyms": synonyms if include_synonyms else [],
        "config_type": catalog.UNKNOWN if key is None else key.type,
        "documentation": (None if key is None else key.doc) if include_documentation else None,
    }
