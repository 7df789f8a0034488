"""Listeners in Kafka's syntax: ``listeners``, ``advertised.listeners`` and ``listener.security.protocol.map``.

``listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9095`` opens one socket per entry.
An entry's name is looked up in ``listener.security.protocol.map`` (by default each of
PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL maps to itself), so ``CLIENT://:9096`` with
``CLIENT:SASL_SSL`` in the map is a SASL_SSL listener named CLIENT. Listeners named in
``controller.listener.names`` belong to a KRaft controller and are not served.
``advertised.listeners`` gives, per listener name, the address clients are told in
Metadata; a listener it does not name advertises its own address.
"""

from __future__ import annotations

from dataclasses import dataclass

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
DEFAULT_PROTOCOL_MAP = {name: name for name in SECURITY_PROTOCOLS}


@dataclass
class Listener:
    """One socket the broker listens on, its security protocol, and what clients are told of it."""

    name: str                 # upper case, as Kafka normalizes listener names
    security_protocol: str
    host: str
    port: int
    advertised_host: str | None = None
    advertised_port: int | None = None

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def advertised(self) -> tuple[str, int]:
        """The address Metadata gives for this listener."""
        host = self.advertised_host or (self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1")
        return host, self.advertised_port or self.port

    def __str__(self) -> str:
        return f"{self.name}://{self.host}:{self.port}"


def parse_endpoints(value: str) -> list[tuple[str, str, int]]:
    """``NAME://host:port,...`` -> [(NAME, host, port)]; ValueError on a malformed entry or a repeated name."""
    endpoints = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, sep, address = item.partition("://")
        host, colon, port = address.rpartition(":")
        if not sep or not colon or not name:
            raise ValueError(f"listener {item!r} is not NAME://host:port")
        try:
            number = int(port)
        except ValueError:
            raise ValueError(f"listener {item!r} has no port number") from None
        if not 0 <= number <= 65535:
            raise ValueError(f"listener {item!r}: port out of range")
        name = name.strip().upper()
        if any(existing == name for existing, _, _ in endpoints):
            raise ValueError(f"listener name {name} appears twice in {value!r}")
        endpoints.append((name, host.strip("[]"), number))
    return endpoints


def parse_protocol_map(value: str) -> dict[str, str]:
    """``CLIENT:SASL_SSL,INTERNAL:PLAINTEXT`` -> {CLIENT: SASL_SSL, INTERNAL: PLAINTEXT}."""
    mapping = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, sep, protocol = item.partition(":")
        protocol = protocol.strip().upper()
        if not sep or protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"{item!r} does not map a listener name to one of {', '.join(SECURITY_PROTOCOLS)}")
        mapping[name.strip().upper()] = protocol
    return mapping


def resolve(listeners: str, advertised: str | None, protocol_map: str | None,
            controller_names: str | None) -> list[Listener]:
    """The listeners a broker serves, in the order given, from the raw values of the four keys."""
    mapping = parse_protocol_map(protocol_map) if protocol_map else dict(DEFAULT_PROTOCOL_MAP)
    skipped = {name.strip().upper() for name in (controller_names or "").split(",") if name.strip()}
    result = []
    for name, host, port in parse_endpoints(listeners):
        if name in skipped:
            continue
        protocol = mapping.get(name)
        if protocol is None and name == "CONTROLLER":
            continue     # a KRaft controller's listener, from a combined-mode server.properties
        if protocol is None:
            raise ValueError(f"no security protocol for listener {name}: add it to listener.security.protocol.map")
        result.append(Listener(name, protocol, host, port))
    if not result:
        raise ValueError(f"no listener to serve in {listeners!r}")
    if advertised:
        by_name = {listener.name: listener for listener in result}
        entries = parse_endpoints(advertised)
        for name, host, port in entries:
            listener = by_name.get(name)
            if listener is None:
                if len(entries) == 1 and len(result) == 1:   # one of each: the names need not agree
                    listener = result[0]
                elif name in skipped:
                    continue
                else:
                    raise ValueError(f"advertised.listeners names {name}, which is not in listeners")
            listener.advertised_host, listener.advertised_port = host or None, port
    return result
