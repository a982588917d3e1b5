"""The web app in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`, driven by
selenium) against a real `hierskp serve` process on 127.0.0.1, over a tiny real library. One browser
session walks the three pages and saves a screenshot of each (in the test's temp folder; set
HIERSKP_SCREENSHOTS=DIR to also copy them there, e.g. docs/img)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from .conftest import start_server, stop, wait_ready

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver && pip install selenium (CI: .ci/run installs them)"


def listening(proc: subprocess.Popen, port: int) -> set[str]:
    return {
        c.laddr.ip
        for c in psutil.Process(proc.pid).net_connections("inet")
        if c.status == "LISTEN" and c.laddr.port == port
    }


def browser():  # type: ignore[no-untyped-def]
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("python package selenium")
    if missing:
        pytest.fail(f"the browser test needs {', '.join(missing)}: {INSTALL}")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio"):  # fmt: skip
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def wait(driver, script: str, timeout: float = 60):  # type: ignore[no-untyped-def]
    """Poll a JS expression until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}\nlast value: {value!r}")


def shoot(driver, tmp_path: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / f"serve_{name}.png"
    driver.save_screenshot(str(out))
    if os.environ.get("HIERSKP_SCREENSHOTS"):
        shutil.copy(out, Path(os.environ["HIERSKP_SCREENSHOTS"]) / out.name)
    return out


@pytest.fixture(scope="module")
def servers(library, tmp_path_factory):
    """Two real servers started at once: the default one (what the browser visits) and one told --host 0.0.0.0."""
    state = tmp_path_factory.mktemp("state")
    default, p1 = start_server(library, state / "a")
    wide, p2 = start_server(library, state / "b", "--host", "0.0.0.0")
    try:
        wait_ready(default, p1)
        wait_ready(wide, p2)
        yield {"default": (default, p1), "wide": (wide, p2)}
    finally:
        stop(default), stop(wide)


def test_pages_in_a_real_browser(library, servers, tmp_path, capsys):
    from hierskp.cli import main

    _, port = servers["default"]
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        driver = browser()
        # search: type a query, get cards whose thumbnails load
        driver.get(base + "/")
        box = driver.find_element("id", "q")
        box.send_keys("dissection of the mesentery\n")
        n = wait(driver, "document.querySelectorAll('.card').length")
        assert n >= 3
        wait(driver, "[...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)")
        cards = driver.find_elements("css selector", ".card")
        target = next(c for c in cards if float(c.get_attribute("data-start")) > 0)
        start, vid = float(target.get_attribute("data-start")), target.get_attribute("data-video")
        # click: the page's player plays the source video from the hit's start (range requests let it seek)
        target.click()
        t = wait(
            driver,
            f"(v => v.readyState >= 2 && v.currentTime >= {start} - 0.05 && v.currentTime)(document.getElementById('player'))",
        )
        assert start - 0.05 <= t < start + 5
        driver.execute_script("window.scrollTo(0, 0)")
        shoot(driver, tmp_path, "search")
        # video page: both timelines, the images, provenance and integrity
        driver.get(f"{base}/video?id={vid}")
        wait(driver, "document.querySelectorAll('#timeline-annotated .span').length")
        wait(driver, "document.querySelectorAll('#timeline-predicted .span').length")
        wait(driver, "['strip', 'ssm'].every(id => document.getElementById(id).naturalWidth > 0)")
        assert driver.find_element("id", "integrity").text == "complete"
        assert "embedded-vit-tiny-v1" in driver.find_element("id", "facts").text
        shoot(driver, tmp_path, "video")
        # cache page: its counts are those of `hierskp cache ls`
        driver.get(base + "/cache")
        wait(driver, "document.getElementById('total-complete')")
        shown = {s: int(driver.find_element("id", f"total-{s}").text) for s in ("complete", "partial", "corrupt")}
        shoot(driver, tmp_path, "cache")
    finally:
        if driver is not None:
            driver.quit()
    capsys.readouterr()
    assert main(["cache", "ls", str(library.cache)]) == 0
    statuses = Counter(line.split()[1] for line in capsys.readouterr().out.splitlines()[1:])
    assert shown == {s: statuses.get(s, 0) for s in shown} and shown["complete"] == 5


def test_only_loopback_unless_asked(servers):
    """Runs after the browser test (file order): it stops both servers to read their stderr."""
    (default, p1), (wide, p2) = servers["default"], servers["wide"]
    assert listening(default, p1) == {"127.0.0.1"}
    assert listening(wide, p2) == {"0.0.0.0"}
    assert "WARNING: listening on 0.0.0.0, not loopback" in stop(wide)
    assert "WARNING" not in stop(default)
