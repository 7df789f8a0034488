"""The SASL side of one connection on a SASL_PLAINTEXT or SASL_SSL listener.

States, as Kafka's server authenticator has them:

    HANDSHAKE     ApiVersions and SaslHandshake are served; any other request closes the connection.
    AUTHENTICATE  after SaslHandshake v1: SaslAuthenticate requests carry the mechanism's tokens.
    RAW           after SaslHandshake v0: the next frames are the mechanism's tokens themselves.
    COMPLETE      authenticated: every request is served. With a session lifetime
                  (``connections.max.reauth.ms``, or a token that expires), a request other than
                  SaslHandshake after the session has expired closes the connection; a client
                  that speaks SaslAuthenticate v1+ re-authenticates first (KIP-368): SaslHandshake
                  starts AUTHENTICATE again, and the mechanism and principal may not change.

A failed authentication is answered SASL_AUTHENTICATION_FAILED with a message after
``connection.failed.authentication.delay.ms``, and the connection closes. The broker's log
names the principal and the client's address, never a password or token.
"""

from __future__ import annotations

import logging
import struct
import time

import anyio

from broker.errors import CloseConnection
from broker.security.mechanisms import AuthenticationFailed, Exchange
from broker.security.oauthbearer import OAuthBearerExchange, load_validator
from broker.security.plain import PlainExchange
from broker.security.scram import HASHES, ScramExchange
from kproto.api_keys import ApiKey
from kproto.errors import ErrorCode
from kproto.messages import SASL_AUTHENTICATE, SASL_HANDSHAKE

log = logging.getLogger("kbroker.security")

HANDSHAKE, AUTHENTICATE, RAW, COMPLETE = "HANDSHAKE", "AUTHENTICATE", "RAW", "COMPLETE"
ALLOWED = {
    HANDSHAKE: frozenset({ApiKey.API_VERSIONS, ApiKey.SASL_HANDSHAKE}),
    AUTHENTICATE: frozenset({ApiKey.SASL_AUTHENTICATE}),
}
_api_key = struct.Struct(">h").unpack_from
_size = struct.Struct(">i").pack


