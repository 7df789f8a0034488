"""ApiVersions: which APIs and versions the broker serves."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, String

API_VERSIONS = Message(
    ApiKey.API_VERSIONS, "ApiVersions", versions="0-4", flexible="3+",
    response_header=0,  # always v0: a client reads it before it knows our versions
    request=[
        field("client_software_name", String, "3+"),
        field("client_software_version", String, "3+"),
    ],
    response=[
        field("error_code", Int16),
        field("api_keys", Array([
            field("api_key", Int16),
            field("min_version", Int16),
            field("max_version", Int16),
        ])),
        field("throttle_time_ms", Int32, "1+"),
        field("supported_features", Array([
            field("name", String, "3+"),
            field("min_version", Int16, "3+"),
            field("max_version", Int16, "3+"),
        ]), "3+", tag=0),
        field("finalized_features_epoch", Int64, "3+", tag=1, default=-1),
        field("finalized_features", Array([
            field("name", String, "3+"),
            field("max_version_level", Int16, "3+"),
            field("min_version_level", Int16, "3+"),
        ]), "3+", tag=2),
        field("zk_migration_ready", Bool, "3+", tag=3),
    ],
)
