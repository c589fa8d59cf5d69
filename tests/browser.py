"""Headless Chromium for the report tests (selenium + Debian's ``chromium`` and ``chromium-driver``), and
the report commands run in the test's process.

:func:`browser` skips the test, with the reason, when Chromium or its driver is missing on this
machine, and fails it instead when ``HN_REQUIRE_BROWSER=1`` (``.ci/run`` sets it after installing
them): in CI a missing browser is a broken set-up, not a reason to skip what the tests check.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

REQUIRE_ENV = "HN_REQUIRE_BROWSER"
HEADLESS_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--window-size=1400,1000")
"""Without the networking flags Chromium reaches for the (closed) network at start."""


def chromium_paths() -> tuple[str, str] | None:
    """``(chromium, chromedriver)`` when both are installed, else ``None``."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").is_file() else None)
    return (binary, driver) if binary and driver else None


def missing_browser(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 says this machine must have it (.ci/run installs it)")
    pytest.skip(f"{reason}: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")


@contextmanager
def browser() -> Iterator:
    """A headless Chromium driven by selenium, with a fresh profile; its console log is kept."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing_browser("the selenium package is not installed")
    paths = chromium_paths()
    if paths is None:
        missing_browser("headless Chromium is not installed (no chromium or chromedriver on PATH)")
    binary, driver_path = paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="hn-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def no_alert(driver) -> bool:
    """True when no JavaScript dialog (``alert``) is open."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert  # noqa: B018 - raises when there is none
    except NoAlertPresentException:
        return True
    return False


def console_errors(driver) -> list[str]:
    """Console messages at level SEVERE since the last call (the log is drained by reading it)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def open_page(driver, path: Path, fragment: str = "") -> None:
    """Load a report from disk (``file://``), as a person double-clicking it would; the console log of
    earlier pages is dropped first."""
    driver.get_log("browser")
    driver.get(path.resolve().as_uri() + (f"#{fragment}" if fragment else ""))


def broken_images(driver) -> list[str]:
    """The ``src`` (cut) of every ``<img>`` that did not decode, and every inline SVG chart with no area."""
    return driver.execute_script("""
        const bad = [];
        document.querySelectorAll('img').forEach(i => { if (!i.complete || i.naturalWidth === 0) bad.push(i.src.slice(0, 60)); });
        document.querySelectorAll('svg.chart').forEach(s => { const b = s.getBoundingClientRect();
            if (b.width === 0 || b.height === 0) bad.push('svg ' + s.getAttribute('aria-label')); });
        return bad;""")


def cli_here(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """``python cli.py <args>`` in this process (``hn_lightning.cli.main``: the same one-line errors and exit
    codes, without a new interpreter importing torch again): ``(exit code, stdout, stderr)``."""
    from hn_lightning.cli import main

    here, out, err = Path.cwd(), io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(args)
    finally:
        os.chdir(here)
    return rc, out.getvalue(), err.getvalue()


def screenshot(driver, name: str) -> None:
    """Save a PNG of the page into ``$HN_REPORT_SCREENSHOTS`` (how docs/report_*.png are made)."""
    folder = os.environ.get("HN_REPORT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"report_{name}.png"))
