"""SASL/SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on the server's side.

The broker keeps what Kafka keeps of a password: a salt, an iteration count, and two keys
made from the salted password (StoredKey = H(HMAC(salted, "Client Key")), ServerKey =
HMAC(salted, "Server Key")). Checking a client's proof takes a few HMACs, not the iterated
hashing, so password guessing costs the broker little; the iterated hashing happens only
to make credentials from a password (``--sasl-users``), once per user, off the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Awaitable, Callable, NamedTuple

from broker.security.mechanisms import AuthenticationFailed, Exchange

HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
MIN_ITERATIONS = 4096        # as Kafka's ScramMechanism
MAX_ITERATIONS = 16384       # as Kafka's controller
GENERIC_FAILURE = "Authentication failed during {what} due to invalid credentials with SASL mechanism {mechanism}"


class ScramCredential(NamedTuple):
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int


def credential_from_salted(mechanism: str, salt: bytes, salted_password: bytes, iterations: int) -> ScramCredential:
    """What is kept of a salted password (AlterUserScramCredentials sends the salted password)."""
    name = HASHES[mechanism]
    client_key = hmac.digest(salted_password, b"Client Key", name)
    return ScramCredential(salt, hashlib.new(name, client_key).digest(),
                           hmac.digest(salted_password, b"Server Key", name), iterations)


def credential_from_password(mechanism: str, password: str, iterations: int = MIN_ITERATIONS,
                             salt: bytes | None = None) -> ScramCredential:
    """Salt and iterate a password (slow on purpose: call it off the event loop)."""
    salt = salt if salt is not None else os.urandom(32)
    salted = hashlib.pbkdf2_hmac(HASHES[mechanism], password.encode("utf-8"), salt, iterations)
    return credential_from_salted(mechanism, salt, salted, iterations)


def _attributes(message: str) -> dict[str, str]:
    attributes = {}
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise ValueError(f"not a SCRAM attribute: {part[:40]!r}")
        attributes.setdefault(key, value)
    return attributes


def _saslname(text: str) -> str:
    if "=" in text.replace("=2C", "").replace("=3D", ""):
        raise ValueError("invalid username encoding")
    return text.replace("=2C", ",").replace("=3D", "=")


class ScramExchange(Exchange):
    """client-first -> server-first (nonce, salt, iterations); client-final -> server-final (signature)."""

    def __init__(self, mechanism: str, lookup: Callable[[str, str], Awaitable[ScramCredential | None]],
                 what: str = "authentication"):
        self.mechanism = mechanism
        self.hash = HASHES[mechanism]
        self.lookup = lookup
        self.generic_failure = GENERIC_FAILURE.format(what=what, mechanism=mechanism)
        self.state = self._client_first

    async def evaluate(self, token: bytes) -> tuple[bytes, bool]:
        return await self.state(token)

    def _fail(self, reason: str) -> AuthenticationFailed:
        return AuthenticationFailed(self.generic_failure, reason, self.user)

    async def _client_first(self, token: bytes) -> tuple[bytes, bool]:
        try:
            text = token.decode("utf-8")
            flag, authzid, bare = text.split(",", 2)
            if flag not in ("n", "y") and not flag.startswith("p="):
                raise ValueError("bad channel binding flag")
            if flag.startswith("p="):
                raise ValueError("channel binding is not supported")
            attributes = _attributes(bare)
            user = _saslname(attributes["n"])
            client_nonce = attributes["r"]
            if not client_nonce or "m" in attributes:
                raise ValueError("missing nonce, or a mandatory extension")
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise self._fail(f"invalid client-first message: {exc}") from None
        self.user = user
        if authzid and authzid != f"a={attributes['n']}":
            raise AuthenticationFailed("Authentication failed: Client requested an authorization id that is "
                                       "different from username", user=user)
        if attributes.get("tokenauth") == "true":
            raise self._fail("delegation tokens are not supported")
        credential = await self.lookup(self.mechanism, user)
        if credential is None:
            raise self._fail("unknown user")
        self.credential = credential
        self.nonce = client_nonce + os.urandom(16).hex()   # letters and digits, as Kafka's: some clients mis-parse others
        self.client_first_bare = bare
        self.gs2_header = text[:len(text) - len(bare)]
        self.server_first = f"r={self.nonce},s={base64.b64encode(credential.salt).decode()},i={credential.iterations}"
        self.state = self._client_final
        return self.server_first.encode(), False

    async def _client_final(self, token: bytes) -> tuple[bytes, bool]:
        try:
            text = token.decode("utf-8")
            without_proof, sep, proof_part = text.rpartition(",p=")
            if not sep:
                raise ValueError("no proof")
            attributes = _attributes(without_proof)
            proof = base64.b64decode(proof_part, validate=True)
            binding = base64.b64decode(attributes["c"], validate=True).decode("utf-8")
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise self._fail(f"invalid client-final message: {exc}") from None
        if attributes.get("r") != self.nonce:
            raise self._fail("invalid nonce in the client-final message")
        if binding != self.gs2_header:
            raise self._fail("channel binding does not match the client-first message")
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        credential = self.credential
        signature = hmac.digest(credential.stored_key, auth_message, self.hash)
        if len(proof) != len(signature):
            raise self._fail("wrong password")
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.new(self.hash, client_key).digest(), credential.stored_key):
            raise self._fail("wrong password")
        server_signature = hmac.digest(credential.server_key, auth_message, self.hash)
        self.state = self._done
        return b"v=" + base64.b64encode(server_signature), True

    async def _done(self, token: bytes) -> tuple[bytes, bool]:
        raise self._fail("unexpected token after the exchange completed")
