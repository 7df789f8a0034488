"""One consumer-group member of a real client library, in a process of its own.

Run as ``python -m compat_tests.group_clients <client> <bootstrap> <topic> <group> [options]``
with client ``confluent``, ``kafka-python`` or ``aiokafka``. It subscribes to the topic and
reports on stdout, one JSON object a line (flushed at once), what happens to it:

  {"ev": "start", "pid": ..., "client": ...}
  {"ev": "assign", "parts": [delta], "now": [whole assignment]}    also "revoke" and "lost"
  {"ev": "recs", "recs": [[partition, offset, key, value], ...]}   every record consumed
  {"ev": "commit", "offsets": {"partition": next offset}}         manual commits (synchronous)
  {"ev": "error", "msg": ...}
  {"ev": "done"}      --max-records reached (and committed): the consumer closes by itself
  {"ev": "closed"}    after close(), on SIGTERM or --max-records

SIGTERM closes the consumer (a dynamic member sends LeaveGroup; librdkafka's static members
do not, KIP-345) and exits 0; SIGKILL is a crash. Every line is also kept in
``<log_dir>/<name>-*.events`` and the client's stderr in ``*.stderr``; with the environment
variable ``GROUP_CLIENTS_LOG=INFO`` (or DEBUG) the Python clients log there too.

The test side (``GroupMember``, ``wait_settled`` and raw views of the group) follows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# ============================================================================ the child process

_stop = False


def _on_sigterm(signum, frame):
    global _stop
    _stop = True


def _watch_parent() -> None:
    """The test keeps our stdin open: EOF means it is gone, so close as on SIGTERM."""
    global _stop
    try:   # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts shutdown
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    _stop = True


def emit(ev: str, **fields) -> None:
    sys.stdout.write(json.dumps({"ev": ev, "t": time.time(), **fields}) + "\n")
    sys.stdout.flush()


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "replace")


class Tracker:
    """The whole assignment, kept from the (eager or incremental) callbacks."""

    def __init__(self):
        self.now: set[int] = set()

    def assign(self, parts, incremental: bool, kind: str = "assign") -> None:
        parts = sorted(parts)
        self.now = (self.now | set(parts)) if incremental else set(parts)
        emit(kind, parts=parts, now=sorted(self.now))

    def revoke(self, parts, incremental: bool, kind: str = "revoke") -> None:
        parts = sorted(parts)
        self.now = (self.now - set(parts)) if incremental else set()
        emit(kind, parts=parts, now=sorted(self.now))


def _next_offsets(recs) -> dict[int, int]:
    out: dict[int, int] = {}
    for p, o, _, _ in recs:
        out[p] = max(out.get(p, -1), o + 1)
    return out


def run_confluent(args) -> None:
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    incremental = args.assignor == "cooperative-sticky" or args.protocol == "consumer"
    config = {
        "bootstrap.servers": args.bootstrap, "group.id": args.group, "client.id": args.client_id,
        "partition.assignment.strategy": args.assignor or "range",
        "session.timeout.ms": args.session_ms, "heartbeat.interval.ms": args.heartbeat_ms,
        "max.poll.interval.ms": args.max_poll_ms, "auto.offset.reset": args.reset,
        "enable.auto.commit": args.commit == "auto", "auto.commit.interval.ms": args.auto_commit_ms,
        "fetch.wait.max.ms": 100, "topic.metadata.refresh.interval.ms": 2000,
    }
    if args.protocol == "consumer":   # KIP-848: the broker assigns; session and heartbeat are its own
        for key in ("partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms"):
            del config[key]
        config["group.protocol"] = "consumer"
        if args.assignor:
            config["group.remote.assignor"] = args.assignor
    if args.instance_id:
        config["group.instance.id"] = args.instance_id
    consumer = Consumer(config)
    tracker = Tracker()

    def on_assign(c, partitions):
        tracker.assign([tp.partition for tp in partitions], incremental)

    def on_revoke(c, partitions):
        tracker.revoke([tp.partition for tp in partitions], incremental)

    def on_lost(c, partitions):
        tracker.revoke([tp.partition for tp in partitions], incremental, "lost")

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    consumed = 0
    try:
        while not _stop:
            want = 500 if args.max_records is None else min(500, args.max_records - consumed)
            messages = consumer.consume(num_messages=want, timeout=0.2)
            recs = []
            for m in messages:
                if m.error():
                    emit("error", msg=str(m.error()))
                    continue
                recs.append([m.partition(), m.offset(), _text(m.key()), _text(m.value())])
            if not recs:
                continue
            consumed += len(recs)
            emit("recs", recs=recs)
            if args.commit == "manual":
                offsets = _next_offsets(recs)
                try:
                    consumer.commit(offsets=[TopicPartition(args.topic, p, o, *([args.metadata] if args.metadata else []))
                                             for p, o in offsets.items()], asynchronous=False)
                    emit("commit", offsets=offsets)
                except KafkaException as exc:
                    emit("error", msg=f"commit failed: {exc}")
            if args.max_records is not None and consumed >= args.max_records:
                break
        if args.max_records is not None and consumed >= args.max_records:
            emit("done")   # auto commit: close() commits the offsets of the records handed out
    finally:
        consumer.close()
        emit("closed")


def _kp_assignor(name):
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
    return {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor,
            "sticky": StickyPartitionAssignor}[name or "range"]


def run_kafka_python(args) -> None:
    from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    tracker = Tracker()

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            tracker.revoke([tp.partition for tp in revoked], False)

        def on_partitions_assigned(self, assigned):
            tracker.assign([tp.partition for tp in assigned], False)

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap, group_id=args.group, client_id=args.client_id,
        group_instance_id=args.instance_id or None,
        partition_assignment_strategy=(_kp_assignor(args.assignor),),
        session_timeout_ms=args.session_ms, heartbeat_interval_ms=args.heartbeat_ms,
        max_poll_interval_ms=args.max_poll_ms, auto_offset_reset=args.reset,
        enable_auto_commit=args.commit == "auto", auto_commit_interval_ms=args.auto_commit_ms,
        fetch_max_wait_ms=100, request_timeout_ms=max(30000, args.session_ms + 5000),
        metadata_max_age_ms=2000)
    # Work around a kafka-python 3.0.12 bug. The leader records the metadata its assignment was
    # based on; when metadata changes, need_rejoin() turns true and poll() starts a join task.
    # The leader's _perform_assignment() then makes need_rejoin() false again before the task's
    # result is consumed; if poll()'s timeout expires during that join (it leaves the task in
    # flight), the next poll() sees no need to rejoin and never applies the SyncGroup result:
    # heartbeats stay disabled, nothing is fetched, the broker expires the member. A consumer
    # that subscribes before it knows the topic's partitions always takes that path once (its
    # first assignment is empty). So: learn the partitions first and seed the snapshot.
    wait_deadline = time.monotonic() + 30
    while not consumer.partitions_for_topic(args.topic) and time.monotonic() < wait_deadline:
        time.sleep(0.1)
    consumer.subscribe([args.topic], listener=Listener())
    coordinator = consumer._coordinator
    coordinator._handle_metadata_update(consumer._client.cluster)
    consumed = 0
    try:
        while not _stop:
            want = 500 if args.max_records is None else min(500, args.max_records - consumed)
            batches = consumer.poll(timeout_ms=200, max_records=want)
            task = getattr(coordinator, "_join_task", None)
            if task is not None and task.is_done and not coordinator.need_rejoin():
                emit("error", msg="kafka-python left a finished join unapplied (client bug)")
            recs = [[r.partition, r.offset, _text(r.key), _text(r.value)]
                    for records in batches.values() for r in records]
            if recs:
                consumed += len(recs)
                emit("recs", recs=recs)
                if args.commit == "manual":
                    offsets = _next_offsets(recs)
                    try:
                        consumer.commit({TopicPartition(args.topic, p): OffsetAndMetadata(o, args.metadata or "", -1)
                                         for p, o in offsets.items()})
                        emit("commit", offsets=offsets)
                    except Exception as exc:   # reported; the test decides
                        emit("error", msg=f"commit failed: {exc!r}")
            if args.max_records is not None and consumed >= args.max_records:
                emit("done")
                break
    finally:
        consumer.close()   # auto commit: commits the positions (records handed out)
        emit("closed")


def _aio_assignor(name):
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor
    from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
    return {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor,
            "sticky": StickyPartitionAssignor}[name or "roundrobin"]


async def run_aiokafka(args) -> None:
    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tracker = Tracker()

    class Listener(ConsumerRebalanceListener):
        async def on_partitions_revoked(self, revoked):
            tracker.revoke([tp.partition for tp in revoked], False)

        async def on_partitions_assigned(self, assigned):
            tracker.assign([tp.partition for tp in assigned], False)

    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap, group_id=args.group, client_id=args.client_id,
        group_instance_id=args.instance_id or None,
        partition_assignment_strategy=(_aio_assignor(args.assignor),),
        session_timeout_ms=args.session_ms, heartbeat_interval_ms=args.heartbeat_ms,
        max_poll_interval_ms=args.max_poll_ms, auto_offset_reset=args.reset,
        enable_auto_commit=args.commit == "auto",
        auto_commit_interval_ms=args.auto_commit_ms,
        fetch_max_wait_ms=100, request_timeout_ms=max(30000, args.session_ms + 5000),
        metadata_max_age_ms=2000)
    await consumer.start()
    consumer.subscribe([args.topic], listener=Listener())
    consumed = 0
    try:
        while not stop.is_set() and not _stop:
            want = None if args.max_records is None else args.max_records - consumed
            batches = await consumer.getmany(timeout_ms=200, max_records=want)
            recs = [[r.partition, r.offset, _text(r.key), _text(r.value)]
                    for records in batches.values() for r in records]
            if recs:
                consumed += len(recs)
                emit("recs", recs=recs)
                if args.commit == "manual":
                    offsets = _next_offsets(recs)
                    try:
                        await consumer.commit({TopicPartition(args.topic, p): OffsetAndMetadata(o, args.metadata or "")
                                               for p, o in offsets.items()})
                        emit("commit", offsets=offsets)
                    except Exception as exc:
                        emit("error", msg=f"commit failed: {exc!r}")
            if args.max_records is not None and consumed >= args.max_records:
                emit("done")
                break
    finally:
        await consumer.stop()
        emit("closed")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compat_tests.group_clients")
    parser.add_argument("client", choices=["confluent", "kafka-python", "aiokafka"])
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("group")
    parser.add_argument("--assignor", default=None,
                        help="confluent: range, roundrobin, cooperative-sticky; others: range, roundrobin, sticky")
    parser.add_argument("--commit", choices=["auto", "manual", "none"], default="auto")
    parser.add_argument("--auto-commit-ms", type=int, default=500)
    parser.add_argument("--reset", choices=["earliest", "latest"], default="earliest")
    parser.add_argument("--session-ms", type=int, default=6000)
    parser.add_argument("--heartbeat-ms", type=int, default=300)
    parser.add_argument("--max-poll-ms", type=int, default=20000)
    parser.add_argument("--instance-id", default=None)
    parser.add_argument("--client-id", default=None)
    parser.add_argument("--metadata", default=None, help="metadata of manual commits")
    parser.add_argument("--protocol", choices=["classic", "consumer"], default="classic",
                        help="group.protocol of confluent-kafka (consumer: KIP-848)")
    parser.add_argument("--max-records", type=int, default=None,
                        help="process this many records, commit them (auto: their offsets only), and close")
    args = parser.parse_args(argv)
    args.client_id = args.client_id or f"{args.client}-{os.getpid()}"
    if os.environ.get("GROUP_CLIENTS_LOG"):   # client library logs on stderr, for debugging
        import logging
        logging.basicConfig(level=os.environ["GROUP_CLIENTS_LOG"], stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _on_sigterm)
    threading.Thread(target=_watch_parent, daemon=True).start()
    emit("start", pid=os.getpid(), client=args.client)
    try:
        if args.client == "confluent":
            run_confluent(args)
        elif args.client == "kafka-python":
            run_kafka_python(args)
        else:
            asyncio.run(run_aiokafka(args))
    except BaseException as exc:
        emit("error", msg=f"crashed: {exc!r}")
        raise
    return 0


# ============================================================================ the test side


class GroupMember:
    """A ``python -m compat_tests.group_clients`` process and everything it reported.

    ``events`` are the parsed lines, each with ``at`` (time.monotonic() of the test process
    when the line arrived). Thread-safe accessors; ``wait(predicate)`` polls them.
    """

    def __init__(self, client: str, bootstrap: str, topic: str, group: str, *, name: str | None = None,
                 log_dir: Path | None = None, **options):
        self.client = client
        self.name = name or client
        argv = [sys.executable, "-m", "compat_tests.group_clients", client, bootstrap, topic, group]
        for key, value in options.items():
            if value is not None:
                argv += [f"--{key.replace('_', '-')}", str(value)]
        stem = f"{self.name}-{time.monotonic_ns()}"
        self._stderr = open(log_dir / f"{stem}.stderr", "wb") if log_dir else subprocess.DEVNULL
        self._events_log = open(log_dir / f"{stem}.events", "wb") if log_dir else None
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd=Path(__file__).resolve().parent.parent)
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if self._events_log is not None and not self._events_log.closed:
                self._events_log.write(line)
                self._events_log.flush()
            try:
                event = json.loads(line)
            except ValueError:
                event = {"ev": "garbage", "line": line.decode("utf-8", "replace")}
            event["at"] = time.monotonic()
            with self._lock:
                self.events.append(event)

    # -- views ---------------------------------------------------------------------

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.events)

    @property
    def assignment(self) -> set[int]:
        """The whole assignment after the last assign/revoke/lost event."""
        for event in reversed(self.snapshot()):
            if event["ev"] in ("assign", "revoke", "lost"):
                return set(event["now"])
        return set()

    def rebalance_events(self) -> list[dict]:
        return [e for e in self.snapshot() if e["ev"] in ("assign", "revoke", "lost")]

    def records(self, since: float | None = None) -> list[tuple]:
        """(partition, offset, key, value) of every record consumed (arrived after ``since``)."""
        return [tuple(r) for e in self.snapshot() if e["ev"] == "recs" and (since is None or e["at"] > since)
                for r in e["recs"]]

    def deliveries(self) -> list[tuple[int, tuple]]:
        """(assignment epoch, record): the epoch counts the assign events seen before the record."""
        epoch, out = 0, []
        for e in self.snapshot():
            if e["ev"] == "assign":
                epoch += 1
            elif e["ev"] == "recs":
                out.extend((epoch, tuple(r)) for r in e["recs"])
        return out

    def values(self) -> list[str]:
        return [r[3] for r in self.records()]

    def commits(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for e in self.snapshot():
            if e["ev"] == "commit":
                out.update({int(p): o for p, o in e["offsets"].items()})
        return out

    def errors(self) -> list[str]:
        return [e["msg"] for e in self.snapshot() if e["ev"] == "error"]

    def has(self, ev: str) -> bool:
        return any(e["ev"] == ev for e in self.snapshot())

    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- control -------------------------------------------------------------------

    def terminate(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()

    def wait_exit(self, timeout_s: float = 30) -> int:
        code = self.proc.wait(timeout_s)
        self._reader.join(5)
        return code

    def close(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL)."""
        if self.alive():
            self.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()
        if self._events_log is not None:
            self._events_log.close()

    def __repr__(self) -> str:
        return f"<GroupMember {self.name} pid={self.proc.pid} assignment={sorted(self.assignment)}>"


