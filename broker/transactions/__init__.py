"""The transaction coordinator, as Apache Kafka's: exactly-once produce and offset commits.

Built as the group coordinator is (broker/groups/__init__.py), in three layers:

1. A pure, synchronous state machine (``coordinator.py``, over ``state.py``): the states of
   Kafka's TransactionState and their allowed transitions, one ``TransactionMetadata`` per
   transactional id. Every request takes ``now_ms`` and answers at once. A change is a
   *transit* (Kafka's TxnTransitMetadata): the metadata it leads to, queued for the shell to
   write to ``__transaction_state``; the id holds it as its pending state until the shell
   reports the write done (``write_done``: the transit takes effect) or failed
   (``write_failed``: nothing changed). A transaction that ends queues a ``MarkerJob``; when
   the shell has written the markers (``markers_written``) the transaction completes. Timed
   out transactions (``abort_timed_out``) and idle ids (``expire_transactional_ids``) are
   found on the shell's schedule. Tested synchronously with a fake clock.

2. A thin shell (``service.py``, ``TransactionService``): after each call it writes the queued
   records (``log.py``: Kafka's TransactionLogKey/Value in ``__transaction_state``, replayed
   at start), then the markers (control batches, through storage) and their completion, and
   only then answers. It runs the periodic sweeps. It is given its settings (``config.py``)
   and storage; the broker lends it a ``TransactionPeers`` (the producer id source, the group
   wing's offsets partition and transactional offsets, the fetch wake-up).

3. A typed door: one method per request on the service, ``door(ctx, request) -> response``.
   Each handler in broker/handlers/ is one line.

The data path asks the service too: a transactional produce is accepted only for partitions
added to the transaction (``verify_produce``, KIP-890 part 1). KIP-890 part 2
(``transaction.version`` 2) is not served. This module imports nothing.
"""
