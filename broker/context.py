"""What a handler is given beside the request's body: the request's version and ids, the
broker, and who asks, with what they may do (every answer is yes while the authorizer is off)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from broker.errors import AUTHORIZATION_FAILED
from kproto.errors import KafkaError

if TYPE_CHECKING:
    from broker.connection import Connection


class RequestContext:
    """What a handler knows of the request beyond its body, and who asks (``authorize``)."""

    __slots__ = ("broker", "api_version", "correlation_id", "client_id", "client_host", "connection")

    def __init__(self, broker, api_version: int, correlation_id: int, client_id: str | None, client_host: str,
                 connection: "Connection"):
        self.broker = broker
        self.api_version = api_version
        self.correlation_id = correlation_id
        self.client_id = client_id
        self.client_host = client_host
        self.connection = connection

    # -- who asks, and what they may do (every answer is yes while the authorizer is off) -------------

    @property
    def principal(self) -> str:
        return self.connection.principal

    @property
    def listener(self):
        """The listener the request came in on: Metadata and its kin answer with its endpoint."""
        return self.connection.listener

    def authorize(self, operation: int, resource_type: int, name: str) -> bool:
        """May the client do ``operation`` (AclOperation) on the resource (ResourceType, name)?"""
        authorizer = self.broker.authorizer
        return authorizer is None or authorizer.authorize(self.connection.principal, self.client_host,
                                                          operation, resource_type, name)

    def require(self, operation: int, resource_type: int, name: str) -> None:
        """Refuse the whole request (KafkaError: TOPIC_/GROUP_/CLUSTER_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        in the API's error shape) unless the client may do ``operation`` on the resource."""
        if not self.authorize(operation, resource_type, name):
            raise KafkaError(AUTHORIZATION_FAILED[resource_type])

    def authorized(self, operation: int, resource_type: int, names) -> set:
        """Those of ``names`` the client may do ``operation`` on."""
        authorizer = self.broker.authorizer
        if authorizer is None:
            return set(names)
        principal, host = self.connection.principal, self.client_host
        return {name for name in names if authorizer.authorize(principal, host, operation, resource_type, name)}

    def authorize_any(self, operation: int, resource_type: int) -> bool:
        """May the client do ``operation`` on some resource of the type (Kafka's authorizeByResourceType)?"""
        authorizer = self.broker.authorizer
        return authorizer is None or authorizer.authorize_any(self.connection.principal, self.client_host,
                                                              operation, resource_type)

    def authorized_operations(self, resource_type: int, name: str) -> int:
        """The ``*_authorized_operations`` bit set of a resource for this client."""
        authorizer = self.broker.authorizer
        if authorizer is None:
            from broker.security.authorizer import SUPPORTED_OPERATIONS
            return sum(1 << op for op in SUPPORTED_OPERATIONS[resource_type])
        return authorizer.authorized_operations(self.connection.principal, self.client_host, resource_type, name)
