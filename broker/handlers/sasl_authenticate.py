"""SaslAuthenticate 0-2: one step of the SASL exchange the handshake chose (broker/security/sasl.py).

v1+ answers the session's lifetime (``connections.max.reauth.ms``, or less when the
credential expires sooner; 0: none), after which the client must re-authenticate. A failure
is answered SASL_AUTHENTICATION_FAILED with a message, and the connection closes. On a
listener without SASL, or after authentication, the answer is ILLEGAL_SASL_STATE.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import SASL_AUTHENTICATE


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"error_code": code, "error_message": None, "auth_bytes": b"", "session_lifetime_ms": 0}


@handles(SASL_AUTHENTICATE, "0-2", error_response=_errors)
async def sasl_authenticate(ctx, req: dict) -> dict | None:
    session = ctx.connection.sasl
    if session is None or session.state != "AUTHENTICATE":
        return {"error_code": ErrorCode.ILLEGAL_SASL_STATE, "auth_bytes": b"", "session_lifetime_ms": 0,
                "error_message": "SaslAuthenticate request received after successful authentication"}
    return await session.authenticate(ctx, req["auth_bytes"])
