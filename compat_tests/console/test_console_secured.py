"""The console of a broker with SASL users and ACLs, in the browser: what the admin sees, and what
alice (no ACLs but READ on one topic) sees, each sending HTTP Basic credentials as a browser
does once the user has typed them (the header set through Chromium's DevTools protocol)."""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("broker.security", reason="this build has no SASL listeners or ACLs (broker/security)")

from confluent_kafka import Producer   # noqa: E402
from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, AdminClient,   # noqa: E402
                                   NewTopic, ResourcePatternType, ResourceType)

from broker.testing import BrokerProcess, free_port   # noqa: E402
from compat_tests.console.conftest import screenshot   # noqa: E402
from compat_tests.console.test_console_pages import column, text, wait_for   # noqa: E402

USERS = {"admin": "admin-secret", "alice": "alice-secret"}
SHARED, PRIVATE = "shared-orders", "private-orders"


def sasl(user: str) -> dict:
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.username": user,
            "sasl.password": USERS[user]}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-secured")
    (root / "users").write_text("".join(f"{user}:{password}\n" for user, password in USERS.items()))
    http_port = free_port()
    process = BrokerProcess(root / "data", log_path=root / "broker.log", overrides={"super.users": "User:admin"},
                            args=["--sasl-users", str(root / "users"), "--acl", "--http-port", str(http_port)]).start()
    process.url = f"http://127.0.0.1:{http_port}"
    admin = AdminClient({"bootstrap.servers": process.bootstrap, **sasl("admin")})
    for future in admin.create_topics([NewTopic(SHARED, 1, 1), NewTopic(PRIVATE, 1, 1)]).values():
        future.result(10)
    producer = Producer({"bootstrap.servers": process.bootstrap, **sasl("admin")})
    for topic in (SHARED, PRIVATE):
        producer.produce(topic, value=f"hello from {topic}".encode())
    assert producer.flush(10) == 0
    read = AclBinding(ResourceType.TOPIC, SHARED, ResourcePatternType.LITERAL, "User:alice", "*",
                      AclOperation.READ, AclPermissionType.ALLOW)
    for future in admin.create_acls([read]).values():
        future.result(10)
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


def as_user(browser, user: str | None) -> None:
    """Every request the browser sends from now on carries ``user``'s credentials (None: none)."""
    browser.execute_cdp_cmd("Network.enable", {})
    token = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode() if user else None
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                            {"headers": {"Authorization": f"Basic {token}"} if token else {}})


def open_page(browser, url: str, path: str, ready: str):
    browser.get("about:blank")
    browser.get(url + "/#" + path)
    wait_for(lambda: browser.execute_script("return document.getElementById('page').dataset.ready") == ready,
             f"page {path} ({ready})")


def test_the_admin_sees_every_topic_and_alice_only_hers(browser, secured, shots):
    try:
        as_user(browser, "admin")
        open_page(browser, secured.url, "/topics", "topics")
        assert {SHARED, PRIVATE} <= set(column(browser, "topics-table", "name"))
        screenshot(browser, shots, "20-secured-topics-admin")
        open_page(browser, secured.url, "/", "overview")
        assert text(browser, "[data-test=topic-count]") == "2"

        as_user(browser, "alice")
        open_page(browser, secured.url, "/topics", "topics")
        assert set(column(browser, "topics-table", "name")) == {SHARED}
        screenshot(browser, shots, "21-secured-topics-alice")
        open_page(browser, secured.url, f"/messages/{SHARED}", "messages")
        wait_for(lambda: column(browser, "messages-table", "value") == [f"hello from {SHARED}"], "alice's message")
        open_page(browser, secured.url, "/", "error")                 # the overview spans the cluster
        assert "CLUSTER_AUTHORIZATION_FAILED" in text(browser, "[data-test=error]")
        open_page(browser, secured.url, f"/messages/{PRIVATE}", "error")
        assert "TOPIC_AUTHORIZATION_FAILED" in text(browser, "[data-test=error]")
        screenshot(browser, shots, "22-secured-refused-alice")
    finally:
        as_user(browser, None)
        browser.get_log("browser")      # the refusals' 403s are expected here, not errors for later tests