class SaslSession:
    """Where one connection is in authenticating, and who it is once it has."""

    def __init__(self, connection):
        self.connection = connection
        self.broker = connection.broker
        self.listener = connection.listener
        self.state = HANDSHAKE
        self.mechanism: str | None = None
        self.exchange: Exchange | None = None
        self.principal: str | None = None        # once authenticated
        self.reauthentication_supported = False  # the client used SaslAuthenticate v1+
        self.reauthenticating = False
        self.bad_mechanism: str | None = None    # re-authentication asked for another mechanism
        self.expires_ns: int | None = None

    @property
    def settings(self):
        return self.broker.security

    # -- the gate: every frame of a connection not (or no longer) authenticated passes here ------------

    def admit(self, frame) -> None:
        """Close the connection (CloseConnection) unless the request may be served in this state."""
        api_key = _api_key(frame)[0] if len(frame) >= 2 else -1
        if self.state == COMPLETE:
            if api_key != ApiKey.SASL_HANDSHAKE and time.monotonic_ns() > self.expires_ns:
                raise CloseConnection(f"the authenticated session of {self.principal} has expired "
                                      "and was not re-authenticated")
            return
        if api_key not in ALLOWED[self.state]:
            name = ApiKey(api_key).name if api_key in ApiKey._value2member_map_ else str(api_key)
            raise CloseConnection(f"unexpected request {name} during SASL "
                                  f"{'handshake' if self.state == HANDSHAKE else 'authentication'}")

    # -- SaslHandshake --------------------------------------------------------------------------------

    def handshake(self, ctx, mechanism: str) -> dict | None:
        """One SaslHandshake request: the answer, or None when a refusal was answered and the
        connection closes."""
        enabled = self.settings.mechanisms(self.listener.name)
        if self.state == COMPLETE:
            if not self.reauthentication_supported:
                return {"error_code": ErrorCode.ILLEGAL_SASL_STATE, "mechanisms": []}
            self.reauthenticating = True
            self.connection.gate(True)
        elif self.state != HANDSHAKE:
            raise CloseConnection("SaslHandshake during SASL authentication")
        if mechanism not in enabled:
            log.info("authentication failed from %s: SASL mechanism %r is not enabled on listener %s",
                     self.connection.peer, mechanism[:100], self.listener.name)
            body = {"error_code": ErrorCode.UNSUPPORTED_SASL_MECHANISM, "mechanisms": enabled}
            self.connection.send_and_close(SASL_HANDSHAKE, ctx.api_version, ctx.correlation_id, body)
            return None
        if self.reauthenticating and mechanism != self.mechanism:
            self.bad_mechanism = (f"SASL mechanism '{mechanism}' requested by client is not supported for "
                                  f"re-authentication of mechanism '{self.mechanism}'")
        self.mechanism = mechanism
        self.exchange = self._exchange(mechanism)
        self.state = AUTHENTICATE if ctx.api_version >= 1 else RAW
        return {"error_code": 0, "mechanisms": enabled}

    def _exchange(self, mechanism: str) -> Exchange:
        settings = self.settings
        listener = self.listener.name
        if mechanism == "PLAIN":
            return PlainExchange(settings.plain_users(listener))
        if mechanism in HASHES:
            return ScramExchange(mechanism, self.broker.scram.lookup,
                                 "re-authentication" if self.reauthenticating else "authentication")
        jaas = settings.jaas(listener, mechanism)
        validator = self.broker.oauth_validators.get(listener)
        if validator is None:
            validator = self.broker.oauth_validators[listener] = load_validator(
                settings.mechanism_value(listener, mechanism, "sasl.server.callback.handler.class"),
                jaas.options if jaas else {})
        return OAuthBearerExchange(validator)

    # -- SaslAuthenticate ----------------------------------------------------------------------------

    async def authenticate(self, ctx, token: bytes) -> dict | None:
        """One SaslAuthenticate request: the answer, or None when a failure was answered and the
        connection closes."""
        if ctx.api_version >= 1:
            self.reauthentication_supported = True
        try:
            if self.bad_mechanism is not None:
                raise AuthenticationFailed(self.bad_mechanism)
            response, done = await self.exchange.evaluate(bytes(token))
            lifetime_ms = self._complete() if done else 0
        except AuthenticationFailed as failure:
            await self._failed(failure)
            body = {"error_code": ErrorCode.SASL_AUTHENTICATION_FAILED, "error_message": failure.message,
                    "auth_bytes": b"", "session_lifetime_ms": 0}
            self.connection.send_and_close(SASL_AUTHENTICATE, ctx.api_version, ctx.correlation_id, body)
            return None
        return {"error_code": 0, "error_message": None, "auth_bytes": response, "session_lifetime_ms": lifetime_ms}

    async def raw_token(self, frame) -> None:
        """After SaslHandshake v0: a frame is a token, and the answer a token, size-prefixed."""
        try:
            response, done = await self.exchange.evaluate(bytes(frame))
            if done:
                self._complete()
        except AuthenticationFailed as failure:
            await self._failed(failure)
            self.connection.close_now()
            return
        if response or not done:
            self.connection.send_raw(_size(len(response)) + response)

    def _complete(self) -> int:
        """Authenticated: the session lifetime (ms, 0: none) and the connection's new principal."""
        exchange = self.exchange
        principal = f"User:{exchange.user}"
        if self.reauthenticating and principal != self.principal:
            old, new = self.principal.replace(":", ".", 1), principal.replace(":", ".", 1)
            raise AuthenticationFailed(f"Cannot change principals during re-authentication from {old}: {new}",
                                       user=exchange.user)
        now_ms = time.time() * 1000
        max_reauth_ms = self.settings.connections_max_reauth_ms(self.listener.name, self.mechanism)
        lifetime_ms = 0
        if exchange.lifetime_ms is not None or max_reauth_ms > 0:
            candidates = [max_reauth_ms] if max_reauth_ms > 0 else []
            if exchange.lifetime_ms is not None:
                candidates.append(exchange.lifetime_ms - now_ms)
            lifetime_ms = max(0, int(min(candidates)))
            self.expires_ns = time.monotonic_ns() + lifetime_ms * 1_000_000
        else:
            self.expires_ns = None
        what = "re-authenticated" if self.reauthenticating else "authenticated"
        log.debug("%s %s as %s with %s", self.connection.peer, what, principal, self.mechanism)
        self.principal = principal
        self.state = COMPLETE
        self.reauthenticating = False
        self.exchange = None
        self.connection.authenticated(principal, self.expires_ns is not None)
        return lifetime_ms

    async def _failed(self, failure: AuthenticationFailed) -> None:
        who = f"User:{failure.user}" if failure.user else "an unnamed user"
        what = "re-authentication" if self.reauthenticating else "authentication"
        log.info("%s failed for %s from %s (%s): %s", what, who, self.connection.peer, self.mechanism,
                 failure.reason)
        delay_ms = self.settings.failed_authentication_delay_ms
        if delay_ms:
            await anyio.sleep(delay_ms / 1000)   # as Kafka: a guesser waits; this connection only
