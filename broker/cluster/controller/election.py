"""Kafka's four leader elections (``PartitionLeaderElectionAlgorithms``). Pure functions of a
partition's assigned replicas (preferred first), its ISR and the live brokers; each returns
the new leader and ISR, or None when no replica may lead.

- offline partition (its leader died): the first assigned replica that is alive and in the
  ISR; with ``unclean.leader.election.enable``, failing that, the first live replica, which
  then is the whole ISR (records only the old ISR had may be lost: that is the trade).
- reassignment: the first replica of the target assignment alive and in the ISR.
- preferred replica (ElectLeaders, auto.leader.rebalance.enable): the first assigned replica,
  if alive and in the ISR.
- controlled shutdown: the first assigned replica alive, in the ISR and not stopping; the
  stopping brokers leave the ISR.
"""

from __future__ import annotations

Election = tuple[int, list[int]] | None


def offline_partition(assignment, isr, live, unclean: bool = False) -> Election:
    for replica in assignment:
        if replica in live and replica in isr:
            return replica, [r for r in isr if r in live]
    if unclean:
        for replica in assignment:
            if replica in live:
                return replica, [replica]
    return None


def reassignment(target, isr, live) -> Election:
    for replica in target:
        if replica in live and replica in isr:
            return replica, list(isr)
    return None


def preferred_replica(assignment, isr, live) -> Election:
    if assignment and assignment[0] in live and assignment[0] in isr:
        return assignment[0], list(isr)
    return None


def controlled_shutdown(assignment, isr, live, shutting_down) -> Election:
    remaining = [r for r in isr if r not in shutting_down]
    for replica in assignment:
        if replica in live and replica in remaining:
            return replica, remaining
    return None
