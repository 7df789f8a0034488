"""The console in a real browser: real clients make data, each page is opened, and what it shows is
checked (counts, message contents, lag numbers); changes made on the pages are checked through a
Kafka admin client. Every page is saved as a screenshot."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from compat_tests.console.conftest import screenshot

TOPIC, MESSAGES, PARTITIONS = "orders", 60, 3
EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
GROUP_EMPTY, GROUP_LIVE = "billing", "shipping"
LAG_PER_PARTITION = 5
WAIT_S = 15


def wait_for(predicate, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:   # the page is being redrawn: look again
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def data(console_broker):
    """Orders produced with librdkafka (keys, JSON values, one value of markup, headers); group
    billing committed 5 short of the end of each partition and left; group shipping stays joined."""
    bootstrap = console_broker.bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.metrics.push": True,
                         "client.id": "console-test-producer"})
    for i in range(MESSAGES):
        value = EVIL if i == 7 else json.dumps({"id": i, "item": f"widget-{i}", "qty": i % 4})
        producer.produce(TOPIC, key=f"order-{i}", value=value, headers={"source": b"test", "seq": str(i).encode()})
    assert producer.flush(10) == 0
    ends = {}
    billing = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP_EMPTY, "enable.auto.commit": False})
    for p in range(PARTITIONS):
        ends[p] = billing.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
    billing.commit(offsets=[TopicPartition(TOPIC, p, ends[p] - LAG_PER_PARTITION) for p in range(PARTITIONS)],
                   asynchronous=False)
    billing.close()
    shipping = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP_LIVE, "auto.offset.reset": "earliest",
                         "client.id": "shipping-client"})
    shipping.subscribe([TOPIC])
    wait_for(lambda: shipping.poll(0.2) is not None and shipping.assignment(), "shipping's assignment", 30)
    yield {"admin": admin, "producer": producer, "ends": ends}
    shipping.close()
    producer.flush(5)


def open_page(browser, console_broker, path: str, ready: str):
    browser.get("about:blank")     # a fresh page each time (the same address again would not reload)
    browser.get(console_broker.url + "/#" + path)
    wait_for(lambda: browser.execute_script("return document.getElementById('page').dataset.ready") == ready,
             f"page {path}")


def text(browser, selector: str) -> str:
    return browser.execute_script(f"const e = document.querySelector({json.dumps(selector)}); "
                                  "return e ? e.textContent : null")


def column(browser, table: str, col: str) -> list[str]:
    return browser.execute_script(
        f"return [...document.querySelectorAll('[data-test={table}] td[data-col={col}]')].map(e => e.textContent)")


def test_overview(browser, console_broker, data, shots):
    open_page(browser, console_broker, "/", "overview")
    wait_for(lambda: text(browser, "[data-test=messages-in]") == str(MESSAGES), "messages in")
    assert text(browser, "[data-test=topic-count]") == "1"                  # __consumer_offsets apart
    assert text(browser, "[data-test=partition-count]") == str(PARTITIONS)
    wait_for(lambda: text(browser, "[data-test=group-count]") == "2", "two groups")
    assert text(browser, "[data-test=listener]") == console_broker.bootstrap
    time.sleep(2.2)   # a couple of throughput samples for the chart
    screenshot(browser, shots, "01-overview")


def test_metrics_after_the_clients_traffic(console_broker, data):
    """/metrics, parsed by prometheus_client, after librdkafka's known traffic."""
    from prometheus_client.parser import text_string_to_metric_families

    def scrape() -> dict:
        with urllib.request.urlopen(console_broker.url + "/metrics", timeout=10) as answer:
            text_page = answer.read().decode()
        found = {}
        for family in text_string_to_metric_families(text_page):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    samples = scrape()
    assert samples[("kafka_server_brokertopicmetrics_messagesin_total", (("topic", TOPIC),))] == MESSAGES
    assert samples[("kafka_server_brokertopicmetrics_bytesin_total", (("topic", TOPIC),))] > MESSAGES * 20
    for p in range(PARTITIONS):
        labels = (("partition", str(p)), ("topic", TOPIC))
        assert samples[("kafka_log_log_logendoffset", labels)] == data["ends"][p]
        lag = (("consumergroup", GROUP_EMPTY), ("partition", str(p)), ("topic", TOPIC))
        assert samples[("kafka_consumergroup_lag", lag)] == LAG_PER_PARTITION
    assert samples[("kafka_consumergroup_lag_sum", (("consumergroup", GROUP_EMPTY),))] == LAG_PER_PARTITION * PARTITIONS
    assert samples[("kafka_network_requestmetrics_requests_total", (("request", "Produce"),))] >= 1
    assert samples[("kafka_server_socketservermetrics_connection_count", (("listener", "PLAINTEXT"),))] >= 2
    pushed = wait_for(lambda: [labels for (name, labels) in scrape()
                               if name == "org_apache_kafka_producer_record_queue_time_avg"
                               and ("client_id", "console-test-producer") in labels],
                      "the producer's pushed metrics on /metrics")
    assert pushed


