"""Who sent a request, as a coordinator sees it.

A coordinator's door takes ``(ctx, request)``; ``ctx`` is anything with these three
attributes. The connection's ``RequestContext`` is one, so a handler passes its own
``ctx`` on; a test can pass a plain namespace.
"""

from __future__ import annotations

from typing import Protocol


class Caller(Protocol):
    client_id: str | None   # the request header's client id
    client_host: str        # the peer's address, e.g. "127.0.0.1"
    api_version: int        # the version the request was sent at
