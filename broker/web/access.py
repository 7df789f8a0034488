"""What the authenticated principal may see and do on the HTTP port, asked of the broker's
authorizer (``broker.authorizer``, broker/security) as a Kafka request would ask it.

Without an authorizer every principal may do everything, as on the Kafka port. With one,
each page needs what the Kafka request that shows the same thing needs:

- the topic list and group list show only what the principal may DESCRIBE (Metadata,
  ListGroups); a topic's page needs DESCRIBE on it (its configs DESCRIBE_CONFIGS), its
  messages READ (Fetch), a group's page DESCRIBE on the group (DescribeGroups);
- the overview, ``/metrics`` and the clients' telemetry span the whole broker: DESCRIBE on
  the CLUSTER (DescribeCluster);
- the admin endpoints (faults, the request log, pausing the listener) change the broker for
  every client: ALTER on the CLUSTER;
- changes (create, delete, alter, produce, reset) are checked by the Kafka handlers
  themselves, with the principal (broker/web/calls.py); a refusal there is a 403 too.

A refusal is 403 with the error Kafka would answer (TOPIC_AUTHORIZATION_FAILED, ...).
"""

from __future__ import annotations

from kproto.constants import AclOperation

from broker.web.calls import AUTHORIZATION_FAILED
from broker.web.httpserver import HttpError, Request

TOPIC, GROUP, CLUSTER = 2, 3, 4          # Kafka's ResourceType codes
CLUSTER_NAME = "kafka-cluster"           # the one CLUSTER resource, as Kafka names it
READ, ALTER, DESCRIBE, DESCRIBE_CONFIGS = (AclOperation.READ, AclOperation.ALTER, AclOperation.DESCRIBE,
                                           AclOperation.DESCRIBE_CONFIGS)


class Access:
    def __init__(self, broker):
        self.broker = broker

    def allowed(self, request: Request, operation: int, resource_type: int, name: str) -> bool:
        authorizer = getattr(self.broker, "authorizer", None)
        return authorizer is None or authorizer.authorize(request.principal, request.peer, operation,
                                                          resource_type, name)

    def require(self, request: Request, operation: int, resource_type: int, name: str = CLUSTER_NAME) -> None:
        if not self.allowed(request, operation, resource_type, name):
            raise HttpError(403, f"{AUTHORIZATION_FAILED[resource_type].name}: {request.principal} may not "
                                 f"{AclOperation(operation).name} {name}")

    def visible(self, request: Request, rows: list[dict], key: str, resource_type: int) -> list[dict]:
        """The rows whose ``key`` names a resource the principal may DESCRIBE."""
        if getattr(self.broker, "authorizer", None) is None:
            return rows
        return [row for row in rows if self.allowed(request, DESCRIBE, resource_type, row[key])]
