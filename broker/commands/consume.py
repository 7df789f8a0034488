"""``kbroker consume TOPIC``: print records (as kafka-console-consumer.sh).

Without ``--group`` it reads every partition (or those given) from the end, or from the
start with ``--from-beginning``. With ``--group`` it joins the group as a member of it,
starts from the group's committed offsets (else as ``--from-beginning`` says) and commits
what it printed. It stops after ``--max-messages``, after ``--timeout-ms`` without a record,
or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kproto.errors import ErrorCode
from kproto.messages import FETCH
from storage import decode_records, iter_batches, read_header

from broker.commands.client import CommandError, KafkaClient, kafka_error
from broker.commands.common import add_common, connect, run
from broker.commands.member import GroupMember
from broker.commands.offsets import EARLIEST, LATEST, list_offsets

FETCH_WAIT_MS = 500
FIELDS = ("topic", "partition", "offset", "timestamp", "key", "value", "headers")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker consume", description="Print the records of a topic.")
    p.add_argument("topic", metavar="TOPIC")
    p.add_argument("--from-beginning", action="store_true", help="start at the earliest offset (default: the end)")
    p.add_argument("--group", help="consume as a member of this consumer group, committing offsets")
    p.add_argument("--partition", type=int, action="append", help="only this partition (repeat; not with --group)")
    p.add_argument("--offset", type=int, help="start at this offset (with --partition)")
    p.add_argument("--max-messages", type=int, help="stop after this many records")
    p.add_argument("--timeout-ms", type=int, help="stop when no record came for this long")
    p.add_argument("--format", default="{value}",
                   help="how each record is printed, with {topic} {partition} {offset} {timestamp} {key} "
                        "{value} {headers} (default: {value})")
    p.add_argument("--isolation-level", choices=["read_uncommitted", "read_committed"], default="read_uncommitted")
    add_common(p)
    return p


def main(argv: list[str]) -> int:
    return run(build_parser(), argv, consume)


def _text(value: bytes | None) -> str:
    return "null" if value is None else value.decode("utf-8", errors="replace")


def render(args, record: dict) -> str:
    if args.json:
        return json.dumps({**record, "key": None if record["key"] is None else _text(record["key"]),
                           "value": None if record["value"] is None else _text(record["value"]),
                           "headers": {k: None if v is None else _text(v) for k, v in record["headers"]}})
    fields = {**record, "key": _text(record["key"]), "value": _text(record["value"]),
              "headers": ",".join(f"{k}:{_text(v)}" for k, v in record["headers"]) or "NO_HEADERS"}
    try:
        return args.format.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise CommandError(f"bad --format {args.format!r}: {exc}; fields are " + ", ".join(FIELDS)) from None


class Fetcher:
    """Fetch requests to each leader of the partitions read, from a position per partition."""

    def __init__(self, client: KafkaClient, topic: str, read_committed: bool, reset: int):
        self.client, self.topic, self.read_committed, self.reset = client, topic, read_committed, reset
        self.positions: dict[int, int] = {}
        self.leaders = client.leaders(topic)

    def fetch(self) -> list[dict]:
        records = []
        by_leader: dict[int, list[int]] = {}
        for partition in sorted(self.positions):
            by_leader.setdefault(self.leaders[partition], []).append(partition)
        for leader, partitions in by_leader.items():
            _, response = self.client.request(FETCH, {
                "replica_id": -1, "max_wait_ms": FETCH_WAIT_MS, "min_bytes": 1, "max_bytes": 50 << 20,
                "isolation_level": 1 if self.read_committed else 0, "session_id": 0, "session_epoch": -1,
                "topics": [{"topic": self.topic, "topic_id": bytes(16), "partitions": [
                    {"partition": p, "current_leader_epoch": -1, "fetch_offset": self.positions[p],
                     "last_fetched_epoch": -1, "log_start_offset": -1, "partition_max_bytes": 1 << 20}
                    for p in partitions]}], "forgotten_topics_data": [], "rack_id": ""},
                self.client.node(leader))
            if response.get("error_code"):
                raise kafka_error(response["error_code"], "fetch")
            for topic in response["responses"]:
                for entry in topic["partitions"]:
                    records += self._partition(entry)
        return records

    def _partition(self, entry: dict) -> list[dict]:
        partition, code = entry["partition_index"], entry["error_code"]
        if code == ErrorCode.OFFSET_OUT_OF_RANGE:
            self.positions[partition] = list_offsets(self.client, self.topic, self.reset, [partition])[partition]
            return []
        if code in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.UNKNOWN_LEADER_EPOCH):
            self.leaders = self.client.leaders(self.topic)
            return []
        if code:
            raise kafka_error(code, f"fetching {self.topic}-{partition}")
        aborted = {a["producer_id"]: a["first_offset"] for a in (entry.get("aborted_transactions") or [])}
        position = self.positions[partition]
        found = []
        for batch in iter_batches(bytes(entry["records"] or b"")):
            header = read_header(batch)
            if header.last_offset < position:
                continue
            if header.is_control:
                aborted.pop(header.producer_id, None) if header.base_offset >= aborted.get(header.producer_id, 1 << 62) \
                    else None
            elif not (self.read_committed and header.is_transactional and header.producer_id in aborted
                      and header.base_offset >= aborted[header.producer_id]):
                for r in decode_records(batch):
                    if r.offset >= position:
                        found.append({"topic": self.topic, "partition": partition, "offset": r.offset,
                                      "timestamp": r.timestamp, "key": r.key, "value": r.value,
                                      "headers": list(r.headers)})
            position = max(position, header.last_offset + 1)
        self.positions[partition] = position
        return found


def consume(args) -> None:
    if args.group and args.partition:
        raise CommandError("--partition and --group do not go together (the group assigns partitions)")
    if args.offset is not None and not args.partition:
        raise CommandError("--offset needs --partition")
    reset = EARLIEST if args.from_beginning else LATEST
    printed = 0
    last_record = time.monotonic()
    with connect(args) as client:
        fetcher = Fetcher(client, args.topic, args.isolation_level == "read_committed", reset)
        member = GroupMember(client, args.group, [args.topic]) if args.group else None
        try:
            if member is None:
                partitions = args.partition or sorted(fetcher.leaders)
                for p in partitions:
                    if p not in fetcher.leaders:
                        raise CommandError(f"topic {args.topic!r} has no partition {p}")
                fetcher.positions = ({p: args.offset for p in partitions} if args.offset is not None
                                     else list_offsets(client, args.topic, reset, partitions))
            else:
                _start_in_group(member, fetcher, client, args.topic, reset)
            while args.max_messages is None or printed < args.max_messages:
                if member is not None and member.heartbeat_due():
                    member.commit(_positions(fetcher))
                    _start_in_group(member, fetcher, client, args.topic, reset)
                records = fetcher.fetch() if fetcher.positions else []
                if not fetcher.positions:
                    time.sleep(FETCH_WAIT_MS / 1000)
                for record in records:
                    if args.max_messages is not None and printed >= args.max_messages:
                        fetcher.positions[record["partition"]] = min(fetcher.positions[record["partition"]],
                                                                     record["offset"])
                        continue
                    print(render(args, record), flush=True)
                    printed += 1
                if records:
                    last_record = time.monotonic()
                    if member is not None and not member.commit(_positions(fetcher)):
                        _start_in_group(member, fetcher, client, args.topic, reset)
                elif args.timeout_ms is not None and time.monotonic() - last_record > args.timeout_ms / 1000:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            if member is not None:
                try:
                    member.commit(_positions(fetcher))
                finally:
                    member.leave()
    if not args.json:
        print(f"Processed a total of {printed} messages", file=sys.stderr)


def _positions(fetcher: Fetcher) -> dict[tuple[str, int], int]:
    return {(fetcher.topic, p): offset for p, offset in fetcher.positions.items()}


def _start_in_group(member: GroupMember, fetcher: Fetcher, client: KafkaClient, topic: str, reset: int) -> None:
    """Join (again) and start each assigned partition at its committed offset, else at ``reset``."""
    assignment = member.join()
    partitions = assignment.get(topic, [])
    committed = member.committed()
    missing = [p for p in partitions if (topic, p) not in committed]
    fallback = list_offsets(client, topic, reset, missing) if missing else {}
    fetcher.positions = {p: committed.get((topic, p), fallback.get(p)) for p in partitions}
