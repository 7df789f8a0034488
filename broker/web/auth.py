"""Who may use the HTTP port: the hook the console and admin endpoints pass before any handler.

Without ACLs every request is let through (``Open``), as the Kafka port lets every client
through. Once the broker has users and ACLs, the HTTP port asks the same credentials:
``BasicAuth`` reads HTTP Basic credentials and hands them to a ``verify(user, password)``
callable (the broker's SASL/PLAIN or SCRAM credential store), answering 401 with a
``WWW-Authenticate`` challenge when they are missing or wrong. The principal it returns
rides on the request (``request.principal``) into the Kafka handlers the console calls
(broker/web/calls.py, ``ctx.principal``), where an authorizer can check its ACLs.

``authenticator_for(broker)`` picks one: ``BasicAuth(broker.verify_credentials)`` when the
broker has that method, else ``Open``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Callable, Protocol

from broker.web.httpserver import HttpError, Request

REALM = "kbroker"


class Authenticator(Protocol):
    def authenticate(self, request: Request):
        """The request's principal; HttpError(401) if it must not pass."""


class Open:
    """No credentials asked (no ACLs): the principal is ANONYMOUS, as on a PLAINTEXT Kafka listener."""

    def authenticate(self, request: Request) -> str:
        return "User:ANONYMOUS"


class BasicAuth:
    """HTTP Basic credentials checked by ``verify(user, password) -> bool``."""

    def __init__(self, verify: Callable[[str, str], bool]):
        self._verify = verify

    def authenticate(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        challenge = (("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'),)
        if scheme.lower() != "basic" or not encoded:
            raise HttpError(401, "credentials required", challenge)
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise HttpError(401, "malformed credentials", challenge) from None
        if not sep or not self._verify(user, password):
            raise HttpError(401, "wrong user name or password", challenge)
        return f"User:{user}"


def authenticator_for(broker) -> Authenticator:
    verify = getattr(broker, "verify_credentials", None)
    return BasicAuth(verify) if callable(verify) else Open()
