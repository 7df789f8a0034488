"""Topics created, used and deleted leave nothing behind in the broker: no partition log, no
topic record, no entry keyed by their names in any of the broker's tables (what would make
memory grow with the number of topics a long run has seen)."""

from __future__ import annotations

import gc
import weakref

from broker.tests.handlers.serving import batch, fetch_body, produce
from kproto.messages import CREATE_TOPICS, DELETE_TOPICS, FETCH, METADATA


def _keyed_by(container, names: set[str]) -> bool:
    keys = container.keys() if isinstance(container, dict) else container
    for key in list(keys):
        if key in names if isinstance(key, str) else (
                isinstance(key, tuple) and key and isinstance(key[0], str) and key[0] in names):
            return True
    return False


def _tables_keyed_by(root, names: set[str]) -> list[str]:
    """The dicts and sets reachable from ``root`` with a key that is one of ``names`` (or a tuple
    starting with one). A walk of references, not gc.get_objects(): a dict of only strings is
    not tracked by the collector."""
    seen, todo, found = {id(names)}, [root], []
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (dict, set, frozenset)) and obj and _keyed_by(obj, names):
            found.append(f"{type(obj).__name__} of {len(obj)}")
        todo.extend(gc.get_referents(obj))
    return found


def test_deleted_topics_leave_nothing_behind(own_broker):
    names = [f"churn-{i:03d}" for i in range(40)]
    with own_broker() as served, served.client() as client:
        response = client.request(CREATE_TOPICS, 7, {"timeout_ms": 5000, "topics": [
            {"name": name, "num_partitions": 2, "replication_factor": 1, "assignments": [], "configs": []}
            for name in names[:20]]})
        assert [t["error_code"] for t in response["topics"]] == [0] * 20
        response = client.request(METADATA, 12, {"topics": [{"name": n, "topic_id": bytes(16)} for n in names[20:]],
                                                 "allow_auto_topic_creation": True,
                                                 "include_topic_authorized_operations": False})
        assert [t["error_code"] for t in response["topics"]] == [0] * 20   # auto-created
        for name in names:   # used: written, read, listed
            assert produce(client, name, batch(b"v"))["error_code"] == 0
            client.request(FETCH, 12, fetch_body(name, {0: 0}))
        client.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                      "include_topic_authorized_operations": False})
        storage = served.broker.storage
        held = served.call(lambda: [weakref.ref(log) for log in storage.logs() if log.topic in names]
                           + [weakref.ref(storage.topic(name)) for name in names])
        assert len(held) == 20 * 2 + 20 + 40   # auto-created topics have one partition
        response = client.request(DELETE_TOPICS, 6, {"timeout_ms": 5000, "topics": [
            {"name": name, "topic_id": bytes(16)} for name in names]})
        assert [t["error_code"] for t in response["responses"]] == [0] * 40
        client.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                      "include_topic_authorized_operations": False})

        def leftovers():
            gc.collect()
            return [ref() for ref in held if ref() is not None], _tables_keyed_by(served.broker, set(names))
        assert served.call(leftovers) == ([], [])
