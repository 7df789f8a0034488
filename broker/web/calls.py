"""The console's door into the broker: Kafka requests handed to the same handlers a client reaches.

Creating a topic from the page is a CreateTopics request, changing a config an
IncrementalAlterConfigs, resetting offsets an OffsetCommit: built as kproto request
dicts (each field's default, then what the page gave) and answered by the registered
handler, so the console obeys every rule a Kafka client meets, in the same words. The
caller is the console (client id ``kbroker-console``) from the browser's address.

A change the page asks for (create, delete, alter, produce, reset) carries the principal the
HTTP port authenticated, and the handler checks that principal's ACLs as it checks a
client's (``ctx.authorize``/``require``, through ``broker.authorizer`` when the broker has
one). A read the console makes for itself carries no principal (None) and is allowed: what
the page may show is checked before, by broker/web/access.py.
"""

from __future__ import annotations

import inspect

from broker.registry import SERVED
from kproto.constants import AclOperation
from kproto.errors import ErrorCode, KafkaError

# Kafka's ResourceType codes (TOPIC 2, GROUP 3, CLUSTER 4, TRANSACTIONAL_ID 5) and the error each refusal answers
AUTHORIZATION_FAILED = {2: ErrorCode.TOPIC_AUTHORIZATION_FAILED, 3: ErrorCode.GROUP_AUTHORIZATION_FAILED,
                        4: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 5: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED}

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

    # -- the authorizer's questions, as a connection's RequestContext answers them -----------------

    def _authorizer(self):
        return None if self.principal is None else getattr(self.broker, "authorizer", None)

    def authorize(self, operation: int, resource_type: int, name: str) -> bool:
        authorizer = self._authorizer()
        return authorizer is None or authorizer.authorize(self.principal, self.client_host, operation,
                                                          resource_type, name)

    def require(self, operation: int, resource_type: int, name: str) -> None:
        if not self.authorize(operation, resource_type, name):
            raise KafkaError(AUTHORIZATION_FAILED[resource_type])

    def authorized(self, operation: int, resource_type: int, names) -> set:
        return {name for name in names if self.authorize(operation, resource_type, name)}

    def authorize_any(self, operation: int, resource_type: int) -> bool:
        authorizer = self._authorizer()
        return authorizer is None or authorizer.authorize_any(self.principal, self.client_host, operation,
                                                              resource_type)

    def authorized_operations(self, resource_type: int, name: str) -> int:
        authorizer = self._authorizer()
        if authorizer is None:
            return sum(1 << op for op in AclOperation if op > AclOperation.ALL)
        return authorizer.authorized_operations(self.principal, self.client_host, resource_type, name)


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


def http_status(code: int, otherwise: int) -> int:
    """403 for a refusal by the ACLs (TOPIC_/GROUP_/CLUSTER_/..._AUTHORIZATION_FAILED), else ``otherwise``."""
    return 403 if code in AUTHORIZATION_FAILED.values() else otherwise


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)
