"""Old change notifications go: each broker deletes those older than 15 minutes, as Kafka's
ZkNodeChangeNotificationListener does for config and ACL changes.

Every broker processed them long ago, and one that was away reads everything it keeps when it
comes back (configs.ConfigChanges, acls.AclChanges), so nothing is lost with them; without
this, ``/config/changes`` and ``/kafka-acl-changes`` would grow by one znode per change forever.
"""

from __future__ import annotations

import logging

import anyio

from broker.cluster import znodes as zn
from broker.cluster.coord import Coordination, CoordinationError

log = logging.getLogger("kbroker.cluster")


class NotificationExpiry:
    """Deletes change notifications older than Kafka's 15 minutes, at most once a minute: every
    broker has long processed them, and one that was away reads everything when it comes back."""

    EVERY_S = 60.0

    def __init__(self, coord: Coordination, prefix: str, *directories: str):
        self.coord = coord
        self.prefix = prefix
        self.directories = directories
        self._next = 0.0

    async def maybe_expire(self) -> None:
        now = anyio.current_time()
        if now < self._next:
            return
        self._next = now + self.EVERY_S
        for directory in self.directories:
            try:
                expired = await self.coord.expire_notifications(directory, self.prefix, zn.NOTIFICATION_EXPIRY_MS)
            except CoordinationError as exc:
                log.info("expiring old notifications in %s: %s", directory, exc)
                return
            if expired:
                log.debug("expired %d notification(s) in %s", expired, directory)
