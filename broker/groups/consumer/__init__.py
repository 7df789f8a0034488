"""KIP-848 consumer groups, built as the classic coordinator is (see broker/groups/__init__.py).

1. The pure state machine: ``coordinator.py`` (ConsumerGroupCoordinator) with ``group.py``,
   ``member.py``, ``reconcile.py`` (revoke before assign) and ``assignors.py`` (``uniform``,
   ``range``); its records in ``__consumer_offsets`` are ``records.py``'s. ``classic.py``
   serves the classic members of a consumer group and converts groups between the two
   protocols (KIP-848's online migration).
2. The shell is the group service's: broker/groups/service.py holds this coordinator beside
   the classic one, shares the committed offsets and ``__consumer_offsets`` with it, ticks
   its timers and writes its records before it answers.
3. The typed door: ``door.py`` (ConsumerGroupHeartbeat, ConsumerGroupDescribe).
"""
