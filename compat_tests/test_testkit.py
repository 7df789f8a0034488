"""The pytest plugin as a project uses it: the sample project under testkit_sample/, which knows
only the installed plugin (entry point ``pytest11``), run by pytest in a process of its own.

It exercises confluent-kafka, kafka-python and aiokafka (anyio and pytest-asyncio) against the
``kafka_broker`` fixture, each kind of fault, ``kb.records``, stop and start, the marker and the
ini option, the process flavour; two of its tests fail on purpose and one leaks a broker, to
check what the report shows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

pytest_plugins = ["pytester"]

SAMPLE = Path(__file__).parent / "testkit_sample"


def test_the_sample_project_runs_with_the_installed_plugin(pytester):
    for path in SAMPLE.iterdir():
        if path.is_file():
            shutil.copy(path, pytester.path / path.name)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", timeout=300)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 2 and outcomes.get("passed") == 15, result.stdout.str()
    result.stdout.fnmatch_lines([
        "FAILED test_reports.py::test_fails_on_purpose_and_shows_the_broker_log - *",
        "FAILED test_reports.py::test_fails_on_purpose_in_a_broker_process - *"], consecutive=False)
    text = result.stdout.str()
    # the in-process broker's lines in pytest's own log section of the failing test
    in_process = text[text.index("_ test_fails_on_purpose_and_shows_the_broker_log _"):]
    assert "Captured log call" in in_process
    assert "fault 1: Produce" in in_process and "answered NOT_ENOUGH_REPLICAS" in in_process.split("_ test_")[1]
    # the broker process's lines in a section of their own
    process = text[text.index("_ test_fails_on_purpose_in_a_broker_process _"):]
    assert "Captured kafka broker 127.0.0.1:" in process
    assert "fault 1: Metadata" in process and "LEADER_NOT_AVAILABLE" in process
    # the leak, named by test
    result.stdout.fnmatch_lines(["*KafkaBrokerLeakWarning: test_reports.py::test_leaks_a_broker_on_purpose "
                                 "started a KafkaBroker (127.0.0.1:*) and never closed it*"])
