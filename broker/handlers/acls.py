"""CreateAcls, DescribeAcls and DeleteAcls 0-3: the authorizer's bindings (broker/security/acls.py).

DescribeAcls needs DESCRIBE on the cluster, the other two ALTER (else
CLUSTER_AUTHORIZATION_FAILED in each one's shape). Without an authorizer each answers
SECURITY_DISABLED, as Kafka does. A binding CreateAcls cannot create (an UNKNOWN or ANY
part, a CLUSTER resource not named kafka-cluster, an empty name, a principal that is not
``Type:name``) gets INVALID_REQUEST with Kafka's message; creating one that exists
succeeds. A filter with an UNKNOWN part gets INVALID_REQUEST. Changes are kept on disk at once.
"""

from broker.registry import handles
from broker.security.acls import AclBinding, AclFilter, invalid_binding
from kproto.constants import AclOperation as Op, ResourceType
from kproto.constants import CLUSTER_NAME
from kproto.errors import ErrorCode
from kproto.messages import CREATE_ACLS, DELETE_ACLS, DESCRIBE_ACLS

DISABLED = "No Authorizer is configured on the broker"


def _describe_errors(req: dict, api_version: int, code: int, message: str | None = None) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "error_message": message, "resources": []}


def _create_errors(req: dict, api_version: int, code: int, message: str | None = None) -> dict:
    return {"throttle_time_ms": 0, "results": [{"error_code": code, "error_message": message}
                                               for _ in req["creations"]]}


def _delete_errors(req: dict, api_version: int, code: int, message: str | None = None) -> dict:
    return {"throttle_time_ms": 0, "filter_results": [
        {"error_code": code, "error_message": message, "matching_acls": []} for _ in req["filters"]]}


def _filter(fields: dict) -> AclFilter:
    return AclFilter(fields["resource_type_filter"], fields["resource_name_filter"], fields["pattern_type_filter"],
                     fields["principal_filter"], fields["host_filter"], fields["operation"],
                     fields["permission_type"])


@handles(DESCRIBE_ACLS, "0-3", error_response=_describe_errors)
def describe_acls(ctx, req: dict) -> dict:
    if not ctx.authorize(Op.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):
        return _describe_errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    authorizer = ctx.broker.authorizer
    if authorizer is None:
        return _describe_errors(req, ctx.api_version, ErrorCode.SECURITY_DISABLED, DISABLED)
    acl_filter = _filter(req)
    refused = acl_filter.unknown()
    if refused:
        return _describe_errors(req, ctx.api_version, ErrorCode.INVALID_REQUEST, refused)
    resources: dict[tuple, list] = {}
    for binding in authorizer.describe(acl_filter):
        key = (binding.resource_type, binding.resource_name, binding.pattern_type)
        resources.setdefault(key, []).append({"principal": binding.principal, "host": binding.host,
                                              "operation": binding.operation,
                                              "permission_type": binding.permission_type})
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "resources": [
        {"resource_type": rtype, "resource_name": name, "pattern_type": pattern, "acls": acls}
        for (rtype, name, pattern), acls in resources.items()]}


@handles(CREATE_ACLS, "0-3", error_response=_create_errors)
def create_acls(ctx, req: dict) -> dict:
    if not ctx.authorize(Op.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
        return _create_errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    authorizer = ctx.broker.authorizer
    if authorizer is None:
        return _create_errors(req, ctx.api_version, ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.")
    results, valid = [], []
    for c in req["creations"]:
        binding = AclBinding(c["resource_type"], c["resource_name"], c["resource_pattern_type"], c["principal"],
                             c["host"], c["operation"], c["permission_type"])
        refused = invalid_binding(binding)
        if refused:
            results.append({"error_code": ErrorCode.INVALID_REQUEST, "error_message": refused})
        else:
            valid.append(binding)
            results.append({"error_code": 0, "error_message": None})
    if valid:
        authorizer.create(valid)
    return {"throttle_time_ms": 0, "results": results}


@handles(DELETE_ACLS, "0-3", error_response=_delete_errors)
def delete_acls(ctx, req: dict) -> dict:
    if not ctx.authorize(Op.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
        return _delete_errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    authorizer = ctx.broker.authorizer
    if authorizer is None:
        return _delete_errors(req, ctx.api_version, ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.")
    filters = [_filter(f) for f in req["filters"]]
    valid = [f for f in filters if f.unknown() is None]
    matched = iter(authorizer.delete(valid))
    results = []
    for acl_filter in filters:
        refused = acl_filter.unknown()
        if refused:
            results.append({"error_code": ErrorCode.INVALID_REQUEST, "error_message": refused, "matching_acls": []})
            continue
        results.append({"error_code": 0, "error_message": None, "matching_acls": [
            {"error_code": 0, "error_message": None, "resource_type": b.resource_type,
             "resource_name": b.resource_name, "pattern_type": b.pattern_type, "principal": b.principal,
             "host": b.host, "operation": b.operation, "permission_type": b.permission_type}
            for b in next(matched)]})
    return {"throttle_time_ms": 0, "filter_results": results}
