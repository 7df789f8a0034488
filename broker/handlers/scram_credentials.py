"""DescribeUserScramCredentials 0 and AlterUserScramCredentials 0: SCRAM users (broker/security/credentials.py).

Describe needs DESCRIBE on the cluster, Alter needs ALTER (else CLUSTER_AUTHORIZATION_FAILED).
Describe names every user with a stored credential when asked for none; an unknown user is
RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE. Alter takes the salted password the
client computed and keeps Kafka's salt, StoredKey, ServerKey and iterations (4096 to 16384,
else UNACCEPTABLE_CREDENTIAL); deleting what does not exist is RESOURCE_NOT_FOUND, a user
altered twice in one request DUPLICATE_RESOURCE. Changes are kept on disk at once.
"""

from broker.registry import handles
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType
from kproto.errors import ErrorCode
from kproto.messages import ALTER_USER_SCRAM_CREDENTIALS, DESCRIBE_USER_SCRAM_CREDENTIALS


def _describe_errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "error_message": None, "results": []}


def _alter_errors(req: dict, api_version: int, code: int) -> dict:
    users = dict.fromkeys([d["name"] for d in req["deletions"]] + [u["name"] for u in req["upsertions"]])
    return {"throttle_time_ms": 0, "results": [{"user": user, "error_code": code, "error_message": None}
                                               for user in users]}


@handles(DESCRIBE_USER_SCRAM_CREDENTIALS, "0", error_response=_describe_errors)
def describe_user_scram_credentials(ctx, req: dict) -> dict:
    if not ctx.authorize(Op.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):
        return _describe_errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    users = None if req["users"] is None else [user["name"] for user in req["users"]]
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None,
            "results": ctx.broker.scram.describe(users)}


@handles(ALTER_USER_SCRAM_CREDENTIALS, "0", error_response=_alter_errors)
def alter_user_scram_credentials(ctx, req: dict) -> dict:
    if not ctx.authorize(Op.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
        return _alter_errors(req, ctx.api_version, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    return {"throttle_time_ms": 0, "results": ctx.broker.scram.alter(req["deletions"], req["upsertions"])}
