"""SASL/OAUTHBEARER (RFC 7628) with Kafka's unsecured JWS validator, or a validator of your own.

The client's one message is ``n,[a=authzid],^Aauth=Bearer <token>^A[key=value^A]...^A``.
The token is checked by the listener's validator:

- By default Kafka's unsecured validator (for development: it checks no signature). The
  token is an unsecured JWS, ``base64url(header).base64url(claims).`` with ``"alg": "none"``;
  its principal claim (``sub``; JAAS option ``unsecuredValidatorPrincipalClaimName``) names
  the user, ``exp`` (seconds) is required and must not have passed, ``iat`` must not be in
  the future (both give ``unsecuredValidatorAllowableClockSkewMs`` of slack), and the scope
  claim (``scope``; ``unsecuredValidatorScopeClaimName``) must hold every scope of
  ``unsecuredValidatorRequiredScope``.
- A validator of your own: ``listener.name.<listener>.oauthbearer.sasl.server.callback.handler.class``
  (or ``sasl.server.callback.handler.class``) names a Python callable as ``package.module:function``.
  It is called with the token (a str) and returns ``(principal_name, expires_at_ms)``
  (``expires_at_ms`` may be None), or raises to refuse the token; it may be ``async``.

A refused token is answered as Kafka answers it: a JSON error (``{"status":"invalid_token"}``)
as the server's challenge; the client acknowledges it with one ^A byte, and the exchange
fails with that JSON as the message.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import re
import time
from typing import Any, Callable

from broker.security.mechanisms import AuthenticationFailed, Exchange

KAFKA_UNSECURED = "org.apache.kafka.common.security.oauthbearer.internals.unsecured." \
                  "OAuthBearerUnsecuredValidatorCallbackHandler"
_MESSAGE = re.compile(r"n,(?:a=(?P<authzid>[^,]*))?,\x01(?P<pairs>(?:[A-Za-z]+=[\x21-\x7E \t\r\n]*\x01)*)\x01")
_BEARER = re.compile(r"Bearer +(?P<token>[A-Za-z0-9\-._~+/]+=*)")

Validator = Callable[[str], Any]


class InvalidToken(Exception):
    """The token was refused: ``status`` (and ``scope``) go to the client in the JSON error."""

    def __init__(self, reason: str, status: str = "invalid_token", scope: str | None = None):
        super().__init__(reason)
        self.status = status
        self.scope = scope


def _b64url_json(part: str) -> dict:
    data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


class UnsecuredValidator:
    """Kafka's OAuthBearerUnsecuredValidatorCallbackHandler, with its JAAS options."""

    def __init__(self, options: dict[str, str]):
        self.principal_claim = options.get("unsecuredValidatorPrincipalClaimName", "sub")
        self.scope_claim = options.get("unsecuredValidatorScopeClaimName", "scope")
        self.required_scope = [s for s in re.split(r"[\s,]+", options.get("unsecuredValidatorRequiredScope", "")) if s]
        try:
            self.clock_skew_ms = int(options.get("unsecuredValidatorAllowableClockSkewMs", "0"))
        except ValueError:
            raise ValueError("unsecuredValidatorAllowableClockSkewMs must be a number") from None

    def __call__(self, token: str) -> tuple[str, int | None]:
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("an unsecured JWS has three parts separated by '.'")
        try:
            header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
        except ValueError as exc:
            raise InvalidToken(f"token parts are not base64url JSON: {exc}") from None
        if parts[2]:
            raise InvalidToken("an unsecured JWS has an empty signature")
        if header.get("alg") != "none":
            raise InvalidToken("an unsecured JWS has the 'none' algorithm")
        principal = claims.get(self.principal_claim)
        if not isinstance(principal, str) or not principal.strip():
            raise InvalidToken(f"no principal claim {self.principal_claim!r}")
        now_ms = time.time() * 1000
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            raise InvalidToken("no expiration time claim 'exp'")
        if iat is not None and (not isinstance(iat, (int, float)) or isinstance(iat, bool)):
            raise InvalidToken("the 'iat' claim is not a number")
        if exp * 1000 <= now_ms - self.clock_skew_ms:
            raise InvalidToken("the token has expired")
        if iat is not None and iat * 1000 > now_ms + self.clock_skew_ms:
            raise InvalidToken("the token was issued in the future")
        if self.required_scope:
            scope = claims.get(self.scope_claim)
            held = set(scope.split() if isinstance(scope, str) else scope if isinstance(scope, list) else [])
            missing = [s for s in self.required_scope if s not in held]
            if missing:
                raise InvalidToken(f"required scope missing: {missing}", "insufficient_scope",
                                   " ".join(self.required_scope))
        return principal, int(exp * 1000)


def load_validator(class_name: str | None, options: dict[str, str]) -> Validator:
    """The validator a listener's settings name: Kafka's unsecured one, or a Python callable."""
    if not class_name or class_name.strip() == KAFKA_UNSECURED:
        return UnsecuredValidator(options)
    name = class_name.strip()
    if name.startswith("org.apache.kafka.") or ":" not in name:
        raise ValueError(f"sasl.server.callback.handler.class={name}: kbroker takes a Python callable "
                         "as package.module:function (Java classes cannot be loaded)")
    module_name, _, attribute = name.partition(":")
    try:
        target = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"sasl.server.callback.handler.class={name}: {exc}") from None
    if not callable(target):
        raise ValueError(f"sasl.server.callback.handler.class={name} is not callable")
    return target


class OAuthBearerExchange(Exchange):
    mechanism = "OAUTHBEARER"

    def __init__(self, validator: Validator):
        self.validator = validator
        self.error_json: str | None = None

    async def evaluate(self, token: bytes) -> tuple[bytes, bool]:
        if self.error_json is not None:   # the client's ^A after our error: now it fails, with that error
            raise AuthenticationFailed(self.error_json, self.reason, self.user)
        match = _MESSAGE.fullmatch(token.decode("utf-8", "replace"))
        pairs = dict(pair.split("=", 1) for pair in match.group("pairs").split("\x01") if pair) if match else {}
        bearer = _BEARER.fullmatch(pairs.get("auth", ""))
        if bearer is None:
            raise AuthenticationFailed("Invalid OAUTHBEARER client first message")
        try:
            result = self.validator(bearer.group("token"))
            if inspect.isawaitable(result):
                result = await result
            user, lifetime_ms = result
        except InvalidToken as exc:
            return self._refuse(exc.status, exc.scope, str(exc))
        except Exception as exc:   # a validator of the user's own refused it (or failed)
            return self._refuse("invalid_token", None, f"the validator raised {type(exc).__name__}")
        self.user = user
        authzid = match.group("authzid")
        if authzid and authzid != user:
            raise AuthenticationFailed("Authentication failed: Client requested an authorization id that is "
                                       "different from username", user=user)
        self.lifetime_ms = lifetime_ms
        return b"", True

    def _refuse(self, status: str, scope: str | None, reason: str) -> tuple[bytes, bool]:
        error = {"status": status}
        if scope:
            error["scope"] = scope
        self.error_json = json.dumps(error, separators=(",", ":"))
        self.reason = f"token refused: {reason}"
        return self.error_json.encode(), False
