"""Who may use the HTTP port: the hook the console and admin endpoints pass before any handler.

While the Kafka port asks no one who they are (no SASL listener, no authorizer), the HTTP
port asks no credentials either (``Open``, on loopback unless told otherwise), as a
PLAINTEXT Kafka listener lets every client through as ``User:ANONYMOUS``.

Once the broker authenticates or authorizes (a SASL listener, or ``authorizer.class.name``
set: broker/security), the HTTP port asks the same users' credentials: ``BasicAuth`` reads
HTTP Basic credentials and hands them to ``SaslUsers``, which checks them as the Kafka port
would: against the PLAIN users (every SASL listener's JAAS ``user_<name>`` options and the
``--sasl-users`` file) and the SCRAM credentials (AlterUserScramCredentials's, kept salted:
the password is salted and iterated as the credential says and its StoredKey compared).
A request without them, or with wrong ones, is answered 401 with a ``WWW-Authenticate``
challenge, so a browser asks for a user name and password. The principal (``User:<name>``)
rides on the request (``request.principal``); broker/web/access.py checks it against the
ACLs before a page is shown, and the Kafka handlers the console calls check it again
(broker/web/calls.py). ``/health`` and ``/ready`` stay open: they tell nothing but up or not,
and probes seldom carry credentials.

A SCRAM check costs thousands of hash rounds: they run in a worker thread, off the broker's
loop, and a check that passed is remembered (by user and a digest of the password) for as
long as the user's credential is the same object.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import inspect
from typing import Awaitable, Callable, Protocol

import anyio

from broker.web.httpserver import HttpError, Request

log = logging.getLogger("kbroker.http")

REALM = "kbroker"
ANONYMOUS = "User:ANONYMOUS"
OPEN_PATHS = frozenset({"/health", "/ready"})
REMEMBERED_MAX = 1024


class Authenticator(Protocol):
    async def authenticate(self, request: Request):
        """The request's principal; HttpError(401) if it must not pass."""


class Open:
    """No credentials asked: the principal is ANONYMOUS, as on a PLAINTEXT Kafka listener."""

    async def authenticate(self, request: Request) -> str:
        return ANONYMOUS


class BasicAuth:
    """HTTP Basic credentials checked by ``verify(user, password)``: a bool, or an awaitable of one."""

    def __init__(self, verify: Callable[[str, str], bool | Awaitable[bool]]):
        self._verify = verify

    async def authenticate(self, request: Request) -> str:
        if request.path in OPEN_PATHS:
            return ANONYMOUS
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        challenge = (("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'),)
        if scheme.lower() != "basic" or not encoded:
            raise HttpError(401, "credentials required", challenge)
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise HttpError(401, "malformed credentials", challenge) from None
        verified = bool(sep and user) and self._verify(user, password)
        if inspect.isawaitable(verified):
            verified = await verified
        if not verified:
            raise HttpError(401, "wrong user name or password", challenge)
        return f"User:{user}"


class SaslUsers:
    """A user name and password checked against the broker's SASL users: PLAIN's, then SCRAM's."""

    def __init__(self, broker):
        self.broker = broker
        security = broker.security
        self.plain: dict[str, str] = dict(security.file_users)
        for listener in broker.config.listeners():
            if listener.sasl:
                self.plain.update(security.plain_users(listener.name))
        self._remembered: dict[tuple[str, str, bytes], object] = {}   # (mechanism, user, digest) -> credential

    def __call__(self, user: str, password: str) -> bool | Awaitable[bool]:
        """True or False at once (PLAIN, a remembered SCRAM check, an unknown user), else the SCRAM check
        to await: its iterated hashing runs in a worker thread (hashlib lets go of the GIL), not on the loop."""
        known = self.plain.get(user)
        if known is not None and hmac.compare_digest(known.encode(), password.encode()):
            return True
        scram = getattr(self.broker, "scram", None)
        stored = [(mechanism, by_user[user]) for mechanism, by_user in getattr(scram, "stored", {}).items()
                  if user in by_user]
        if not stored:
            return False
        digest = hashlib.sha256(password.encode()).digest()
        if any(self._remembered.get((mechanism, user, digest)) is credential for mechanism, credential in stored):
            return True
        return self._check_scram(user, password, digest, stored)

    async def _check_scram(self, user: str, password: str, digest: bytes, stored: list) -> bool:
        from broker.security.scram import HASHES, credential_from_salted

        for mechanism, credential in stored:
            salted = await anyio.to_thread.run_sync(hashlib.pbkdf2_hmac, HASHES[mechanism], password.encode(),
                                                    credential.salt, credential.iterations)
            made = credential_from_salted(mechanism, credential.salt, salted, credential.iterations)
            if hmac.compare_digest(made.stored_key, credential.stored_key):
                if len(self._remembered) >= REMEMBERED_MAX:
                    self._remembered.clear()
                self._remembered[(mechanism, user, digest)] = credential
                return True
        return False


def asks_credentials(broker) -> bool:
    """Does the Kafka port ask who clients are (a SASL listener) or check what they may do (an authorizer)?"""
    if getattr(broker, "authorizer", None) is not None:
        return True
    listeners = getattr(broker.config, "listeners", None)
    return callable(listeners) and any(getattr(listener, "sasl", False) for listener in listeners())


def authenticator_for(broker) -> Authenticator:
    """``Open`` while the Kafka port asks no credentials, else Basic credentials of the broker's SASL users."""
    if not asks_credentials(broker):
        return Open()
    users = SaslUsers(broker)
    stored = getattr(getattr(broker, "scram", None), "stored", {})
    if not users.plain and not any(stored.values()):
        log.warning("the HTTP port asks credentials (the broker has SASL or ACLs) but the broker knows no "
                    "PLAIN user and no SCRAM credential yet: every request is refused until one exists")
    return BasicAuth(users)
