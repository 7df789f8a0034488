"""One module per API; importing this package registers every handler."""

from broker.handlers import (  # noqa: F401
    api_versions,
    create_topics,
    delete_topics,
    fetch,
    find_coordinator,
    init_producer_id,
    list_offsets,
    metadata,
    produce,
)
