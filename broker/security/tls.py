"""An ``ssl.SSLContext`` for a TLS listener, from Kafka's PEM keystore and truststore keys.

The broker's key and certificate chain come from (first found):

- ``--tls-cert FILE`` and ``--tls-key FILE``;
- ``ssl.keystore.location``: one PEM file holding the private key and the certificate chain
  (``ssl.keystore.type=PEM``; ``ssl.key.password`` if the key is encrypted);
- ``ssl.keystore.certificate.chain`` and ``ssl.keystore.key``: the PEM text itself.

The certificates that client certificates must chain to come from ``ssl.truststore.location``
(a PEM file) or ``ssl.truststore.certificates`` (PEM text), else the system's.
``ssl.client.auth``: ``none`` (no client certificate asked), ``requested`` (asked; a
connection without one is ``User:ANONYMOUS``), ``required``. ``ssl.enabled.protocols``
bounds the TLS versions (TLSv1.2 and TLSv1.3 by default). Each key may be given per
listener (``listener.name.<name>.ssl.keystore.location``). Java keystores (JKS, PKCS12)
are not read: convert them to PEM.
"""

from __future__ import annotations

import os
import ssl
import tempfile

from broker.security.settings import SecuritySettings

PROTOCOL_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
CLIENT_AUTH_MODES = {"none": ssl.CERT_NONE, "requested": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def server_context(settings: SecuritySettings, listener_name: str) -> ssl.SSLContext:
    """The TLS context of one listener; ValueError naming the key when the settings are wrong,
    ssl.SSLError/OSError when a key or certificate cannot be read."""
    value = lambda key: settings.value(listener_name, key)   # noqa: E731
    for kind in ("keystore", "truststore"):
        store_type = (value(f"ssl.{kind}.type") or "PEM").strip().upper()
        if store_type != "PEM" and (value(f"ssl.{kind}.location") or kind == "keystore"
                                    and settings.config.tls_cert_file is None):
            raise ValueError(f"ssl.{kind}.type={store_type} is not supported: kbroker reads PEM files "
                             f"(set ssl.{kind}.type=PEM and convert the store to PEM)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = [v.strip() for v in (value("ssl.enabled.protocols") or "TLSv1.2,TLSv1.3").split(",") if v.strip()]
    unknown = [v for v in versions if v not in PROTOCOL_VERSIONS]
    if unknown or not versions:
        raise ValueError(f"ssl.enabled.protocols: {', '.join(unknown) or 'none'} not supported "
                         f"(choose from {', '.join(PROTOCOL_VERSIONS)})")
    context.minimum_version = min(PROTOCOL_VERSIONS[v] for v in versions)
    context.maximum_version = max(PROTOCOL_VERSIONS[v] for v in versions)
    password = value("ssl.key.password")
    config = settings.config
    if config.tls_cert_file is not None:
        context.load_cert_chain(str(config.tls_cert_file), str(config.tls_key_file or config.tls_cert_file),
                                password=password)
    elif value("ssl.keystore.location"):
        context.load_cert_chain(value("ssl.keystore.location"), password=password)
    elif value("ssl.keystore.certificate.chain") and value("ssl.keystore.key"):
        _load_pem_text(context, value("ssl.keystore.certificate.chain"), value("ssl.keystore.key"), password)
    else:
        raise ValueError(f"listener {listener_name} is TLS but has no key: set ssl.keystore.location "
                         "(or ssl.keystore.certificate.chain and ssl.keystore.key, or --tls-cert and --tls-key)")
    context.verify_mode = CLIENT_AUTH_MODES[settings.client_auth(listener_name)]
    if context.verify_mode != ssl.CERT_NONE:
        if value("ssl.truststore.location"):
            context.load_verify_locations(cafile=value("ssl.truststore.location"))
        elif value("ssl.truststore.certificates"):
            context.load_verify_locations(cadata=_pem(value("ssl.truststore.certificates")))
        else:
            context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    return context


def _pem(text: str) -> str:
    """PEM text from a properties value, whose line breaks may have been written as spaces."""
    if "\n" in text.strip():
        return text
    out = []
    for block in text.split("-----END ")[:-1]:
        head, _, body = block.partition("-----BEGIN ")[2].partition("-----")
        out.append(f"-----BEGIN {head}-----\n" + "\n".join(body.split()) + f"\n-----END {head}-----\n")
    return "".join(out) or text


def _load_pem_text(context: ssl.SSLContext, chain: str, key: str, password: str | None) -> None:
    """``load_cert_chain`` reads files only: the PEM text goes through files in a private
    directory, removed at once."""
    with tempfile.TemporaryDirectory(prefix="kbroker-tls-") as folder:
        os.chmod(folder, 0o700)
        cert_path, key_path = os.path.join(folder, "chain.pem"), os.path.join(folder, "key.pem")
        for path, text in ((cert_path, chain), (key_path, key)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(_pem(text))
        context.load_cert_chain(cert_path, key_path, password=password)
