"""For the security tests: certificates, a broker with a listener of each protocol, and each client's settings.

``Pki`` makes a CA (trustme), the broker's certificate (for 127.0.0.1 and localhost), a
client certificate from that CA, and one from another CA (which the broker must refuse).
``settings(client, protocol, pki, mechanism, user, password)`` gives each real client's own
configuration keys for a listener, so one test body can run every client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

USERS = {"alice": "alice-secret", "bob": "bob-secret", "admin": "admin-secret"}
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


@dataclass
class Pki:
    ca: Path
    server: Path           # private key and chain, one PEM file (ssl.keystore.location)
    client_cert: Path
    client_key: Path
    client_dn: str         # the client certificate's subject, RFC 2253
    rogue_cert: Path       # from another CA
    rogue_key: Path

    @classmethod
    def make(cls, folder: Path) -> "Pki":
        import trustme
        from cryptography import x509

        ca, other = trustme.CA(), trustme.CA()
        ca.cert_pem.write_to_path(folder / "ca.pem")
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(folder / "server.pem")
        client = ca.issue_cert("alice.client", common_name="alice")
        client.cert_chain_pems[0].write_to_path(folder / "client.pem")
        client.private_key_pem.write_to_path(folder / "client.key")
        rogue = other.issue_cert("alice.client", common_name="alice")
        rogue.cert_chain_pems[0].write_to_path(folder / "rogue.pem")
        rogue.private_key_pem.write_to_path(folder / "rogue.key")
        dn = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes()).subject.rfc4514_string()
        return cls(folder / "ca.pem", folder / "server.pem", folder / "client.pem", folder / "client.key", dn,
                   folder / "rogue.pem", folder / "rogue.key")


def listener_overrides(ports: dict[str, int], pki: Pki, **extra: str) -> dict[str, str]:
    """Broker settings: a listener of each protocol (SSL with client certificates required)."""
    return {
        "listeners": ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items()),
        "ssl.keystore.type": "PEM", "ssl.keystore.location": str(pki.server),
        "ssl.truststore.type": "PEM", "ssl.truststore.location": str(pki.ca),
        "listener.name.ssl.ssl.client.auth": "required",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
        **extra,
    }


def unsecured_jwt(sub: str, lifetime_s: float = 3600, **claims) -> str:
    """An unsecured JWS (alg none), as Kafka's OAuthBearerUnsecuredLoginCallbackHandler makes them."""
    import base64
    import json

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    now = time.time()
    return f"{part({'alg': 'none'})}.{part({'sub': sub, 'iat': now, 'exp': now + lifetime_s, **claims})}."


def settings(client: str, protocol: str, pki: Pki, mechanism: str | None = None, user: str = "alice",
             password: str | None = None, cert: tuple[Path, Path] | None = None) -> dict:
    """The client's own settings for a listener of ``protocol``. ``cert``: the client certificate
    and key to present (SSL listeners require one; default the good one)."""
    tls, sasl = protocol in ("SSL", "SASL_SSL"), protocol.startswith("SASL")
    password = USERS.get(user, "") if password is None else password
    if protocol == "SSL" and cert is None:
        cert = (pki.client_cert, pki.client_key)
    if client == "confluent":
        out = {"security.protocol": protocol}
        if tls:
            out["ssl.ca.location"] = str(pki.ca)
            if cert:
                out.update({"ssl.certificate.location": str(cert[0]), "ssl.key.location": str(cert[1])})
        if sasl:
            out["sasl.mechanism"] = mechanism
            if mechanism == "OAUTHBEARER":
                out.update({"enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": f"principal={user}"})
            else:
                out.update({"sasl.username": user, "sasl.password": password})
        return out
    if client == "kcat":
        return {key: str(value).lower() if isinstance(value, bool) else value
                for key, value in settings("confluent", protocol, pki, mechanism, user, password, cert).items()}
    if client in ("kafka-python", "aiokafka"):
        out = {"security_protocol": protocol}
        if tls:
            if client == "kafka-python":
                out["ssl_cafile"] = str(pki.ca)
                if cert:
                    out.update({"ssl_certfile": str(cert[0]), "ssl_keyfile": str(cert[1])})
            else:
                from aiokafka.helpers import create_ssl_context
                out["ssl_context"] = create_ssl_context(cafile=str(pki.ca), certfile=cert and str(cert[0]),
                                                        keyfile=cert and str(cert[1]))
        if sasl:
            out.update({"sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": password})
        return out
    if client == "kafkajs":
        out = {}
        if tls:
            out["ssl"] = {"ca": str(pki.ca), **({"cert": str(cert[0]), "key": str(cert[1])} if cert else {})}
        if sasl:
            out["sasl"] = {"mechanism": mechanism.lower(), "username": user, "password": password}
        return out
    raise ValueError(client)
