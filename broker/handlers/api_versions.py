"""ApiVersions 0-4: the APIs and versions we serve, read from the handler registry.

A request at a version above ours is answered in v0 with UNSUPPORTED_VERSION by the
connection before it gets here. v3+ clients name their software; Kafka refuses names
outside its pattern with INVALID_REQUEST, and so do we.
"""

import re

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import API_VERSIONS

_SOFTWARE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")


@handles(API_VERSIONS, "0-4")
def api_versions(ctx, req: dict) -> dict:
    if ctx.api_version >= 3 and not (_SOFTWARE.fullmatch(req["client_software_name"])
                                     and _SOFTWARE.fullmatch(req["client_software_version"])):
        return {"error_code": ErrorCode.INVALID_REQUEST, "api_keys": []}
    return {"error_code": 0, "api_keys": ctx.broker.api_versions(), "throttle_time_ms": 0}
