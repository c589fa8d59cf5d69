"""The experiment's ``report.html``: written by the experiment report writer (``write_report``) from the
folder's files, rebuilt by ``cli.py report``, and looked at in headless Chromium: every plot of
``plots/`` inline and decoding, the comparisons in words with the CSV's numbers, the "Same footing"
checks, a card per cell with its curves and a link to its folder, the mined pairs.

The folder: a baseline and two trained cells with hand-made results (outcomes on 12 problems, Lightning
style ``metrics.csv``, ``pair_log.csv``, an SFT ``metrics.csv``, an extra evaluation), a real mining
run in ``mining/`` (synthetic sampler, real verifier); the CSVs and plots are the experiment's own
(``hn_lightning.experiments.report.write_report``)."""

from __future__ import annotations

import base64
import csv
import json
import random
import re
from pathlib import Path

import pytest

from hn_lightning.experiments.config import ArmSpec, EvalSpec, ExperimentConfig, GridSpec
from hn_lightning.experiments.report import write_report
from tests.browser import broken_images, browser, cli_here, console_errors, no_alert, open_page, screenshot
from tests.test_reports_mining import mine

CELLS = ("hardneg-sigmoid-w0.3-s0", "random-sigmoid-uniform-s0")


@pytest.fixture(scope="module")
def chrome():
    with browser() as driver:
        yield driver


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(header)
        w.writerows(rows)


def outcomes(seed: int, p: float) -> dict[str, int]:
    rng = random.Random(seed)
    return {f"gsm8k-test-{i}": int(rng.random() < p) for i in range(12)}


def cell_result(name: str, seed: int, p: float, pairs: int) -> dict:
    arm, loss, rest = name.split("-", 2)
    return {"cell": name, "condition": name.rsplit("-s", 1)[0], "arm": arm, "loss": loss,
            "weighting": "normalized" if arm == "hardneg" else "none", "lambda": 0.3 if arm == "hardneg" else None,
            "seed": 0, "policy": "sft/hf_model", "pairs_available": pairs, "pairs_per_step": 1, "train_seconds": 12.5,
            "metrics": {"steps": 4.0, "time/step_seconds_median": 0.8, "memory/peak_gib": 1.7, "train/loss": 0.69,
                        "train/rewards/accuracy": 0.5, "train/rewards/margins": 0.01},
            "outcomes": outcomes(seed, p), "eval_seconds": 3.0,
            "extra_evals": {"math500": {"outcomes": outcomes(seed + 10, p / 2)}}}


def make_experiment(root: Path, tokenizer, pairs=(4, 4)) -> Path:
    mine(root / "mining", tokenizer, problems=3)
    base = {"cell": "sft", "condition": "sft", "arm": "sft", "loss": "", "weighting": "", "lambda": None, "seed": None,
            "baseline": True, "policy": "sft/hf_model", "eval_seconds": 2.0, "outcomes": outcomes(0, 0.3),
            "extra_evals": {"math500": {"outcomes": outcomes(10, 0.15)}}}
    (root / "baseline").mkdir(parents=True)
    (root / "baseline" / "baseline.json").write_text(json.dumps(base))
    results = [base]
    for i, (name, n_pairs) in enumerate(zip(CELLS, pairs)):
        r = cell_result(name, i + 1, 0.5 + 0.2 * i, n_pairs)
        folder = root / "cells" / name
        folder.mkdir(parents=True)
        (folder / "cell.json").write_text(json.dumps(r))
        write_csv(folder / "metrics.csv", ["step", "train/loss", "train/rewards/margins", "train/rewards/accuracy", "weights/std"],
                  [[s, 0.69 - 0.01 * s, 0.01 * s, 0.5, 0.1] for s in range(4)])
        write_csv(folder / "pair_log.csv", ["step", "id", "weight", "loss"], [[s, f"p{s}", 0.8 + 0.1 * s, 0.69] for s in range(4)])
        results.append(r)
    write_csv(root / "sft" / "metrics.csv", ["step", "train/loss", "val/loss"], [[0, 1.2, ""], [1, 1.1, 1.15]])
    (root / "stages.json").write_text(json.dumps({"sft": 20.0, "mine": 9.0, "total": 60.0}))
    cfg = ExperimentConfig(grid=GridSpec(arms=[ArmSpec("hardneg", mined="hardneg"), ArmSpec("random", mined="random")]),
                           out=str(root), policy="tiny-qwen2", baseline=True, max_steps=4, eval=EvalSpec(task="gsm8k"),
                           bootstrap=200)
    write_report(cfg, results, root)
    return root


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, tokenizer) -> Path:
    return make_experiment(tmp_path_factory.mktemp("reports") / "exp", tokenizer)


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(open(path)))


