"""``kbroker groups list|describe|delete|reset-offsets``: what kafka-consumer-groups.sh does.

``describe`` shows, per partition, the committed offset, the log end offset and the lag, with
the member that holds it; members of classic groups and of KIP-848 consumer groups alike.
``reset-offsets`` prints the new offsets, and commits them only with ``--execute`` (the group
must have no members), as Kafka's tool does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from kproto.errors import ErrorCode
from kproto.messages import (CONSUMER_GROUP_DESCRIBE, DELETE_GROUPS, DESCRIBE_GROUPS, LIST_GROUPS, OFFSET_COMMIT,
                             OFFSET_FETCH)

from broker.commands.client import CommandError, KafkaClient, kafka_error
from broker.commands.common import add_common, connect, emit, run, table
from broker.commands.member import decode_assignment
from broker.commands.offsets import EARLIEST, LATEST, list_offsets

INACTIVE = {"Empty", "Dead"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker groups", description="Consumer groups: list, lag, delete, reset offsets.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="every group of the cluster")
    describe = sub.add_parser("describe", help="members, assignments, committed offsets and lag")
    describe.add_argument("groups", nargs="+", metavar="GROUP")
    delete = sub.add_parser("delete", help="delete groups (with no members) and their offsets")
    delete.add_argument("groups", nargs="+", metavar="GROUP")
    reset = sub.add_parser("reset-offsets", help="set a group's committed offsets (dry run without --execute)")
    reset.add_argument("group", metavar="GROUP")
    which = reset.add_mutually_exclusive_group(required=True)
    which.add_argument("--topic", action="append", metavar="TOPIC[:P,P...]", help="a topic, or some of its partitions")
    which.add_argument("--all-topics", action="store_true", help="every topic the group has offsets for")
    to = reset.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-earliest", action="store_true")
    to.add_argument("--to-latest", action="store_true")
    to.add_argument("--to-offset", type=int, metavar="N")
    to.add_argument("--shift-by", type=int, metavar="N", help="move the committed offsets by N (may be negative)")
    to.add_argument("--to-datetime", metavar="ISO", help="the first offset at or after e.g. 2024-05-01T12:00:00Z")
    reset.add_argument("--execute", action="store_true", help="commit the new offsets (default: only show them)")
    for action in (listing, describe, delete, reset):
        add_common(action)
    return p


def main(argv: list[str]) -> int:
    return run(build_parser(), argv, lambda args: ACTIONS[args.action](args))


def list_groups(args) -> None:
    found = {}
    with connect(args) as client:
        client.metadata([])
        for node_id in sorted(client.brokers):
            _, response = client.request(LIST_GROUPS, {"states_filter": [], "types_filter": []}, client.node(node_id))
            if response["error_code"]:
                raise kafka_error(response["error_code"], "listing groups")
            for group in response["groups"]:
                found[group["group_id"]] = {
                    "group": group["group_id"], "type": group.get("group_type") or "classic",
                    "protocol_type": group["protocol_type"], "state": group.get("group_state") or ""}
    data = [found[g] for g in sorted(found)]
    emit(args, data, ["GROUP", "TYPE", "STATE", "PROTOCOL-TYPE"],
         [[g["group"], g["type"], g["state"], g["protocol_type"] or "-"] for g in data])


def describe_group(client: KafkaClient, group: str) -> dict:
    """State, members (with their partitions) and committed offsets of one group."""
    coordinator = client.coordinator(group)
    _, response = client.request(DESCRIBE_GROUPS, {"groups": [group], "include_authorized_operations": False},
                                 coordinator)
    [described] = response["groups"]
    state, kind, members = described["group_state"], "classic", []
    if described["error_code"] == 0 and state not in ("Dead", ""):
        for m in described["members"]:
            assignment = decode_assignment(m["member_assignment"]) if described["protocol_type"] == "consumer" else {}
            members.append({"member_id": m["member_id"], "client_id": m["client_id"], "host": m["client_host"],
                            "partitions": sorted((t, p) for t, ps in assignment.items() for p in ps)})
    elif CONSUMER_GROUP_DESCRIBE.api_key in coordinator.versions:
        _, response = client.request(CONSUMER_GROUP_DESCRIBE, {"group_ids": [group],
                                                               "include_authorized_operations": False}, coordinator)
        [consumer] = response["groups"]
        if consumer["error_code"] == 0:
            state, kind = consumer["group_state"], "consumer"
            for m in consumer["members"]:
                members.append({"member_id": m["member_id"], "client_id": m["client_id"], "host": m["client_host"],
                                "partitions": sorted((tp["topic_name"], p) for tp in m["assignment"]["topic_partitions"]
                                                     for p in tp["partitions"])})
        elif described["error_code"]:
            raise kafka_error(described["error_code"], f"group {group!r}")
    elif described["error_code"]:
        raise kafka_error(described["error_code"], f"group {group!r}")
    _, fetched = client.request(OFFSET_FETCH, {"group_id": group, "topics": None, "require_stable": False,
                                               "groups": [{"group_id": group, "topics": None}]}, coordinator)
    if fetched["error_code"] and fetched["error_code"] != ErrorCode.GROUP_ID_NOT_FOUND:
        raise kafka_error(fetched["error_code"], f"offsets of group {group!r}")
    committed = {(t["name"], p["partition_index"]): p["committed_offset"]
                 for t in fetched["topics"] for p in t["partitions"] if p["committed_offset"] >= 0}
    return {"group": group, "type": kind, "state": state or "Dead", "members": members, "committed": committed}


def describe_groups(args) -> None:
    results, blocks = [], []
    with connect(args) as client:
        for group in args.groups:
            info = describe_group(client, group)
            holder = {tp: m for m in info["members"] for tp in m["partitions"]}
            keys = sorted(set(info["committed"]) | set(holder))
            ends = {}
            for topic in sorted({t for t, _ in keys}):
                ends.update({(topic, p): o for p, o in list_offsets(client, topic, LATEST).items()})
            rows = []
            for key in keys:
                current, end = info["committed"].get(key), ends.get(key)
                member = holder.get(key, {})
                rows.append({"topic": key[0], "partition": key[1], "current_offset": current, "log_end_offset": end,
                             "lag": None if current is None or end is None else max(end - current, 0),
                             "member_id": member.get("member_id"), "host": member.get("host"),
                             "client_id": member.get("client_id")})
            results.append({"group": group, "type": info["type"], "state": info["state"],
                            "members": [{**m, "partitions": [list(tp) for tp in m["partitions"]]}
                                        for m in info["members"]], "partitions": rows})
            header = (f"Consumer group '{group}' ({info['type']}): {info['state']}, "
                      f"{len(info['members'])} member(s)")
            if not rows and not info["members"]:
                blocks.append(f"Consumer group '{group}' does not exist." if info["state"] == "Dead"
                              else header + ", no committed offsets")
                continue
            lines = [header, table(
                ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
                 "CLIENT-ID"],
                [[group, r["topic"], r["partition"], r["current_offset"], r["log_end_offset"], r["lag"],
                  r["member_id"], r["host"], r["client_id"]] for r in rows])]
            idle = [m for m in info["members"] if not m["partitions"]]
            if idle:
                lines.append("members without partitions: " + ", ".join(m["member_id"] for m in idle))
            blocks.append("\n".join(lines))
    emit(args, results if len(results) > 1 else results[0], text="\n\n".join(blocks))


def delete_groups(args) -> None:
    deleted = []
    with connect(args) as client:
        for group in args.groups:
            _, response = client.request(DELETE_GROUPS, {"groups_names": [group]}, client.coordinator(group))
            [result] = response["results"]
            if result["error_code"]:
                raise kafka_error(result["error_code"], f"cannot delete group {group!r}")
            deleted.append(group)
    emit(args, {"deleted": deleted}, text="\n".join(f"deleted group {g}" for g in deleted))


def _targets(client: KafkaClient, args, committed: dict) -> list[tuple[str, int]]:
    if args.all_topics:
        if not committed:
            raise CommandError(f"group {args.group!r} has no committed offsets; name the topics with --topic")
        return sorted(committed)
    targets = []
    for item in args.topic:
        name, _, partitions = item.partition(":")
        known = sorted(client.leaders(name))
        wanted = [int(p) for p in partitions.split(",") if p.strip()] if partitions else known
        for p in wanted:
            if p not in known:
                raise CommandError(f"topic {name!r} has no partition {p}")
        targets += [(name, p) for p in wanted]
    return targets


def reset_offsets(args) -> None:
    with connect(args) as client:
        info = describe_group(client, args.group)
        if args.execute and info["state"] not in INACTIVE:
            raise CommandError(f"offsets can be reset only while group {args.group!r} has no members; "
                               f"it is {info['state']}")
        targets = _targets(client, args, info["committed"])
        new: dict[tuple[str, int], int] = {}
        for topic in sorted({t for t, _ in targets}):
            partitions = [p for t, p in targets if t == topic]
            earliest = list_offsets(client, topic, EARLIEST, partitions)
            latest = list_offsets(client, topic, LATEST, partitions)
            if args.to_datetime:
                at = list_offsets(client, topic, _timestamp_ms(args.to_datetime), partitions)
            for p in partitions:
                if args.to_earliest:
                    offset = earliest[p]
                elif args.to_latest:
                    offset = latest[p]
                elif args.to_offset is not None:
                    offset = args.to_offset
                elif args.shift_by is not None:
                    offset = info["committed"].get((topic, p), latest[p]) + args.shift_by
                else:
                    offset = at[p] if at[p] >= 0 else latest[p]
                new[(topic, p)] = min(max(offset, earliest[p]), latest[p])
        if args.execute:
            by_topic: dict[str, list] = {}
            for (topic, p), offset in new.items():
                by_topic.setdefault(topic, []).append({"partition_index": p, "committed_offset": offset,
                                                       "committed_leader_epoch": -1, "committed_metadata": ""})
            _, response = client.request(OFFSET_COMMIT, {
                "group_id": args.group, "generation_id_or_member_epoch": -1, "member_id": "",
                "group_instance_id": None, "retention_time_ms": -1,
                "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()]}, client.coordinator(args.group))
            for topic in response["topics"]:
                for p in topic["partitions"]:
                    if p["error_code"]:
                        raise kafka_error(p["error_code"], f"committing {topic['name']}-{p['partition_index']}")
    data = [{"group": args.group, "topic": t, "partition": p, "new_offset": o} for (t, p), o in sorted(new.items())]
    emit(args, data, ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], [list(d.values()) for d in data])
    if not args.execute and not args.json:
        print("(dry run: add --execute to commit these offsets)", file=sys.stderr)


def _timestamp_ms(text: str) -> int:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"bad --to-datetime {text!r}: expected e.g. 2024-05-01T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


ACTIONS = {"list": list_groups, "describe": describe_groups, "delete": delete_groups, "reset-offsets": reset_offsets}
