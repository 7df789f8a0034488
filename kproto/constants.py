"""Values with a meaning of their own in Kafka's messages, by Kafka's names.

The field tables say where a value goes; these say what some values mean, once,
for the declarations and the handlers alike.
"""

from __future__ import annotations

from enum import IntEnum


class IsolationLevel(IntEnum):
    """Fetch and ListOffsets ``isolation_level``: may a consumer see records of open transactions."""

    READ_UNCOMMITTED = 0
    READ_COMMITTED = 1


# ListOffsets: a partition's ``timestamp`` below 0 names a position, not a time.
LATEST_TIMESTAMP = -1          # the high watermark (the last stable offset for read_committed)
EARLIEST_TIMESTAMP = -2        # the log start offset
MAX_TIMESTAMP = -3             # the record with the largest timestamp (v7+)
EARLIEST_LOCAL_TIMESTAMP = -4  # the first offset kept on local disk (v8+)
LATEST_TIERED_TIMESTAMP = -5   # the last offset in tiered storage (v9+)


class AclOperation(IntEnum):
    """An operation on a resource; the ``*_authorized_operations`` fields are bit sets of these."""

    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14
    TWO_PHASE_COMMIT = 15


def authorized_operations(*operations: AclOperation) -> int:
    """The bit set of ``operations``, as the ``*_authorized_operations`` fields carry it."""
    return sum(1 << op for op in set(operations))


# In Metadata and DescribeGroups: the client did not ask for authorized operations (Integer.MIN_VALUE).
AUTHORIZED_OPERATIONS_OMITTED = -2147483648


class ResourceType(IntEnum):
    """What an ACL is about (CreateAcls, DescribeAcls, DeleteAcls)."""

    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    """How an ACL's resource name matches: exactly (LITERAL, or ``*`` for all) or as a prefix (PREFIXED).
    ANY and MATCH are for filters only: any pattern type, or every pattern that matches a name."""

    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclPermissionType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


class ScramMechanism(IntEnum):
    """DescribeUserScramCredentials and AlterUserScramCredentials name mechanisms by these numbers."""

    UNKNOWN = 0
    SCRAM_SHA_256 = 1
    SCRAM_SHA_512 = 2


# The name of the one CLUSTER resource.
CLUSTER_NAME = "kafka-cluster"
