"""DescribeAcls, CreateAcls and DeleteAcls: the authorizer's access control entries."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int8, String

DESCRIBE_ACLS = Message(
    ApiKey.DESCRIBE_ACLS, "DescribeAcls", versions="0-3", flexible="2+",
    request=[
        field("resource_type_filter", Int8),
        field("resource_name_filter", String, nullable="0+"),
        field("pattern_type_filter", Int8, "1+", default=3),
        field("principal_filter", String, nullable="0+"),
        field("host_filter", String, nullable="0+"),
        field("operation", Int8),
        field("permission_type", Int8),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+"),
        field("resources", Array([
            field("resource_type", Int8),
            field("resource_name", String),
            field("pattern_type", Int8, "1+", default=3),
            field("acls", Array([
                field("principal", String),
                field("host", String),
                field("operation", Int8),
                field("permission_type", Int8),
            ])),
        ])),
    ],
)

CREATE_ACLS = Message(
    ApiKey.CREATE_ACLS, "CreateAcls", versions="0-3", flexible="2+",
    request=[
        field("creations", Array([
            field("resource_type", Int8),
            field("resource_name", String),
            field("resource_pattern_type", Int8, "1+", default=3),
            field("principal", String),
            field("host", String),
            field("operation", Int8),
            field("permission_type", Int8),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("results", Array([
            field("error_code", Int16),
            field("error_message", String, nullable="0+"),
        ])),
    ],
)

DELETE_ACLS = Message(
    ApiKey.DELETE_ACLS, "DeleteAcls", versions="0-3", flexible="2+",
    request=[
        field("filters", Array([
            field("resource_type_filter", Int8),
            field("resource_name_filter", String, nullable="0+"),
            field("pattern_type_filter", Int8, "1+", default=3),
            field("principal_filter", String, nullable="0+"),
            field("host_filter", String, nullable="0+"),
            field("operation", Int8),
            field("permission_type", Int8),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("filter_results", Array([
            field("error_code", Int16),
            field("error_message", String, nullable="0+"),
            field("matching_acls", Array([
                field("error_code", Int16),
                field("error_message", String, nullable="0+"),
                field("resource_type", Int8),
                field("resource_name", String),
                field("pattern_type", Int8, "1+", default=3),
                field("principal", String),
                field("host", String),
                field("operation", Int8),
                field("permission_type", Int8),
            ])),
        ])),
    ],
)