def test_topics_list_and_create_from_the_page(browser, console_broker, data, shots):
    open_page(browser, console_broker, "/topics", "topics")
    names = column(browser, "topics-table", "name")
    assert TOPIC in names and "__consumer_offsets" not in names
    row = names.index(TOPIC)
    assert column(browser, "topics-table", "partitions")[row] == str(PARTITIONS)
    assert column(browser, "topics-table", "messages")[row] == str(MESSAGES)
    form = browser.find_element("css selector", "[data-test=create-topic]")
    form.find_element("name", "name").send_keys("made-on-the-page")
    partitions = form.find_element("name", "partitions")
    partitions.clear()
    partitions.send_keys("4")
    form.find_element("name", "configs").send_keys("retention.ms=3600000")
    form.find_element("css selector", "button").click()
    wait_for(lambda: "made-on-the-page" in column(browser, "topics-table", "name"), "the new topic listed")
    screenshot(browser, shots, "02-topics")
    metadata = data["admin"].list_topics(timeout=10).topics["made-on-the-page"]
    assert len(metadata.partitions) == 4
    [config] = data["admin"].describe_configs([ConfigResource("topic", "made-on-the-page")]).values()
    assert config.result(10)["retention.ms"].value == "3600000"


def test_topic_page_shows_offsets_and_edits_a_config(browser, console_broker, data, shots):
    open_page(browser, console_broker, f"/topics/{TOPIC}", "topic")
    assert column(browser, "partitions-table", "latest") == [str(data["ends"][p]) for p in range(PARTITIONS)]
    assert column(browser, "partitions-table", "earliest") == ["0"] * PARTITIONS
    assert column(browser, "partitions-table", "isr") == ["1"] * PARTITIONS
    field = browser.find_element("css selector", "input[data-config='retention.ms']")
    field.clear()
    field.send_keys("86400000")
    browser.find_element("css selector", "button[data-save='retention.ms']").click()
    resource = ConfigResource("topic", TOPIC)
    wait_for(lambda: data["admin"].describe_configs([resource])[resource].result(10)["retention.ms"].value
             == "86400000", "retention.ms changed for admin clients")
    screenshot(browser, shots, "03-topic")


def test_messages_page_shows_contents_as_text_never_markup(browser, console_broker, data, shots):
    open_page(browser, console_broker, f"/messages/{TOPIC}", "messages")
    browser.find_element("css selector", "[data-test=partition] option[value='-1']").click()
    wait_for(lambda: len(column(browser, "messages-table", "offset")) == 50, "the 50 newest messages")
    browser.find_element("css selector", "[data-test=limit] option[value='100']").click()
    wait_for(lambda: len(column(browser, "messages-table", "offset")) == MESSAGES, "every message")
    keys = column(browser, "messages-table", "key")
    values = column(browser, "messages-table", "value")
    by_key = dict(zip(keys, values))
    assert json.loads(by_key["order-59"]) == {"id": 59, "item": "widget-59", "qty": 3}
    search = browser.find_element("css selector", "[data-test=search]")
    search.send_keys("order-7")
    wait_for(lambda: column(browser, "messages-table", "key") == ["order-7"], "the search's one match")
    assert column(browser, "messages-table", "value") == [EVIL]              # shown as the text it is
    headers = column(browser, "messages-table", "headers")[0]
    assert "source: test" in headers and "seq: 7" in headers
    assert browser.execute_script("return window.__pwned") is None           # and nothing of it ran
    assert browser.execute_script("return document.querySelectorAll('main img, main script').length") == 0
    screenshot(browser, shots, "04-messages-search")
    search.clear()
    search.send_keys("widget-12")
    browser.find_element("css selector", "[data-test=format] option[value='json']").click()
    wait_for(lambda: column(browser, "messages-table", "key") == ["order-12"], "widget-12")
    assert column(browser, "messages-table", "value")[0] == json.dumps({"id": 12, "item": "widget-12", "qty": 0},
                                                                       indent=2)
    browser.find_element("css selector", "[data-test=format] option[value='hex']").click()
    wait_for(lambda: column(browser, "messages-table", "key")[0].startswith("6f 72 64 65 72"), "hex keys")
    screenshot(browser, shots, "05-messages-hex")


def test_produce_from_the_page_reaches_a_consumer(browser, console_broker, data, shots):
    open_page(browser, console_broker, f"/messages/{TOPIC}", "messages")
    form = browser.find_element("css selector", "[data-test=produce]")
    form.find_element("css selector", "select[name=partition] option[value='2']").click()
    form.find_element("name", "key").send_keys("from-the-page")
    form.find_element("name", "value").send_keys('{"hello": "browser"}')
    form.find_element("name", "headers").send_keys("origin=console")
    form.find_element("css selector", "button").click()
    browser.find_element("css selector", "[data-test=partition] option[value='2']").click()
    wait_for(lambda: "from-the-page" in column(browser, "messages-table", "key"), "the produced message listed")
    screenshot(browser, shots, "06-messages-produced")
    consumer = Consumer({"bootstrap.servers": console_broker.bootstrap, "group.id": "reader-of-produced"})
    consumer.assign([TopicPartition(TOPIC, 2, data["ends"][2])])
    message = wait_for(lambda: consumer.poll(0.5), "the consumer's message")
    consumer.close()
    assert (message.key(), message.value(), message.headers()) == \
        (b"from-the-page", b'{"hello": "browser"}', [("origin", b"console")])


