"""acks 0, 1 and all (-1) with each client: everything delivered, offsets right; acks=0 gets no response."""

from __future__ import annotations

import struct

import pytest

from broker.testing import RawClient
from compat_tests.clients import CLIENTS, Out, consume, create_topic, end_offsets, produce
from kproto.codec import decode_response
from kproto.messages import METADATA, PRODUCE
from storage import Record, build_batch

COUNT = 600
PARTITIONS = 2


def acks_config(client: str, acks: int) -> dict:
    if client == "confluent":
        return {"acks": acks}
    if client == "kafka-python":
        # kafka-python 3 turns idempotence on by default, which requires acks=all
        return {"acks": "all" if acks == -1 else acks, "enable_idempotence": acks == -1}
    return {"acks": "all" if acks == -1 else acks}


@pytest.mark.parametrize("acks", [0, 1, -1], ids=["acks0", "acks1", "acks-all"])
@pytest.mark.parametrize("client", CLIENTS)
def test_acks(client, acks, bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    messages = [Out(b"k%d" % (i % 10), b"%s-%d" % (client.encode(), i), partition=i % PARTITIONS)
                for i in range(COUNT)]
    deliveries = produce(client, bootstrap, topic_name, messages, **acks_config(client, acks))
    assert [d.error for d in deliveries] == [None] * COUNT
    if acks != 0:   # with acks=0 no client can know the offsets (each reports its own placeholder)
        for p in range(PARTITIONS):
            assert [d.offset for d in deliveries if d.partition == p] == list(range(COUNT // PARTITIONS))

    assert end_offsets(bootstrap, topic_name, PARTITIONS) == [COUNT // PARTITIONS] * PARTITIONS
    reader = CLIENTS[(CLIENTS.index(client) + 1) % len(CLIENTS)]
    received = consume(reader, bootstrap, topic_name, PARTITIONS, COUNT)
    for p in range(PARTITIONS):
        assert [(r.offset, r.value) for r in received if r.partition == p] == [
            (n, m.value) for n, m in enumerate(m for m in messages if m.partition == p)]


def test_acks0_sends_no_response_frame(bootstrap, topic_name):
    """Raw: after an acks=0 Produce, the next frame on the socket answers the next request."""
    create_topic("confluent", bootstrap, topic_name, 1)
    with RawClient(bootstrap) as raw:
        for i in range(3):
            batch = build_batch([Record(timestamp=1_700_000_000_000 + i, key=b"k", value=b"v%d" % i)])
            raw.send(PRODUCE, 9, {"transactional_id": None, "acks": 0, "timeout_ms": 5000, "topic_data": [
                {"name": topic_name, "partition_data": [{"index": 0, "records": batch}]}]})
        metadata_id = raw.send(METADATA, 9, {"topics": [{"name": topic_name}], "allow_auto_topic_creation": False,
                                             "include_cluster_authorized_operations": False,
                                             "include_topic_authorized_operations": False})
        frame = raw.read_frame()
        assert struct.unpack(">i", frame[:4])[0] == metadata_id, "a response came for an acks=0 produce"
        _, metadata = decode_response(frame, METADATA, 9)
        assert metadata["topics"][0]["error_code"] == 0
        assert not raw.is_closed(wait_s=0.3)
    assert end_offsets(bootstrap, topic_name, 1) == [3]
