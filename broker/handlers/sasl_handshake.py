"""SaslHandshake 0-1: the client names its SASL mechanism (broker/security/sasl.py runs the exchange).

The answer lists the listener's enabled mechanisms; one not enabled is answered
UNSUPPORTED_SASL_MECHANISM and the connection closes. v0 means the mechanism's tokens follow
as raw frames, v1 that they come in SaslAuthenticate requests. On a listener without SASL,
or on a connection already authenticated whose client cannot re-authenticate (it used
SaslAuthenticate v0), the answer is ILLEGAL_SASL_STATE.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import SASL_HANDSHAKE


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"error_code": code, "mechanisms": []}


@handles(SASL_HANDSHAKE, "0-1", error_response=_errors)
def sasl_handshake(ctx, req: dict) -> dict | None:
    session = ctx.connection.sasl
    if session is None:
        return _errors(req, ctx.api_version, ErrorCode.ILLEGAL_SASL_STATE)
    return session.handshake(ctx, req["mechanism"])
