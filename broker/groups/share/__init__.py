"""KIP-932 share groups, built as the other coordinators are (see broker/groups/__init__.py).

1. Pure state machines fed with ``now_ms``: ``coordinator.py`` (membership: heartbeats,
   the simple assignor, sessions) and ``partition.py`` (one share-partition: acquisition
   locks, acknowledgements, redelivery, the delivery count limit, the start offset).
2. The shell is the group service's (broker/groups/service.py): it ticks their timers and
   writes their records, membership to ``__consumer_offsets`` and share-partition state to
   ``__share_group_state`` (``state.py``); group configs are ``configs.py``'s.
3. The typed door: ``door.py`` (ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch,
   ShareAcknowledge and the share-group offsets admin APIs).
"""
