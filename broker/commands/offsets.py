"""``kbroker offsets TOPIC``: the earliest and latest offset of each partition (as kafka-get-offsets.sh)."""

from __future__ import annotations

import argparse

from kproto.messages import LIST_OFFSETS

from broker.commands.client import CommandError, KafkaClient, kafka_error
from broker.commands.common import add_common, connect, emit, run

EARLIEST, LATEST = -2, -1


def list_offsets(client: KafkaClient, topic: str, timestamp: int, partitions: list[int] | None = None,
                 read_committed: bool = False) -> dict[int, int]:
    """Partition -> offset for ``timestamp`` (EARLIEST, LATEST or milliseconds), asked of each leader."""
    leaders = client.leaders(topic)
    wanted = sorted(leaders) if partitions is None else partitions
    by_leader: dict[int, list[int]] = {}
    for partition in wanted:
        if partition not in leaders:
            raise CommandError(f"topic {topic!r} has no partition {partition}")
        by_leader.setdefault(leaders[partition], []).append(partition)
    found = {}
    for leader, indexes in by_leader.items():
        _, response = client.request(LIST_OFFSETS, {
            "replica_id": -1, "isolation_level": 1 if read_committed else 0, "timeout_ms": client.timeout_s * 1000,
            "topics": [{"name": topic, "partitions": [
                {"partition_index": p, "current_leader_epoch": -1, "timestamp": timestamp, "max_num_offsets": 1}
                for p in indexes]}]}, client.node(leader))
        for entry in response["topics"][0]["partitions"]:
            if entry["error_code"]:
                raise kafka_error(entry["error_code"], f"offsets of {topic}-{entry['partition_index']}")
            found[entry["partition_index"]] = entry["offset"]
    return found


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker offsets",
                                description="The earliest and latest offset of each partition of a topic.")
    p.add_argument("topic", metavar="TOPIC")
    p.add_argument("--partition", type=int, action="append", help="only this partition (repeat)")
    p.add_argument("--time", type=int, metavar="MS",
                   help="also the first offset at or after this timestamp (milliseconds since the epoch)")
    add_common(p)
    return p


def main(argv: list[str]) -> int:
    return run(build_parser(), argv, show)


def show(args) -> None:
    with connect(args) as client:
        earliest = list_offsets(client, args.topic, EARLIEST, args.partition)
        latest = list_offsets(client, args.topic, LATEST, args.partition)
        at_time = list_offsets(client, args.topic, args.time, args.partition) if args.time is not None else None
    data = []
    for partition in sorted(earliest):
        entry = {"topic": args.topic, "partition": partition, "earliest": earliest[partition],
                 "latest": latest[partition]}
        if at_time is not None:
            entry["at_time"] = at_time[partition]
        data.append(entry)
    headers = ["TOPIC", "PARTITION", "EARLIEST", "LATEST"] + (["AT-TIME"] if at_time is not None else [])
    emit(args, data, headers, [list(d.values()) for d in data])
