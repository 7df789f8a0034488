"""DescribeUserScramCredentials and AlterUserScramCredentials: the SCRAM users the broker knows."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bytes, Int16, Int32, Int8, String

DESCRIBE_USER_SCRAM_CREDENTIALS = Message(
    ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, "DescribeUserScramCredentials", versions="0", flexible="0+",
    request=[
        field("users", Array([
            field("name", String),
        ]), nullable="0+"),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+"),
        field("results", Array([
            field("user", String),
            field("error_code", Int16),
            field("error_message", String, nullable="0+"),
            field("credential_infos", Array([
                field("mechanism", Int8),
                field("iterations", Int32),
            ])),
        ])),
    ],
)

ALTER_USER_SCRAM_CREDENTIALS = Message(
    ApiKey.ALTER_USER_SCRAM_CREDENTIALS, "AlterUserScramCredentials", versions="0", flexible="0+",
    request=[
        field("deletions", Array([
            field("name", String),
            field("mechanism", Int8),
        ])),
        field("upsertions", Array([
            field("name", String),
            field("mechanism", Int8),
            field("iterations", Int32),
            field("salt", Bytes),
            field("salted_password", Bytes),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("results", Array([
            field("user", String),
            field("error_code", Int16),
            field("error_message", String, nullable="0+"),
        ])),
    ],
)
