"""max.connections.per.ip and max.connections: a connection beyond a limit is closed at once, the
ones admitted are served, a slot freed by a close is taken again, and refusals are logged once
per interval, not once each."""

from __future__ import annotations

import logging

import pytest

from kproto.messages import API_VERSIONS

HELLO = {"client_software_name": "test", "client_software_version": "1"}


def served_ok(client) -> bool:
    return client.request(API_VERSIONS, 3, HELLO)["error_code"] == 0


@pytest.mark.parametrize("setting", ["max_connections_per_ip", "max_connections"])
def test_a_connection_beyond_the_limit_is_closed_and_a_freed_slot_is_taken(own_broker, setting, caplog):
    caplog.set_level(logging.WARNING, logger="kbroker.connection")
    with own_broker(**{setting: 2}) as served:
        first, second = served.client(), served.client()
        assert served_ok(first) and served_ok(second)
        refused = [served.client() for _ in range(3)]
        assert all(client.is_closed() for client in refused)
        assert served_ok(first) and served_ok(second)    # those admitted are not disturbed
        first.close()
        for _ in range(50):    # the broker learns of the close when its loop next runs
            again = served.client()
            try:
                if served_ok(again):
                    break
            except ConnectionError:
                pass
            again.close()
        else:
            pytest.fail("the slot of a closed connection was not taken again")
        again.close()
        second.close()
        for client in refused:
            client.close()
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 1, lines     # three (or more) refusals in one interval: one line
    assert ("max.connections.per.ip" if setting == "max_connections_per_ip" else "(max.connections)") in lines[0]
