"""One module per API; importing this package registers every handler."""

from broker.handlers import (  # noqa: F401
    api_versions,
    create_topics,
    delete_groups,
    delete_records,
    delete_topics,
    describe_groups,
    fetch,
    find_coordinator,
    heartbeat,
    init_producer_id,
    join_group,
    leave_group,
    list_groups,
    list_offsets,
    metadata,
    offset_commit,
    offset_delete,
    offset_fetch,
    produce,
    sync_group,
)
