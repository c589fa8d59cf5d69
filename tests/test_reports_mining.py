"""The mining run's ``report.html``: written by the report stage, rebuilt by ``cli.py report``, and
looked at in headless Chromium: the pair tables have their rows, the filters hide the right ones, a pair
opens with its first wrong step highlighted, the charts draw, no console errors, and a completion
holding ``<script>alert(1)</script>`` is shown as text (no alert).

The run: GSM8K train problems, the synthetic sampler (no model) with ``<script>`` appended to the near
misses (the hard negatives) and the correct samples, and the real MathVerifier."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from hn_lightning.mining import CandidatesConfig, MineConfig, MiningPipeline, ProblemsConfig, SamplingConfig
from hn_lightning.mining.problems import load_problems
from hn_lightning.mining.shards import read_records
from hn_lightning.mining.synthetic import KINDS, SyntheticSampler, word_pieces
from tests.browser import broken_images, browser, cli_here, console_errors, no_alert, open_page, screenshot
from tests.cli_utils import run_cli_raw

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def chrome():
    with browser() as driver:
        yield driver


class ScriptSampler(SyntheticSampler):
    """The synthetic candidates, with a line holding a ``<script>`` element after the near misses and the
    correct solutions."""

    def sample(self, prompts, seeds):
        out = super().sample(prompts, seeds)
        for gens in out:
            for i, g in enumerate(gens):
                if self.kinds[i] in ("near_miss", "correct"):
                    text = g.text + f"\nChecked {SCRIPT} twice."
                    pieces = word_pieces(text)
                    gens[i] = dataclasses.replace(g, text=text, tokens=pieces, token_ids=list(range(len(pieces))),
                                                  token_logprobs=[g.token_logprobs[0]] * len(pieces), num_tokens=len(pieces))
        return out


def mine(out: Path, tokenizer, problems: int = 5) -> Path:
    """A finished mining run in ``out`` (its report stage writes report.html)."""
    from hn_lightning.verifier import MathVerifier

    cfg = MineConfig(out=str(out), progress=False, problems=ProblemsConfig(math=None, limit=problems),
                     candidates=CandidatesConfig(sampling=SamplingConfig(num_samples=len(KINDS), problems_per_batch=3)))
    sampler = ScriptSampler(load_problems(cfg.problems), len(KINDS))
    MiningPipeline(cfg, tokenizer=tokenizer, verifier=MathVerifier(), sampler=sampler).run()
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory, tokenizer) -> Path:
    return mine(tmp_path_factory.mktemp("reports") / "mine", tokenizer)


def arms(run: Path) -> dict[str, list[dict]]:
    return {a: read_records(run / "pairs" / a) for a in ("hardneg", "random", "shuffled")}


def scored(run: Path) -> dict[str, dict]:
    return {r["id"]: r["scores"] for r in read_records(run / "scored")}


def test_report_stage_writes_a_self_contained_page_with_every_pair(run):
    page = (run / "report.html").read_text(encoding="utf-8")
    pairs = arms(run)
    assert all(pairs.values())
    for arm, recs in pairs.items():
        keys = re.findall(rf'<tr data-key="({arm}-\d+)"', page)
        assert keys == [f"{arm}-{i}" for i in range(len(recs))]
        assert all(f'<template id="detail-{k}">' in page for k in keys)
    # nothing is fetched: no external URL in any src or href, one script element (ours)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert page.count("<script>") == 1 and "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_first_wrong_step_and_weight_parts_come_from_the_scored_records(run):
    """Each rejected side's highlighted step is the scored record's first_error_step (the random arm's pairs
    carry no scores at all: they are read from scored/ by id); w_raw's parts add up to the pair weight."""
    from hn_lightning.reports.mining import mining_summary

    scores = scored(run)
    summary = mining_summary(run)
    by_arm = {t.key: t for t in summary.tables}
    for arm, recs in arms(run).items():
        for pair, item in zip(recs, by_arm[arm].items):
            s = scores[pair["meta"]["rejected_id"]]
            rejected, chosen = item.views
            marked = [st.number for st in rejected.steps if st.first_error]
            assert marked == ([] if s["first_error_step"] is None else [s["first_error_step"] + 1])
            assert [st.score for st in rejected.steps] == s["step_scores"]
            assert item.kind == (s["first_error_kind"] or "none") and item.weight == pair["w_raw"]
            parts = dict(item.weight_parts)
            assert parts["wrongness"] + parts["1 - confidence"] + parts["ppl / normalizer"] == pytest.approx(s["w_raw"])
            if arm == "hardneg":
                assert parts["w_raw (verifier)"] * parts.get("x progress factor (1 + progress_weight x hardness)", 1.0) \
                    == pytest.approx(pair["w_raw"])
            assert chosen.scored == (pair["meta"]["chosen_id"] is not None)
            assert all(st.text in pair["rejected"] for st in rejected.steps)


