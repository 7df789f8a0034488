"""SASL/PLAIN (RFC 4616): ``[authzid] NUL user NUL password`` in one token, checked against the
listener's users (its JAAS ``user_<name>`` options and the ``--sasl-users`` file)."""

from __future__ import annotations

import hmac

from broker.security.mechanisms import AuthenticationFailed, Exchange

INVALID = "Authentication failed: Invalid username or password"


class PlainExchange(Exchange):
    mechanism = "PLAIN"

    def __init__(self, users: dict[str, str]):
        self.users = users

    async def evaluate(self, token: bytes) -> tuple[bytes, bool]:
        parts = token.split(b"\0")
        if len(parts) != 3:
            raise AuthenticationFailed(f"Invalid SASL/PLAIN response: expected 3 tokens, got {len(parts)}")
        authzid, user, password = (part.decode("utf-8", "replace") for part in parts)
        self.user = user or None
        if not user:
            raise AuthenticationFailed("Authentication failed: username not specified")
        if not password:
            raise AuthenticationFailed("Authentication failed: password not specified", user=user)
        known = self.users.get(user)
        matches = hmac.compare_digest((known or "").encode(), password.encode())   # constant time
        if known is None or not matches:
            raise AuthenticationFailed(INVALID, "unknown user" if known is None else "wrong password", user)
        if authzid and authzid != user:
            raise AuthenticationFailed("Authentication failed: Client requested an authorization id that is "
                                       "different from username", user=user)
        return b"", True
