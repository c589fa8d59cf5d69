"""``python cli.py verify ... --html``: every scored solution in the verifier's step view (the texts read
back from the samples file by id, with verify's field mapping), rebuilt by ``cli.py report`` from the
source the page recorded, and looked at in headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser import browser, cli_here, console_errors, no_alert, open_page, screenshot
from tests.conftest import write_jsonl

QUESTION = "Tom has 3 boxes with 4 apples each. He eats 2 apples. How many apples are left?"
REFERENCE = "Tom has 3 * 4 = 12 apples.\nAfter eating 2 he has 12 - 2 = 10 apples.\n#### 10"
SAMPLES = [
    ("right", "Tom has 3 * 4 = 12 apples.\nAfter eating 2 apples, 12 - 2 = 10 apples are left.\nThe answer is 10."),
    ("slip", "Tom has 3 * 4 = 12 apples.\nAfter eating 2 apples, 12 - 2 = 9 apples are left.\nThe answer is 9."),
    ("script", "Tom has 3 * 4 = 14 apples <script>alert(1)</script>.\nAfter eating 2 apples, 14 - 2 = 12 are left.\nThe answer is 12."),
]


@pytest.fixture(scope="module")
def chrome():
    with browser() as driver:
        yield driver


@pytest.fixture(scope="module")
def verified(tmp_path_factory) -> Path:
    """``verify --html`` on three samples whose solution sits in a nested field."""
    tmp = tmp_path_factory.mktemp("verify")
    write_jsonl(tmp / "samples.jsonl", [{"id": sid, "question": QUESTION, "reference": REFERENCE, "gold": "10",
                                         "policy": {"completion": text}} for sid, text in SAMPLES])
    rc, _, err = cli_here(["verify", "--input", "samples.jsonl", "--output", "scored.jsonl", "--prediction_field",
                           "policy.completion", "--no_progress", "--html"], tmp)
    assert rc == 0, err
    assert "report: scored.html" in err.replace("\n", "")
    return tmp


def scored(tmp: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (tmp / "scored.jsonl").read_text().splitlines())}


def test_verify_html_shows_every_solution_escaped(verified):
    page = (verified / "scored.html").read_text(encoding="utf-8")
    assert re.findall(r'<tr data-key="(r-\d+)"', page) == ["r-0", "r-1", "r-2"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    source = json.loads(re.search(r'id="hn-report-source">(.*?)</script>', page, re.S).group(1))
    assert source["fields"]["prediction"] == "policy.completion" and source["input"] == "samples.jsonl"


def test_report_rebuilds_a_verify_output_from_the_recorded_source(verified, tmp_path):
    before = (verified / "scored.html").read_bytes()
    (verified / "copy.jsonl").write_bytes((verified / "scored.jsonl").read_bytes())
    rc, out, err = cli_here(["report", "scored.jsonl"], verified)
    assert rc == 0 and out == "report: scored.html\n", err
    assert (verified / "scored.html").read_bytes() == before
    rc, out, err = cli_here(["report", str(verified / "scored.jsonl")], tmp_path)  # from another folder
    assert rc == 0 and (verified / "scored.html").read_bytes() == before, err
    # a copy has no page that recorded its samples file: one line asking for it
    rc, _, err = cli_here(["report", "copy.jsonl"], verified)
    assert rc == 2 and err.count("\n") == 1 and "--input" in err, err
    # the default field mapping cannot find the nested solutions: every record is left out, and the page says so
    rc, _, err = cli_here(["report", "copy.jsonl", "--input", "samples.jsonl"], verified)
    assert rc == 0, err
    assert "3 records have no text in the samples file" in (verified / "copy.html").read_text(encoding="utf-8")
    (verified / "notes.jsonl").write_text('{"id": 1, "text": "no scores"}\n')
    rc, _, err = cli_here(["report", "notes.jsonl"], verified)
    assert rc == 2 and err.startswith("error: notes.jsonl: not a mining run"), err


def test_verify_page_in_the_browser(verified, chrome):
    records = scored(verified)
    open_page(chrome, verified / "scored.html")
    table_rows = chrome.find_elements("css selector", "table.items tbody tr")
    assert [r.get_attribute("data-key") for r in table_rows] == ["r-0", "r-1", "r-2"]
    for i, (sid, _) in enumerate(SAMPLES):
        r = records[sid]
        chrome.find_element("css selector", f'tr[data-key="r-{i}"]').click()
        viewer = chrome.find_element("css selector", "[data-viewer]")
        marked = viewer.find_elements("css selector", "li.first-error")
        expected = [] if r["first_error_step"] is None else [str(r["first_error_step"] + 1)]
        assert [m.get_attribute("data-step") for m in marked] == expected
        assert len(viewer.find_elements("css selector", "ol.steps li")) == r["n_pred_steps"]
        assert QUESTION in viewer.text
    assert records["slip"]["first_error_step"] is not None and records["right"]["first_error_step"] is None
    assert "<script>alert(1)</script>" in viewer.text  # the last one opened
    assert no_alert(chrome) and console_errors(chrome) == []
    # filter: the solutions with a first error at step 2
    from selenium.webdriver.support.ui import Select

    Select(chrome.find_element("css selector", "[data-filter=bucket]")).select_by_value("2")
    shown = [r.get_attribute("data-key") for r in chrome.find_elements("css selector", "table.items tbody tr") if r.is_displayed()]
    assert shown == [f"r-{i}" for i, (sid, _) in enumerate(SAMPLES) if records[sid]["first_error_step"] == 1]
    Select(chrome.find_element("css selector", "[data-filter=bucket]")).select_by_value("")
    chrome.find_element("css selector", 'tr[data-key="r-1"]').click()
    screenshot(chrome, "verify")
