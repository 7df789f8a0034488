"""Fixtures for the console's tests: a broker process with its HTTP port on, real clients' data in
it, and headless Chromium (Debian's, driven by Selenium through chromedriver).

Screenshots of every page are written to ``test-artifacts/console/`` at the top of the work tree
(or ``$KBROKER_ARTIFACTS``/console); the path is printed at the end of the run. Without
Chromium and chromedriver (``.ci/install-system-deps`` installs them, and says so when it
cannot) the browser tests skip, saying so; anything else missing or broken fails them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from broker.testing import BrokerProcess, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("KBROKER_ARTIFACTS", ROOT / "test-artifacts")) / "console"
_taken: list[Path] = []


class ConsoleBroker(BrokerProcess):
    def __init__(self, data_dir: Path, log_path: Path):
        self.http_port = free_port()
        super().__init__(data_dir, log_path=log_path, args=["--http-port", str(self.http_port)], overrides={
            "http.lag.sample.interval.ms": "200", "telemetry.push.interval.ms": "500"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@pytest.fixture(scope="package")
def console_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("console")
    process = ConsoleBroker(root / "data", root / "broker.log").start()
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


@pytest.fixture(scope="package")
def browser(tmp_path_factory):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.skip(f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} missing; "
                    ".ci/install-system-deps installs them)")
    from selenium import webdriver     # the test extra: missing, it is an error, not a skip
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="package")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    return SHOTS


def screenshot(driver, folder: Path, name: str) -> Path:
    """The whole page, as tall as its content, into ``folder/name.png``."""
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 1000)")
    driver.set_window_size(1400, min(height + 40, 4000))
    driver.execute_script("window.scrollTo(0, 0)")
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    _taken.append(path)
    return path


def pytest_terminal_summary(terminalreporter):
    if _taken:
        terminalreporter.write_line(f"console screenshots ({len(_taken)}): {SHOTS}")
