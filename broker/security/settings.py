"""The security keys of server.properties, read per listener as Kafka reads them.

A key may be set for one listener with Kafka's prefix ``listener.name.<name>.<key>``
(``listener.name.sasl_ssl.ssl.client.auth=required``), which wins over the key alone.
SASL keys may also be set per listener and mechanism:
``listener.name.sasl_plaintext.plain.sasl.jaas.config``.

JAAS settings are read in their Kafka form, for example::

    listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \\
        required user_admin="admin-secret" user_alice="alice-secret";

``user_<name>="<password>"`` entries are the PLAIN users. OAUTHBEARER's JAAS options
(``unsecuredValidatorRequiredScope``, ...) configure the unsecured token validator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
DEFAULT_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")   # OAUTHBEARER only when named: its
                                                                  # unsecured validator trusts any token
CLIENT_AUTH = ("none", "requested", "required")
SASL_SERVER_MAX_RECEIVE_SIZE = 524288
FAILED_AUTHENTICATION_DELAY_MS = 100
ANONYMOUS = "User:ANONYMOUS"

_JAAS_OPTION = re.compile(r'\s*([A-Za-z0-9_.\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]+)')
_JAAS_HEAD = re.compile(r"\s*([A-Za-z0-9_.$]+)\s+(required|requisite|sufficient|optional)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Jaas:
    """One login module entry of a ``sasl.jaas.config`` value: its class and options."""

    login_module: str
    options: dict

    def users(self) -> dict[str, str]:
        """PLAIN's ``user_<name>="<password>"`` options."""
        return {key[5:]: value for key, value in self.options.items() if key.startswith("user_") and len(key) > 5}


def parse_jaas(text: str) -> Jaas:
    """``LoginModule required key="value" ...;`` -> Jaas; ValueError if it is not that shape."""
    head = _JAAS_HEAD.match(text)
    if head is None:
        raise ValueError("a JAAS config must start with a login module class and a control flag (required)")
    options = {}
    position = head.end()
    while True:
        match = _JAAS_OPTION.match(text, position)
        if match is None:
            break
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        options[match.group(1)] = value
        position = match.end()
    rest = text[position:].strip()
    if rest not in (";", ""):
        raise ValueError("a JAAS config is options key=\"value\" ending with ';' (the rest could not be read)")
    return Jaas(head.group(1), options)


def read_users_file(path: Path) -> dict[str, str]:
    """``--sasl-users FILE``: one ``name:password`` (or ``name=password``) a line; ``#`` comments."""
    users = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        separators = [i for i in (line.find(":"), line.find("=")) if i > 0]
        if not separators:
            raise ValueError(f"{path} line {number}: expected name:password")
        cut = min(separators)
        users[line[:cut].strip()] = line[cut + 1:].strip()
    return users


class SecuritySettings:
    """The security keys of one broker's configuration, read and checked once at start."""

    def __init__(self, config):
        self.config = config
        self.props = dict(config.security_properties)
        self.file_users = read_users_file(config.sasl_users_file) if config.sasl_users_file else {}
        self.authorizer_enabled = bool(self.props.get("authorizer.class.name", "").strip())
        self.super_users = frozenset(p.strip() for p in self.props.get("super.users", "").split(";") if p.strip())
        self.allow_everyone_if_no_acl_found = _bool(self.props, "allow.everyone.if.no.acl.found", False)
        self.sasl_server_max_receive_size = _int(self.props, "sasl.server.max.receive.size",
                                                 SASL_SERVER_MAX_RECEIVE_SIZE, low=1)
        self.failed_authentication_delay_ms = _int(self.props, "connection.failed.authentication.delay.ms",
                                                   FAILED_AUTHENTICATION_DELAY_MS, low=0)
        for listener in config.listeners():     # refuse a bad value now, not at the first connection
            if listener.sasl:
                for mechanism in self.mechanisms(listener.name):
                    self.jaas(listener.name, mechanism)
                self.connections_max_reauth_ms(listener.name)
            if listener.tls:
                self.client_auth(listener.name)

    def value(self, listener_name: str, key: str, default: str | None = None) -> str | None:
        """``listener.name.<listener>.<key>``, else ``<key>``, else ``default``."""
        value = self.props.get(f"listener.name.{listener_name.lower()}.{key}")
        if value is None:
            value = self.props.get(key)
        return default if value is None else value

    def mechanisms(self, listener_name: str) -> list[str]:
        """``sasl.enabled.mechanisms`` of a listener (default PLAIN and both SCRAMs)."""
        text = self.value(listener_name, "sasl.enabled.mechanisms")
        if text is None:
            return list(DEFAULT_MECHANISMS)
        names = [name.strip().upper() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in SASL_MECHANISMS]
        if unknown:
            raise ValueError(f"sasl.enabled.mechanisms: {', '.join(unknown)} not supported "
                             f"(kbroker serves {', '.join(SASL_MECHANISMS)})")
        if not names:
            raise ValueError(f"sasl.enabled.mechanisms: no mechanism enabled for listener {listener_name}")
        return names

    def mechanism_value(self, listener_name: str, mechanism: str, key: str) -> str | None:
        """A SASL key for one listener and mechanism: ``listener.name.<l>.<mechanism>.<key>`` first."""
        value = self.props.get(f"listener.name.{listener_name.lower()}.{mechanism.lower()}.{key}")
        return value if value is not None else self.value(listener_name, key)

    def jaas(self, listener_name: str, mechanism: str) -> Jaas | None:
        text = self.mechanism_value(listener_name, mechanism, "sasl.jaas.config")
        if text is None:
            return None
        try:
            return parse_jaas(text)
        except ValueError as exc:
            raise ValueError(f"sasl.jaas.config of listener {listener_name} ({mechanism}): {exc}") from None

    def plain_users(self, listener_name: str) -> dict[str, str]:
        """PLAIN's users on a listener: its JAAS ``user_*`` options, then the users file."""
        jaas = self.jaas(listener_name, "PLAIN")
        users = dict(self.file_users)
        if jaas is not None:
            users.update(jaas.users())
        return users

    def connections_max_reauth_ms(self, listener_name: str, mechanism: str | None = None) -> int:
        key = "connections.max.reauth.ms"
        text = self.mechanism_value(listener_name, mechanism, key) if mechanism else self.value(listener_name, key)
        return _parse_int(key, text, 0, low=0)

    def client_auth(self, listener_name: str) -> str:
        value = (self.value(listener_name, "ssl.client.auth") or "none").strip().lower()
        if value not in CLIENT_AUTH:
            raise ValueError(f"ssl.client.auth must be one of {', '.join(CLIENT_AUTH)}, not {value!r}")
        return value


def _parse_int(key: str, text: str | None, default: int, low: int | None = None) -> int:
    if text is None:
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"{key} must be a number, not {text!r}") from None
    if low is not None and value < low:
        raise ValueError(f"{key} must be at least {low}")
    return value


def _int(props: dict, key: str, default: int, low: int | None = None) -> int:
    return _parse_int(key, props.get(key), default, low)


def _bool(props: dict, key: str, default: bool) -> bool:
    text = props.get(key)
    if text is None:
        return default
    if text.strip().lower() not in ("true", "false"):
        raise ValueError(f"{key} must be true or false, not {text!r}")
    return text.strip().lower() == "true"
