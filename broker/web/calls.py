"""The console's door into the broker: Kafka requests handed to the same handlers a client reaches.

Creating a topic from the page is a CreateTopics request, changing a config an
IncrementalAlterConfigs, resetting offsets an OffsetCommit: built as kproto request
dicts (each field's default, then what the page gave) and answered by the registered
handler, so the console obeys every rule a Kafka client meets, in the same words. The
caller is the console (client id ``kbroker-console``) from the browser's address, and
carries the principal the HTTP port authenticated (for ACLs, once they exist).
"""

from __future__ import annotations

import inspect

from broker.registry import SERVED
from kproto.errors import ErrorCode, KafkaError

CLIENT_ID = "kbroker-console"


class ConsoleCaller:
    """A handler's ``ctx`` for a request the console makes."""

    __slots__ = ("broker", "api_version", "correlation_id", "client_id", "client_host", "connection", "principal")

    def __init__(self, broker, api_version: int, client_host: str, principal=None):
        self.broker = broker
        self.api_version = api_version
        self.correlation_id = 0
        self.client_id = CLIENT_ID
        self.client_host = client_host
        self.connection = None
        self.principal = principal


def request_for(api_key: int, version: int, **fields) -> dict:
    """A request dict of that API and version: every field's default, then ``fields``."""
    message = SERVED[api_key].message
    body = message.request.default(version)
    body.update(fields)
    return body


def call(broker, api_key: int, version: int, request: dict, *, client_host: str = "", principal=None) -> dict:
    """Answer ``request`` as the connection would (a KafkaError becomes the API's error answer)."""
    served = SERVED[api_key]
    if not served.low <= version <= served.high or served.is_async:
        raise ValueError(f"{served.message.name} v{version} cannot be called from the console")
    ctx = ConsoleCaller(broker, version, client_host, principal)
    try:
        response = served.handler(ctx, request)
    except KafkaError as exc:
        make = served.error_response or (lambda req, v, code: {"error_code": code})
        response = make(request, version, int(exc.code))
    if inspect.isawaitable(response):   # pragma: no cover - async handlers are refused above
        raise ValueError("async handler")
    return response


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)