def test_cli_report_rebuilds_the_page_and_refuses_what_is_no_run(run, tmp_path):
    before = (run / "report.html").read_bytes()
    (run / "report.html").unlink()
    proc = run_cli_raw(["report", str(run)], cwd=tmp_path)  # once as a user runs it
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"report: {run / 'report.html'}"
    assert (run / "report.html").read_bytes() == before
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "empty", tmp_path / "missing"):
        rc, _, err = cli_here(["report", str(bad)], tmp_path)
        assert rc == 2 and err.count("\n") == 1 and err.startswith(f"error: {bad}"), err


def test_a_scored_shard_of_the_run_has_its_own_page(run):
    """``report scored/shard-*.jsonl``: every sample of the shard, with its problem from problems.jsonl."""
    shard = sorted((run / "scored").glob("shard-*.jsonl"))[0]
    rc, out, err = cli_here(["report", str(shard)], run)
    assert rc == 0 and out == f"report: {shard.with_suffix('.html')}\n", err
    page = shard.with_suffix(".html").read_text(encoding="utf-8")
    records = [json.loads(line) for line in shard.read_text().splitlines()]
    assert len(re.findall(r'<tr data-key="r-\d+"', page)) == len(records)
    problems = {p["id"]: p for p in map(json.loads, (run / "problems.jsonl").read_text().splitlines())}
    question = problems[records[0]["problem_id"]]["question"]
    assert question.replace("'", "&#39;").replace('"', "&#34;") in page


def test_capped_page_says_how_many_it_shows(run, tmp_path):
    from hn_lightning.reports import write_mining_report

    total = len(arms(run)["hardneg"])
    page = write_mining_report(run, max_pairs=1).read_text(encoding="utf-8")
    assert f"Showing the first 1 of {total} pairs" in page
    assert len(re.findall(r'<tr data-key="hardneg-\d+"', page)) == 1
    # the charts count every hard-negative pair, not only the one shown
    from hn_lightning.reports.mining import mining_summary

    summary = mining_summary(run, max_pairs=1)
    for bars in (summary.kind_bars, summary.position_bars, summary.weight_bars):
        assert sum(v for _, v in bars) == total
    write_mining_report(run)  # back to the full page for the browser tests


# ------------------------------------------------------------------ in the browser

def rows(driver, arm: str, visible_only: bool = True) -> list:
    found = driver.find_elements("css selector", f"#items-{arm} table.items tbody tr")
    return [r for r in found if r.is_displayed()] if visible_only else found


def test_pair_tables_filter_and_sort_in_the_browser(run, chrome):
    from selenium.webdriver.support.ui import Select

    open_page(chrome, run / "report.html")
    pairs, scores = arms(run), scored(run)
    for arm, recs in pairs.items():
        assert len(rows(chrome, arm)) == len(recs)
    # filter by error kind: exactly the pairs of that kind stay (on the arm with the most kinds)
    arm = max(pairs, key=lambda a: len({scores[p["meta"]["rejected_id"]]["first_error_kind"] for p in pairs[a]}))
    kinds = [scores[p["meta"]["rejected_id"]]["first_error_kind"] or "none" for p in pairs[arm]]
    assert len(set(kinds)) >= 2, "the fixture should give two error kinds"
    section = chrome.find_element("id", f"items-{arm}")
    kind_select = Select(section.find_element("css selector", "[data-filter=kind]"))
    for kind in set(kinds):
        kind_select.select_by_value(kind)
        assert [r.get_attribute("data-key") for r in rows(chrome, arm)] == \
            [f"{arm}-{i}" for i, k in enumerate(kinds) if k == kind]
        assert section.find_element("css selector", "[data-count]").text == f"{kinds.count(kind)} of {len(kinds)} shown"
    kind_select.select_by_value("")
    # first-error position, weight range and problem words
    positions = [scores[p["meta"]["rejected_id"]]["first_error_step"] for p in pairs["hardneg"]]
    hard = chrome.find_element("id", "items-hardneg")
    Select(hard.find_element("css selector", "[data-filter=bucket]")).select_by_value(str(positions[0] + 1))
    assert len(rows(chrome, "hardneg")) == positions.count(positions[0])
    Select(hard.find_element("css selector", "[data-filter=bucket]")).select_by_value("")
    weights = sorted(p["w_raw"] for p in pairs["hardneg"])
    hard.find_element("css selector", "[data-filter=wmin]").send_keys(str(weights[1]))
    assert len(rows(chrome, "hardneg")) == sum(w >= weights[1] for w in weights)
    hard.find_element("css selector", "[data-filter=wmin]").clear()
    pid = pairs["hardneg"][-1]["meta"]["problem_id"]
    hard.find_element("css selector", "[data-filter=problem]").send_keys(pid)
    assert [r.get_attribute("data-key") for r in rows(chrome, "hardneg")] == \
        [f"hardneg-{i}" for i, p in enumerate(pairs["hardneg"]) if p["meta"]["problem_id"] == pid]
    hard.find_element("css selector", "[data-filter=problem]").clear()
    assert len(rows(chrome, "hardneg")) == len(pairs["hardneg"])
    # sort by weight, then descending
    header = [h for h in hard.find_elements("css selector", "thead th") if h.text == "w_raw"][0]
    header.click()
    shown = [float(r.get_attribute("data-weight")) for r in rows(chrome, "hardneg")]
    assert shown == sorted(shown) and sorted(shown) == weights
    header.click()
    assert [float(r.get_attribute("data-weight")) for r in rows(chrome, "hardneg")] == sorted(weights, reverse=True)
    assert console_errors(chrome) == []