def test_the_report_writer_writes_the_page_with_every_plot_inline(experiment):
    page = (experiment / "report.html").read_text(encoding="utf-8")
    pngs = sorted((experiment / "plots").rglob("*.png"))
    assert len(pngs) >= 9  # accuracy, forest, funnel, sft curve, 2 curves, 2 weights, accuracy/forest of math500
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert sorted(embedded) == sorted(base64.b64encode(p.read_bytes()).decode() for p in pngs)
    assert not re.search(r'(src|href)="(https?:)?//', page) and page.count("<script>") == 1


def test_the_page_says_what_the_csvs_say(experiment):
    page = (experiment / "report.html").read_text(encoding="utf-8")
    for suffix in ("", "_math500"):
        for r in rows(experiment / f"comparisons{suffix}.csv"):
            sentence = (f"{r['a']} vs {r['b']}: {100 * float(r['accuracy_a']):.1f}% vs {100 * float(r['accuracy_b']):.1f}%, "
                        f"difference {100 * float(r['difference']):+.1f} points")
            assert sentence in page
            verdict = "distinguishable from noise (p" if r["distinguishable"] == "True" else "not distinguishable from noise at this size (p"
            assert f"exact McNemar: {verdict} = {float(r['p_value']):.3g}" in page
    for cell in CELLS:
        assert f'href="cells/{cell}/"' in page and f'href="cells/{cell}/metrics.csv"' in page
    assert 'href="baseline/"' in page and 'href="mining/report.html"' in page
    assert "training pairs available: 4 in every cell (checked)" in page
    assert len(re.findall(r'<tr data-key="hardneg-\d+"', page)) == len(rows_of(experiment / "mining" / "pairs" / "hardneg"))


def rows_of(folder: Path) -> list[dict]:
    from hn_lightning.mining.shards import read_records

    return read_records(folder)


def test_footing_checks_name_the_cells_that_differ():
    from hn_lightning.reports.experiment import footing_checks

    checks = {what: (same, detail) for what, same, detail in footing_checks(
        [{"cell": "a", "policy": "p", "pairs_available": 4, "steps": 8}, {"cell": "b", "policy": "p", "pairs_available": 6, "steps": 8}])}
    assert checks["starting policy"] == (True, "p in every cell")
    assert checks["training pairs available"] == (False, "a=4, b=6")
    assert checks["optimizer steps"][0] is True and "evaluation problems" not in checks


def test_cli_report_rebuilds_the_experiment_page(experiment, tmp_path):
    before = (experiment / "report.html").read_bytes()
    rc, out, err = cli_here(["report", str(experiment)], tmp_path)
    assert rc == 0 and out == f"report: {experiment / 'report.html'}\n", err
    assert (experiment / "report.html").read_bytes() == before
    rc, _, err = cli_here(["report", str(experiment), "--input", "x.jsonl"], tmp_path)
    assert rc == 2 and err.startswith("error: ") and "--input" in err


def test_experiment_page_in_the_browser(experiment, chrome):
    open_page(chrome, experiment / "report.html")
    assert broken_images(chrome) == []
    images = chrome.execute_script("return Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(images) == len(list((experiment / "plots").rglob("*.png"))) and all(w > 0 and h > 0 for w, h in images)
    text = chrome.find_element("tag name", "body").text
    assert "Same footing" in text and "Paired comparisons (main evaluation" in text and "Paired comparisons (math500" in text
    for cell in CELLS:
        card = chrome.find_element("id", f"cell-{cell}")
        link = card.find_element("css selector", "h3 a")
        assert Path(link.get_attribute("href").removeprefix("file://")).is_dir()
        assert len(card.find_elements("tag name", "img")) == 2  # training curves and weight histogram
    # the mined pairs open here too
    chrome.find_element("css selector", 'tr[data-key="hardneg-0"]').click()
    assert chrome.find_element("css selector", "#items-hardneg [data-viewer] li.first-error").is_displayed()
    assert no_alert(chrome) and console_errors(chrome) == []
    chrome.execute_script("window.scrollTo(0, 0)")
    screenshot(chrome, "experiment")
