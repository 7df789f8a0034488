"""kafkajs (Node.js; pinned in compat_tests/kafkajs/package.json) against the broker, as a Node user runs it.

Each test runs one scenario of ``compat_tests/kafkajs/scenarios.js`` in a ``node`` process: the scenario
drives kafkajs and prints what kafkajs saw as one JSON object; the assertions are here, next to raw looks
at the log. ``make test`` installs kafkajs (``npm ci --prefix compat_tests/kafkajs``); without node or
without that install the tests skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from broker.testing import RawClient
from compat_tests.clients import Window, batch_headers, fetch_log, list_offsets
from compat_tests.group_clients import committed_offsets
from kproto.messages import METADATA

KAFKAJS = Path(__file__).parent / "kafkajs"
SCENARIOS = KAFKAJS / "scenarios.js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(not (KAFKAJS / "node_modules" / "kafkajs" / "package.json").is_file(),
                       reason="kafkajs is not installed: run `npm ci --prefix compat_tests/kafkajs` (make test does)"),
]

GZIP = 1
HOST = "/127.0.0.1"   # DescribeGroups' client_host, as Kafka writes it


def run(scenario: str, bootstrap: str, **args) -> dict:
    """Run one scenario; its JSON output. kafkajs's own log (stderr) goes in the failure message."""
    done = subprocess.run([NODE, str(SCENARIOS), scenario, json.dumps({"bootstrap": bootstrap, **args})],
                          cwd=KAFKAJS, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, f"kafkajs {scenario} exited {done.returncode}:\n{done.stderr[-6000:]}"
    return json.loads(done.stdout)


def partition_of(key: str, partitions: int) -> int:
    """kafkajs's DefaultPartitioner: Java's murmur2 of the key, made positive, modulo the partition count."""
    from kafka.partitioner.default import murmur2
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def offsets(committed: int | list[int], partitions: int, topic: str) -> list[dict]:
    """kafkajs's fetchOffsets answer for one topic: each partition's offset, or the same for all."""
    values = committed if isinstance(committed, list) else [committed] * partitions
    return [{"topic": topic, "partitions": [{"partition": p, "offset": str(v), "metadata": None}
                                            for p, v in enumerate(values)]}]


# ----------------------------------------------------------------------------- (1) admin


def test_admin_create_list_metadata_delete(bootstrap, topic_name):
    other = f"{topic_name}-other"
    out = run("admin", bootstrap, topic=topic_name, other=other)
    with RawClient(bootstrap) as raw:
        cluster_id = raw.request(METADATA, 12, {"topics": [], "allow_auto_topic_creation": False,
                                                "include_topic_authorized_operations": False})["cluster_id"]
    host, port = bootstrap.rsplit(":", 1)
    assert out == {
        "created": True,
        "createdAgain": False,   # kafkajs answers false when every topic is TOPIC_ALREADY_EXISTS
        "listed": sorted([topic_name, other]),
        "metadata": {"topics": [{"name": topic_name, "partitions": [
            {"partitionErrorCode": 0, "partitionId": p, "leader": 1, "replicas": [1], "isr": [1],
             "offlineReplicas": []} for p in range(3)]}]},
        "cluster": {"brokers": [{"nodeId": 1, "host": host, "port": int(port)}], "controller": 1,
                    "clusterId": cluster_id},
        "offsets": [{"partition": p, "offset": "0", "high": "0", "low": "0"} for p in range(3)],
        "listedAfterDelete": [other],
        "metadataAfterDelete": {"name": "KafkaJSProtocolError", "type": "UNKNOWN_TOPIC_OR_PARTITION"},
        "deleteAgain": {"name": "KafkaJSNumberOfRetriesExceeded",
                        "cause": {"name": "KafkaJSProtocolError", "type": "UNKNOWN_TOPIC_OR_PARTITION"}},
    }


# ----------------------------------------------------------------------------- (2) produce and consume


def test_keyed_messages_with_headers_plain_and_gzip_through_a_group(bootstrap, topic_name):
    count, partitions, per_send = 1000, 3, 100
    group = f"{topic_name}-g"
    window = Window()
    out = run("produceConsume", bootstrap, topic=topic_name, group=group, count=count)
    window.close()

    partition = [partition_of(f"key-{i % 17}", partitions) for i in range(count)]
    in_partition = defaultdict(list)   # partition -> message indexes in offset order
    for i, p in enumerate(partition):
        in_partition[p].append(i)
    offset_of = {i: n for indexes in in_partition.values() for n, i in enumerate(indexes)}

    # each send is one request: one batch per partition; its base offset counts what came before
    assert len(out["sent"]) == count // per_send
    for s, answer in enumerate(out["sent"]):
        first = s * per_send
        assert sorted(answer, key=lambda r: r["partition"]) == [
            {"topicName": topic_name, "partition": p, "errorCode": 0, "baseOffset": str(offset_of[i]),
             "logAppendTime": "-1", "logStartOffset": "0"}
            for p in range(partitions)
            for i in [min(i for i in range(first, first + per_send) if partition[i] == p)]]

    received = out["received"]
    assert len(received) == count
    by_partition = defaultdict(list)
    for m in received:
        assert m.pop("timestamp") in window
        by_partition[m["partition"]].append(m)

    def expected(i):
        headers = {"index": str(i), "codec": "none" if i < count // 2 else "gzip"}
        if i % 10 == 0:
            headers["tag"] = ["a", "b"]   # a header key given twice comes back as an array
        return {"topic": topic_name, "partition": partition[i], "offset": offset_of[i], "key": f"key-{i % 17}",
                "value": f"value-{i}", "headers": headers}

    # per partition in offset order, hence per key in the order sent
    assert sorted(by_partition) == list(range(partitions))
    for p in range(partitions):
        assert by_partition[p] == [expected(i) for i in in_partition[p]]

    # what is stored: per partition one batch per send, the last five gzip-compressed
    for p in range(partitions):
        headers = batch_headers(fetch_log(bootstrap, topic_name, p))
        per_batch = [sum(1 for i in range(s * per_send, (s + 1) * per_send) if partition[i] == p)
                     for s in range(count // per_send)]
        assert [(h.magic, h.attributes & 7, h.records_count, h.producer_id) for h in headers] == [
            (2, 0 if s < 5 else GZIP, n, -1) for s, n in enumerate(per_batch)]

    # the group's offsets: kafkajs's auto-commit, through to the end of each partition
    assert committed_offsets(bootstrap, group, topic_name, partitions) == {
        (topic_name, p): (len(in_partition[p]), "") for p in range(partitions)}


# ----------------------------------------------------------------------------- (3) a group of two, then one


def test_two_consumers_split_four_partitions_then_a_third_resumes(bootstrap, topic_name):
    group = f"{topic_name}-g"
    out = run("groupSplit", bootstrap, topic=topic_name, group=group)
    joins, received = out["joins"], out["received"]

    a_id, b_id = joins["a"][0]["memberId"], joins["b"][0]["memberId"]
    assert a_id.startswith("kafkajs-a-") and b_id.startswith("kafkajs-b-")

    def join(member_id, leader_id, assignment):
        return {"groupId": group, "memberId": member_id, "leaderId": leader_id, "isLeader": member_id == leader_id,
                "memberAssignment": {topic_name: assignment}, "groupProtocol": "RoundRobinAssigner"}

    for events in joins.values():
        for e in events:
            del e["duration"]
    # a alone holds all four; once b joins, round robin over the member ids sorted (a's first)
    assert joins["a"] == [join(a_id, a_id, [0, 1, 2, 3]), join(a_id, a_id, [0, 2])]
    assert joins["b"] == [join(b_id, a_id, [1, 3])]

    def member(member_id, client_id, assignment):
        return {"memberId": member_id, "clientId": client_id, "clientHost": HOST,
                "memberMetadata": {"version": 0, "topics": [topic_name], "userData": ""},
                "memberAssignment": {"version": 0, "assignment": {topic_name: assignment}, "userData": ""}}

    assert out["whileRunning"] == [{"errorCode": 0, "groupId": group, "state": "Stable", "protocolType": "consumer",
                                    "protocol": "RoundRobinAssigner",
                                    "members": [member(a_id, "kafkajs-a", [0, 2]), member(b_id, "kafkajs-b", [1, 3])]}]

    def messages(partitions, rounds):
        return {p: [(o, f"p{p}-{o}") for o in rounds] for p in partitions}

    def got(name):
        out = defaultdict(list)
        for m in received[name]:
            assert (m["topic"], m["key"], m["headers"]) == (topic_name, f"k{m['partition']}", {})
            out[m["partition"]].append((m["offset"], m["value"]))
        return dict(out)

    assert got("a") == messages([0, 2], range(10))
    assert got("b") == messages([1, 3], range(10))
    assert out["commitErrors"] == []
    assert out["committedBeforeLeaving"] == offsets(10, 4, topic_name)
    assert out["afterLeaving"] == [{"errorCode": 0, "groupId": group, "state": "Empty", "protocolType": "consumer",
                                    "protocol": "", "members": []}]

    # c starts from the group's offsets, not from the beginning it asks for
    c_id = joins["c"][0]["memberId"]
    assert c_id.startswith("kafkajs-c-")
    assert joins["c"] == [join(c_id, c_id, [0, 1, 2, 3])]
    assert got("c") == messages(range(4), range(10, 15))
    assert out["committedAtEnd"] == offsets(15, 4, topic_name)


# ----------------------------------------------------------------------------- (4) idempotent producer


def test_idempotent_producer_retry_after_a_lost_response_is_not_duplicated(bootstrap, topic_name):
    """The response to the second of three sends of ten is lost (the script's socket drops the connection
    when it arrives); kafkajs sends the same batch again, same producer id and sequence, and the broker
    answers it with the first copy's offset instead of appending it again."""
    out = run("idempotent", bootstrap, topic=topic_name, idempotent=True)
    correlation_id = out["events"][0]["correlationId"]
    assert out["events"] == [{"event": "produce request sent", "correlationId": correlation_id, "apiVersion": 7},
                             {"event": "produce response dropped", "correlationId": correlation_id}]
    assert [[r["baseOffset"] for r in send] for send in out["sent"]] == [["0"], ["10"], ["20"]]
    assert all(r["errorCode"] == 0 for send in out["sent"] for r in send)
    assert [(m["offset"], m["key"], m["value"]) for m in out["received"]] == [
        (10 * r + i, f"k{i}", f"r{r}-m{i}") for r in range(3) for i in range(10)]

    headers = batch_headers(fetch_log(bootstrap, topic_name))
    producer_id = headers[0].producer_id
    assert producer_id >= 0
    assert [(h.base_offset, h.records_count, h.producer_id, h.producer_epoch, h.base_sequence) for h in headers] == [
        (10 * r, 10, producer_id, 0, 10 * r) for r in range(3)]


def test_plain_producer_retry_after_a_lost_response_is_duplicated(bootstrap, topic_name):
    """The same lost response without idempotence: the retry is appended again, as in Kafka. This shows the
    lost response really makes kafkajs send the batch twice."""
    out = run("idempotent", bootstrap, topic=topic_name, idempotent=False)
    assert [e["event"] for e in out["events"]] == ["produce request sent", "produce response dropped"]
    assert [[r["baseOffset"] for r in send] for send in out["sent"]] == [["0"], ["20"], ["30"]]
    assert [m["value"] for m in out["received"]] == [f"r{r}-m{i}" for r in (0, 1, 1, 2) for i in range(10)]
    headers = batch_headers(fetch_log(bootstrap, topic_name))
    # kafkajs writes base_sequence 0, not -1, in a batch with no producer id (Kafka ignores it there)
    assert [(h.base_offset, h.records_count, h.producer_id, h.producer_epoch, h.base_sequence) for h in headers] == [
        (10 * b, 10, -1, 0, 0) for b in range(4)]


# ----------------------------------------------------------------------------- (5) the admin's view of a group


def test_admin_group_views_agree_with_what_happened(bootstrap, topic_name):
    """One member consumes 3 partitions of 10 and commits 10, 5 and nothing; then the admin API looks at the
    group running, empty, after setOffsets / resetOffsets, and deleted."""
    group = f"{topic_name}-g"
    out = run("groupAdmin", bootstrap, topic=topic_name, group=group)
    (joined,) = out["joins"]
    member_id = joined["memberId"]
    assert member_id.startswith("kafkajs-ga-member-")
    assert out["received"] == 30
    assert out["describedRunning"] == [{
        "errorCode": 0, "groupId": group, "state": "Stable", "protocolType": "consumer",
        "protocol": "RoundRobinAssigner",
        "members": [{"memberId": member_id, "clientId": "kafkajs-ga-member", "clientHost": HOST,
                     "memberMetadata": {"version": 0, "topics": [topic_name], "userData": ""},
                     "memberAssignment": {"version": 0, "assignment": {topic_name: [0, 1, 2]}, "userData": ""}}]}]
    assert out["listedRunning"] == [{"groupId": group, "protocolType": "consumer"}]
    assert out["offsetsRunning"] == offsets([10, 5, -1], 3, topic_name)
    assert out["setWhileRunning"] == {
        "name": "KafkaJSNonRetriableError",
        "message": "The consumer group must have no running instances, current state: Stable"}

    assert out["describedEmpty"] == [{"errorCode": 0, "groupId": group, "state": "Empty", "protocolType": "consumer",
                                      "protocol": "", "members": []}]
    assert out["listedEmpty"] == [{"groupId": group, "protocolType": "consumer"}]
    assert out["offsetsEmpty"] == offsets([10, 5, -1], 3, topic_name)
    # all topics (OffsetFetch with null topics): only the partitions with a committed offset
    assert out["offsetsAllTopics"] == [{"topic": topic_name, "partitions": [
        {"partition": 0, "offset": "10", "metadata": None}, {"partition": 1, "offset": "5", "metadata": None}]}]

    assert out["offsetsAfterSet"] == offsets([10, 5, 3], 3, topic_name)
    assert out["offsetsAfterReset"] == offsets(-2, 3, topic_name)   # kafkajs commits -2 (earliest) as is
    assert out["topicOffsets"] == [{"partition": p, "offset": "10", "high": "10", "low": "0"} for p in range(3)]
    assert out["offsetsByTimestamp"] == {"past": [{"partition": p, "offset": "0"} for p in range(3)],
                                         "future": [{"partition": p, "offset": "10"} for p in range(3)]}
    # "future" is kafkajs's stand-in: the broker itself answers -1 (no such message), as Kafka does
    assert list_offsets(bootstrap, topic_name, 3, time.time_ns() // 1_000_000 + 3600 * 1000) == [-1] * 3

    assert out["deleted"] == [{"groupId": group, "errorCode": 0}]
    assert out["listedDeleted"] == []
    assert out["describedDeleted"] == [{"errorCode": 0, "groupId": group, "state": "Dead", "protocolType": "",
                                        "protocol": "", "members": []}]
    assert out["offsetsDeleted"] == offsets(-1, 3, topic_name)


# ----------------------------------------------------------------------------- (6) configs


def test_configs_and_partitions(own_broker, topic_name):
    """kafkajs's describeConfigs, alterConfigs (the whole-set form) and createPartitions, on a broker of the
    test's own (the broker config it alters must not reach other tests)."""
    own_broker.start()
    out = run("configs", own_broker.bootstrap, topic=topic_name)
    dynamic_topic, default = 1, 5
    assert out["topic"] == [{"errorCode": 0, "configs": {
        "retention.ms": {"value": "3600000", "source": dynamic_topic, "readOnly": False, "isDefault": False,
                         "synonyms": [["retention.ms", "3600000", dynamic_topic]]},
        "segment.bytes": {"value": "1073741824", "source": default, "readOnly": False, "isDefault": True,
                          "synonyms": [["log.segment.bytes", "1073741824", default]]}}}]
    assert out["altered"] == [[0, None]]
    # AlterConfigs replaces the whole set: retention.ms is back to its default
    after = out["topicAfter"][0]["configs"]
    assert {k: (v["value"], v["source"]) for k, v in after.items()} == {
        "retention.ms": ("604800000", default), "segment.bytes": ("1000", dynamic_topic)}
    assert out["refused"] == {"name": "KafkaJSProtocolError", "type": "INVALID_CONFIG"}
    assert out["topicAfterRefused"][0]["configs"]["segment.bytes"]["value"] == "1000"
    broker = out["broker"][0]["configs"]
    assert {k: (v["value"], v["readOnly"]) for k, v in broker.items()} == {
        "num.partitions": ("1", True), "log.retention.hours": ("168", True), "advertised.listeners": (None, False)}
    assert out["brokerAltered"] == [[0, None]]
    assert out["brokerRefused"] == {"name": "KafkaJSProtocolError", "type": "INVALID_REQUEST"}
    assert out["topicRetention"][0]["configs"]["retention.ms"]["value"] == "7200000"
    assert (out["grown"], out["partitions"]) == (True, 3)
    assert out["shrunk"] == {"name": "KafkaJSProtocolError", "type": "INVALID_PARTITIONS"}