def test_a_pair_opens_side_by_side_with_its_first_wrong_step_highlighted(run, chrome):
    open_page(chrome, run / "report.html")
    scores = scored(run)
    assert broken_images(chrome) == []
    charts = chrome.find_elements("css selector", "svg.chart")
    assert len(charts) >= 4  # funnel, error kinds, positions, weights
    for i, pair in enumerate(arms(run)["hardneg"]):
        s = scores[pair["meta"]["rejected_id"]]
        chrome.find_element("css selector", f'tr[data-key="hardneg-{i}"]').click()
        viewer = chrome.find_element("css selector", "#items-hardneg [data-viewer]")
        assert viewer.is_displayed()
        sides = viewer.find_elements("css selector", ".solution")
        assert [x.get_attribute("data-side") for x in sides] == ["rejected", "chosen"]
        marked = sides[0].find_elements("css selector", "li.first-error")
        assert [m.get_attribute("data-step") for m in marked] == [str(s["first_error_step"] + 1)]
        assert s["first_error_kind"] in marked[0].text
        assert marked[0].value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
        assert len(sides[0].find_elements("css selector", ".strip .cell")) == s["n_pred_steps"]
        assert sides[0].find_element("css selector", ".strip .cell.err").text == str(s["first_error_step"] + 1)
        # the six dimensions and the problem
        dims = sides[0].find_element("css selector", "table.dims").text
        assert all(d in dims for d in ("s_sem", "s_struct", "s_order", "s_logic", "s_sym", "s_ans"))
        assert pair["prompt"].split("\n")[0][:40] in viewer.text
        # the <script> a completion holds is text on the page, and it did not run
        assert SCRIPT in sides[0].text
    assert no_alert(chrome)
    assert chrome.execute_script("return document.querySelectorAll('[data-viewer] script').length") == 0
    assert console_errors(chrome) == []
    screenshot(chrome, "mining")


def test_a_link_with_a_pair_opens_it(run, chrome):
    open_page(chrome, run / "report.html", fragment="pair-random-1")
    viewer = chrome.find_element("css selector", "#items-random [data-viewer]")
    assert viewer.is_displayed()
    pair = arms(run)["random"][1]
    assert viewer.find_element("css selector", "h3").text == pair["id"]
    assert json.dumps(pair["meta"]["rejected_id"]).strip('"') in viewer.text


def test_a_page_that_cannot_be_made_does_not_fail_the_run(tmp_path, capsys, monkeypatch):
    """The hook of a finished run warns in one line (the run's data is complete, ``cli.py report`` retries);
    with --debug it raises."""
    from hn_lightning.errors import DEBUG_ENV, UserError
    from hn_lightning.reports import report_after_run

    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert report_after_run(tmp_path) is None
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {tmp_path}: HTML report not written (UserError: {tmp_path}: not a mining run")
    assert err.count("\n") == 1 and f"python cli.py report {tmp_path} tries again" in err
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(UserError):
        report_after_run(tmp_path)
