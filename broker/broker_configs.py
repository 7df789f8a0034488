"""Broker configs in Kafka's layers: dynamic for this broker, dynamic for every broker, static, default.

A broker key's value is the first layer that sets it, in this order:

1. DYNAMIC_BROKER_CONFIG: set at run time for this broker (a BROKER resource named by its node id);
2. DYNAMIC_DEFAULT_BROKER_CONFIG: set at run time for every broker (the BROKER resource named "");
3. STATIC_BROKER_CONFIG: server.properties, ``-o KEY=VALUE`` or a command-line flag;
4. DEFAULT_CONFIG: the catalogue's default (``broker.config_catalog``).

The two dynamic layers are kept in ``<data_dir>/kbroker-broker-configs.json``, replaced
atomically on every change, so they survive restarts::

    {"version": 1, "cluster_default": {key: value}, "per_broker": {key: value}}

The log keys among them (``log.retention.ms``, ``log.segment.bytes``, ``message.max.bytes``, ...)
are the defaults of every topic that does not override them; a change reaches every
partition log at once (``Storage.replace_defaults``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from broker import config_catalog as catalog
from broker.config import BrokerConfig
from storage import BROKER_PROPERTIES, InvalidConfigError, LogConfig

log = logging.getLogger("kbroker.configs")

FILE = "kbroker-broker-configs.json"
FILE_VERSION = 1


class BrokerConfigs:
    """The layers of broker configs of one broker, and the dynamic ones' file."""

    def __init__(self, config: BrokerConfig):
        self.config = config
        self.path = None if config.data_dir is None else Path(config.data_dir) / FILE
        self.per_broker: dict[str, str] = {}
        self.cluster_default: dict[str, str] = {}
        if self.path is not None:
            self._load()

    # -- layers ----------------------------------------------------------------------------------

    def static(self) -> dict[str, str]:
        """What server.properties and the flags set: the keys given, and the known keys that differ
        from their default (a flag leaves no trace of having been given)."""
        values = dict(self.config.extra)
        values.update(self.config.log_properties)
        values.update(self.config.cluster_properties)
        values.update(self.config.security_properties)   # listener-prefixed ones are shown as sensitive
        for key in catalog.BROKER_CONFIGS.values():
            if key.value_of is not None:
                value = key.value_of(self.config)
                if value is not None and value != key.value_of(_DEFAULT_CONFIG):
                    values[key.name] = value
        return values

    @staticmethod
    def defaults() -> dict[str, str]:
        values = {}
        for key in catalog.BROKER_CONFIGS.values():
            value = key.value_of(_DEFAULT_CONFIG) if key.value_of is not None else key.default
            if value is not None:
                values[key.name] = value
        return values

    def layers(self) -> list[tuple[int, dict[str, str]]]:
        """(source, values) from the first that wins to the last."""
        return [(catalog.DYNAMIC_BROKER_CONFIG, self.per_broker),
                (catalog.DYNAMIC_DEFAULT_BROKER_CONFIG, self.cluster_default),
                (catalog.STATIC_BROKER_CONFIG, self.static()),
                (catalog.DEFAULT_CONFIG, self.defaults())]

    def value(self, name: str) -> str | None:
        """The value a broker key has now (None: unset)."""
        for _, values in self.layers():
            if name in values:
                return values[name]
        return None

    def dynamic(self, per_broker: bool) -> dict[str, str]:
        return self.per_broker if per_broker else self.cluster_default

    # -- the log's defaults ------------------------------------------------------------------------

    def log_defaults(self, per_broker: dict[str, str] | None = None,
                     cluster_default: dict[str, str] | None = None) -> LogConfig:
        """Every topic's defaults from the log keys of the layers (or of the layers as they would
        be with these dynamic values); InvalidConfigError if they do not make a valid log config."""
        props = {}
        for values in (self.config.log_properties,
                       self.cluster_default if cluster_default is None else cluster_default,
                       self.per_broker if per_broker is None else per_broker):
            props.update((key, value) for key, value in values.items() if key in BROKER_PROPERTIES)
        return LogConfig.from_broker_properties(props)

    # -- changes ---------------------------------------------------------------------------------

    def replace(self, per_broker: bool, values: dict[str, str]) -> None:
        """Make ``values`` the whole dynamic layer (checked by the caller) and write the file."""
        if per_broker:
            self.per_broker = dict(values)
        else:
            self.cluster_default = dict(values)
        self._save()

    def _load(self) -> None:
        """Read the file; a layer that no longer gives a valid log config is left out, with a warning
        (as Kafka skips dynamic configs it cannot apply)."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("%s is unreadable, dynamic broker configs ignored: %s", self.path, exc)
            return
        if not isinstance(document, dict) or document.get("version") != FILE_VERSION:
            log.warning("%s: unknown version, dynamic broker configs ignored", self.path)
            return
        for attribute in ("cluster_default", "per_broker"):
            values = document.get(attribute)
            if not isinstance(values, dict):
                continue
            values = {str(k): str(v) for k, v in values.items()}
            setattr(self, attribute, values)
            try:
                self.log_defaults()
            except InvalidConfigError as exc:
                log.warning("%s: %s configs ignored: %s", self.path, attribute, exc)
                setattr(self, attribute, {})

    def _save(self) -> None:
        if self.path is None:
            return
        document = {"version": FILE_VERSION, "cluster_default": self.cluster_default, "per_broker": self.per_broker}
        temp = self.path.with_name(self.path.name + ".tmp")
        with open(temp, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_DEFAULT_CONFIG = BrokerConfig()