def ends_now(console_broker) -> list[int]:
    """Each partition's end offset now: an earlier test may have produced more (from the page)."""
    consumer = Consumer({"bootstrap.servers": console_broker.bootstrap, "group.id": "ends-reader"})
    ends = [consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in range(PARTITIONS)]
    consumer.close()
    return ends


def billing_lags(console_broker, data) -> list[int]:
    """The lag of each partition for the group that committed LAG_PER_PARTITION short of the ends."""
    return [end - (data["ends"][p] - LAG_PER_PARTITION) for p, end in enumerate(ends_now(console_broker))]


def test_groups_page_and_lag(browser, console_broker, data, shots):
    open_page(browser, console_broker, "/groups", "groups")
    groups = column(browser, "groups-table", "group_id")
    assert GROUP_EMPTY in groups and GROUP_LIVE in groups
    row = groups.index(GROUP_EMPTY)
    assert column(browser, "groups-table", "state")[row] == "Empty"
    assert column(browser, "groups-table", "lag")[row] == str(sum(billing_lags(console_broker, data)))
    assert column(browser, "groups-table", "members")[groups.index(GROUP_LIVE)] == "1"
    screenshot(browser, shots, "07-groups")


def test_live_group_members_and_assignment(browser, console_broker, data, shots):
    open_page(browser, console_broker, f"/groups/{GROUP_LIVE}", "group")
    assert text(browser, "[data-test=state]") == "Stable"
    assert column(browser, "members-table", "client_id") == ["shipping-client"]
    assert column(browser, "members-table", "assignment") == [f"{TOPIC} [0, 1, 2]"]
    screenshot(browser, shots, "08-group-live")


def test_group_lag_chart_reset_and_delete(browser, console_broker, data, shots):
    open_page(browser, console_broker, f"/groups/{GROUP_EMPTY}", "group")
    lags = billing_lags(console_broker, data)
    assert column(browser, "lag-table", "lag") == [str(lag) for lag in lags]
    assert text(browser, "[data-test=total-lag]") == str(sum(lags))
    browser.find_element("css selector", "[data-test=reset-to] option[value='earliest']").click()
    browser.find_element("css selector", "[data-test=reset]").click()
    ends = ends_now(console_broker)
    wait_for(lambda: column(browser, "lag-table", "lag") == [str(e) for e in ends], "lag after the reset")
    wait_for(lambda: text(browser, "[data-test=total-lag]") == str(sum(ends)), "total lag after the reset")
    time.sleep(2.5)    # lag samples after the reset, and a redraw: the chart steps up
    screenshot(browser, shots, "09-group-reset")
    committed = Consumer({"bootstrap.servers": console_broker.bootstrap, "group.id": GROUP_EMPTY}).committed(
        [TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)
    assert [tp.offset for tp in committed] == [0, 0, 0]
    browser.find_element("css selector", "[data-test=delete-group]").click()
    browser.switch_to.alert.accept()
    wait_for(lambda: browser.execute_script("return location.hash") == "#/groups", "back to the groups")
    wait_for(lambda: GROUP_EMPTY not in column(browser, "groups-table", "group_id"), "the group gone")


def test_a_live_group_cannot_be_reset_or_deleted(browser, console_broker, data):
    open_page(browser, console_broker, f"/groups/{GROUP_LIVE}", "group")
    assert browser.find_element("css selector", "[data-test=reset]").get_attribute("disabled") is not None
    assert browser.find_element("css selector", "[data-test=delete-group]").get_attribute("disabled") is not None


def test_clients_page_shows_pushed_metrics(browser, console_broker, data, shots):
    open_page(browser, console_broker, "/clients", "clients")
    wait_for(lambda: "console-test-producer" in column(browser, "client-metrics", "name") or
             "console-test-producer" in (browser.execute_script(
                 "return [...document.querySelectorAll('[data-test=client-id]')].map(e => e.textContent)") or []),
             "the producer's pushed metrics")
    names = column(browser, "client-metrics", "name")
    assert "org.apache.kafka.producer.record.queue.time.avg" in names
    screenshot(browser, shots, "10-clients")


def test_delete_a_topic_from_the_page(browser, console_broker, data, shots):
    open_page(browser, console_broker, "/topics/made-on-the-page", "topic")
    browser.find_element("css selector", "[data-test=delete-topic]").click()
    browser.switch_to.alert.accept()
    wait_for(lambda: browser.execute_script("return location.hash") == "#/topics", "back to the topics")
    wait_for(lambda: "made-on-the-page" not in column(browser, "topics-table", "name"), "the topic gone")
    assert "made-on-the-page" not in data["admin"].list_topics(timeout=10).topics


def test_no_errors_in_the_browser_console(browser):
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
              and "favicon" not in entry["message"]]
    assert errors == []