def wait_until(predicate, timeout_s: float, message, interval_s: float = 0.05):
    """Poll ``predicate`` until it is truthy; AssertionError with ``message()`` (or str) on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval_s)


def wait_settled(members: list[GroupMember], partitions: int, sizes: list[int], *, quiet_s: float = 1.0,
                 timeout_s: float = 40) -> float:
    """Wait until the members own disjoint partitions that cover ``range(partitions)``, with
    these assignment sizes, and no assignment event arrived for ``quiet_s``. Returns the arrival
    time (time.monotonic()) of the last assignment event."""

    def settled():
        assignments = [m.assignment for m in members]
        owned = [p for a in assignments for p in a]
        if sorted(owned) != list(range(partitions)) or sorted(len(a) for a in assignments) != sorted(sizes):
            return None
        last = max((e["at"] for m in members for e in m.rebalance_events()), default=0.0)
        return last if time.monotonic() - last >= quiet_s else None

    return wait_until(settled, timeout_s, lambda: f"group did not settle on sizes {sizes}: {members}, "
                      f"errors {[m.errors() for m in members]}")


def decode_assignment(data: bytes) -> dict[str, list[int]]:
    """A ConsumerProtocolAssignment (any version: the v0 prefix) -> {topic: [partitions]}."""
    import struct
    if not data:
        return {}
    pos = 2
    (count,) = struct.unpack_from(">i", data, pos)
    pos += 4
    out = {}
    for _ in range(count):
        (length,) = struct.unpack_from(">h", data, pos)
        pos += 2
        topic = data[pos:pos + length].decode()
        pos += length
        (n,) = struct.unpack_from(">i", data, pos)
        pos += 4
        out[topic] = sorted(struct.unpack_from(f">{n}i", data, pos))
        pos += 4 * n
    return out


def describe_group(bootstrap: str, group: str) -> dict:
    """The broker's view of a group, by a raw DescribeGroups v5."""
    from broker.testing import RawClient
    from kproto.messages import DESCRIBE_GROUPS
    with RawClient(bootstrap) as raw:
        response = raw.request(DESCRIBE_GROUPS, 5, {"groups": [group], "include_authorized_operations": False})
    (described,) = response["groups"]
    return described


