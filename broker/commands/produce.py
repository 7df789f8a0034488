"""``kbroker produce TOPIC``: each line of stdin becomes a record (as kafka-console-producer.sh).

``--key-separator SEP`` splits each line into key and value at the first SEP. A keyed record
goes to the partition Kafka's Java client would pick (murmur2 of the key); records without a
key go to the partitions in turn, one request's worth each. Lines are sent in requests of up
to ``--batch-size`` records, each line at once when stdin is a terminal.
"""

from __future__ import annotations

import argparse
import sys
import time

from kproto.messages import PRODUCE
from storage import Record, build_batch

from broker.commands.client import CommandError, KafkaClient, kafka_error
from broker.commands.common import add_common, connect, emit, key_values, run
from broker.partitioner import partition_for_key

ACKS = {"all": -1, "-1": -1, "1": 1, "0": 0}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker produce", description="Send the lines of stdin to a topic as records.")
    p.add_argument("topic", metavar="TOPIC")
    p.add_argument("--key-separator", metavar="SEP", help="each line is KEY SEP VALUE")
    p.add_argument("--header", action="append", default=[], metavar="KEY=VALUE", help="a header on every record (repeat)")
    p.add_argument("--partition", type=int, help="send every record to this partition")
    p.add_argument("--acks", choices=sorted(ACKS), default="all", help="all (default), 1 or 0")
    p.add_argument("--batch-size", type=int, default=500, help="records per request (default 500)")
    add_common(p)
    return p


def main(argv: list[str]) -> int:
    return run(build_parser(), argv, produce)


class Sender:
    """Records grouped by partition and sent to each leader."""

    def __init__(self, client: KafkaClient, topic: str, acks: int, timeout_ms: int):
        self.client, self.topic, self.acks, self.timeout_ms = client, topic, acks, timeout_ms
        self.leaders = client.leaders(topic)
        self.partitions = len(self.leaders)
        self.next_partition = 0
        self.results: list[dict] = []

    def send(self, records: list[tuple[Record, int | None]]) -> None:
        """Send the records, and add where each one went to ``results``, in their order."""
        by_partition: dict[int, list[int]] = {}     # partition -> indexes into records
        unkeyed = self.next_partition % self.partitions
        self.next_partition += 1
        for index, (record, partition) in enumerate(records):
            if partition is None:
                partition = partition_for_key(record.key, self.partitions) if record.key is not None else unkeyed
            elif not 0 <= partition < self.partitions:
                raise CommandError(f"topic {self.topic!r} has no partition {partition} (it has {self.partitions})")
            by_partition.setdefault(partition, []).append(index)
        placed: list[dict] = [{} for _ in records]
        by_leader: dict[int, list[int]] = {}
        for partition in by_partition:
            by_leader.setdefault(self.leaders[partition], []).append(partition)
        for leader, partitions in by_leader.items():
            body = {"transactional_id": None, "acks": self.acks, "timeout_ms": self.timeout_ms, "topic_data": [
                {"name": self.topic, "partition_data": [
                    {"index": p, "records": build_batch([records[i][0] for i in by_partition[p]])}
                    for p in partitions]}]}
            connection = self.client.node(leader)
            response = connection.send(PRODUCE, connection.version(PRODUCE), body, expect_response=self.acks != 0)
            if response is None:
                for p in partitions:
                    for i in by_partition[p]:
                        placed[i] = {"partition": p, "offset": None}
                continue
            for entry in response["responses"][0]["partition_responses"]:
                p = entry["index"]
                if entry["error_code"]:
                    raise kafka_error(entry["error_code"], f"producing to {self.topic}-{p}", entry.get("error_message"))
                for n, i in enumerate(by_partition[p]):
                    placed[i] = {"partition": p, "offset": entry["base_offset"] + n}
        self.results += placed


def produce(args) -> None:
    headers = [(k, v.encode()) for k, v in key_values(args.header, "header").items()]
    batch_size = 1 if sys.stdin.isatty() else max(args.batch_size, 1)
    with connect(args) as client:
        client.topic(args.topic)   # an unknown topic is an error, not auto-created
        sender = Sender(client, args.topic, ACKS[args.acks], args.request_timeout_ms)
        pending: list[tuple[Record, int | None]] = []
        for number, line in enumerate(sys.stdin.buffer, 1):
            line = line.rstrip(b"\r\n")
            key = None
            if args.key_separator is not None:
                key, sep, line = line.partition(args.key_separator.encode())
                if not sep:
                    raise CommandError(f"line {number} has no key separator {args.key_separator!r}")
            pending.append((Record(timestamp=int(time.time() * 1000), key=key, value=line, headers=headers),
                            args.partition))
            if len(pending) >= batch_size:
                sender.send(pending)
                pending = []
        if pending:
            sender.send(pending)
    emit(args, sender.results, text=f"produced {len(sender.results)} records to {args.topic}")
