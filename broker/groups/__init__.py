"""The classic consumer-group coordinator and the committed offsets, as Apache Kafka's.

A coordinator here is built in three layers; the transaction coordinator, KIP-848
consumer groups and share groups are to be built the same way. Copy the shape:

1. A pure, synchronous state machine (``coordinator.py`` with ``rebalance.py``,
   ``group.py``, ``member.py``; its clock is ``timers.py``). No I/O, no asyncio, no wall
   clock: every call that changes state takes ``now_ms`` and returns its result plus the
   *completions*, ``(token, response)`` for requests it answered. A request that must
   wait (JoinGroup, SyncGroup) takes a token from the caller and stays parked until
   a later call completes it. Deadlines are timers in a ``TimerQueue``; what a timer does
   when it fires is a table of timer kinds (``rebalance.TimerKind``) to methods. What must
   be written is queued as plain values (``snapshot.py``: a ``GroupChange``) for the shell
   to take. Tested with a fake clock (broker/tests/group_harness.py), no sockets.

2. A thin async shell (``service.py``, ``GroupService``): holds an event per parked
   token and sets it when the completion comes; one background task (``run``) sleeps
   until ``next_deadline_ms()`` and calls ``tick(now_ms)``; it writes the queued changes
   to the log (``offsets.py``, ``__consumer_offsets``) before it delivers a call's
   completions, and loads them back at start. It is given its settings (``config.py``,
   ``GroupConfig``, the one definition of the group defaults) and the storage it needs,
   not the broker; the broker calls it back through a small interface
   (``topic_deleted``, a ``broker.core.TopicListener``).

3. A typed door: one method per request on the service, ``door(ctx, request) ->
   response`` (a coroutine when the request may wait), where ``ctx`` is a
   ``broker.caller.Caller`` (client id, client host, api version). It reads the request
   at its version, calls the state machine and shapes the response. Each handler in
   broker/handlers/ is then one line: ``return ctx.broker.groups.heartbeat(ctx, req)``.

The broker makes the service on first use, or just after start-up (``Broker.groups``),
so importing this package and replaying its topic stay off the path to the first
answer; ``broker.config`` likewise reads the group keys here only when one is set.
Keep it so: this module imports nothing.
"""