def broker_assignments(bootstrap: str, group: str, topic: str) -> dict[str, set[int]]:
    """client id -> partitions of ``topic``, as the broker holds them (Stable groups only)."""
    described = describe_group(bootstrap, group)
    assert described["group_state"] == "Stable", described
    return {m["client_id"]: set(decode_assignment(m["member_assignment"]).get(topic, []))
            for m in described["members"]}


def committed_offsets(bootstrap: str, group: str, topic: str | None = None, partitions: int = 0,
                      version: int = 8) -> dict:
    """A raw OffsetFetch: {(topic, partition): (offset, metadata)}; topic None asks for all topics."""
    from broker.testing import RawClient
    from kproto.messages import OFFSET_FETCH
    topics = None if topic is None else [{"name": topic, "partition_indexes": list(range(partitions))}]
    with RawClient(bootstrap) as raw:
        if version >= 8:
            response = raw.request(OFFSET_FETCH, version, {"groups": [{"group_id": group, "topics": topics}],
                                                          "require_stable": False})
            (answer,) = response["groups"]
        else:
            answer = raw.request(OFFSET_FETCH, version, {"group_id": group, "topics": topics,
                                                        "require_stable": False})
    assert answer.get("error_code", 0) == 0, answer
    out = {}
    for t in answer["topics"]:
        for p in t["partitions"]:
            assert p["error_code"] == 0, (t["name"], p)
            out[(t["name"], p["partition_index"])] = (p["committed_offset"], p["metadata"])
    return out


if __name__ == "__main__":
    sys.exit(main())
