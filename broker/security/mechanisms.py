"""What every SASL mechanism's server side is: bytes from the client in, bytes back, until done.

An exchange is made for one authentication and fed each token the client sends. It
answers the bytes to send back and whether it is done; once done, ``user`` is who
authenticated and ``lifetime_ms`` when the credential expires (epoch ms), if it does.
A failure raises AuthenticationFailed: its message goes to the client (it never holds a
secret, nor tells a wrong password from an unknown user), its reason to the broker's log.
"""

from __future__ import annotations


class AuthenticationFailed(Exception):
    """The client failed to authenticate: ``message`` is for the client, ``reason`` for the log."""

    def __init__(self, message: str, reason: str | None = None, user: str | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or message
        self.user = user


class Exchange:
    """One SASL authentication in progress, on the server's side."""

    mechanism = ""
    user: str | None = None          # known once done (and, for the log, as soon as the client names it)
    lifetime_ms: int | None = None   # when the credential expires (epoch ms); None: it does not

    async def evaluate(self, token: bytes) -> tuple[bytes, bool]:
        """The answer to one client token, and whether authentication is complete."""
        raise NotImplementedError
