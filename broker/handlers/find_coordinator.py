"""FindCoordinator 0-6: this broker coordinates every group and transactional id.

v0-3 ask for one key (v0 a group only); v4+ for several keys at once.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import FIND_COORDINATOR
from kproto.constants import AclOperation as Op, ResourceType as Resource
from broker.errors import AUTHORIZATION_FAILED

GROUP, TRANSACTION = 0, 1


def _errors(req: dict, api_version: int, code: int) -> dict:
    if api_version >= 4:
        return {"coordinators": [{"key": key, "node_id": -1, "host": "", "port": -1, "error_code": code}
                                 for key in req["coordinator_keys"]]}
    return {"error_code": code, "node_id": -1, "host": "", "port": -1}


@handles(FIND_COORDINATOR, "0-6", error_response=_errors)
def find_coordinator(ctx, req: dict) -> dict:
    host, port = ctx.listener.advertised
    node_id = ctx.broker.node_id
    key_type = req["key_type"]
    if key_type not in (GROUP, TRANSACTION):
        return _errors(req, ctx.api_version, ErrorCode.INVALID_REQUEST)
    resource = Resource.GROUP if key_type == GROUP else Resource.TRANSACTIONAL_ID
    if ctx.api_version >= 4:
        return {"coordinators": [
            {"key": key, "node_id": node_id, "host": host, "port": port, "error_code": 0, "error_message": None}
            if ctx.authorize(Op.DESCRIBE, resource, key) else
            {"key": key, "node_id": -1, "host": "", "port": -1, "error_code": AUTHORIZATION_FAILED[resource],
             "error_message": None}
            for key in req["coordinator_keys"]]}
    ctx.require(Op.DESCRIBE, resource, req["key"])
    return {"error_code": 0, "error_message": None, "node_id": node_id, "host": host, "port": port}
