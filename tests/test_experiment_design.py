"""The experiment's design: the minimum detectable effect of a paired McNemar comparison (Connor 1987) by
hand and against a seeded Monte-Carlo simulation of the tests, its inverse, the spread of a cell's pair
weights, and the report's Design, weight and stage-time tables (md and html) for a hand-built results list."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from scipy.stats import binom

from hn_lightning.experiments.config import ArmSpec, EvalSpec, ExperimentConfig, GridSpec, check
from hn_lightning.experiments.design import design
from hn_lightning.experiments.stats import mcnemar_mde, mcnemar_pairs_needed, problems_needed, weight_spread
from hn_lightning.reports.words import design_line

ZA = 1.959963984540054  # z_{0.975}
ZB = 0.8416212335729143  # z_{0.80}


def connor_n(delta: float, psi: float) -> float:
    """Connor (1987): paired observations for McNemar's test to find ``delta`` at 80% power, alpha 0.05."""
    return (ZA * math.sqrt(psi) + ZB * math.sqrt(psi - delta**2)) ** 2 / delta**2


def test_mde_by_hand():
    # n = 100, psi = 0.25: delta = 0.5 (1.96 * 10 + 0.8416 * sqrt(100 + 0.7083 - 3.8415)) / 100.7083
    want = 0.5 * (ZA * 10 + ZB * math.sqrt(100 + ZB**2 - ZA**2)) / (100 + ZB**2)
    assert mcnemar_mde(100, 0.25) == pytest.approx(want, rel=1e-12)
    assert want == pytest.approx(0.13843, abs=1e-5)
    for n, psi in ((100, 0.25), (2000, 0.2), (37, 0.6), (6000, 0.05)):
        delta = mcnemar_mde(n, psi)
        assert connor_n(delta, psi) == pytest.approx(n, rel=1e-10)  # it solves Connor's formula
    # large n: the common simplification (z_a + z_b) sqrt(psi / n)
    assert mcnemar_mde(10**7, 0.3) == pytest.approx((ZA + ZB) * math.sqrt(0.3 / 10**7), rel=1e-3)
    # more power or a stricter alpha needs a larger effect; more observations a smaller one
    assert mcnemar_mde(500, 0.2, power=0.9) > mcnemar_mde(500, 0.2) > mcnemar_mde(2000, 0.2)
    assert mcnemar_mde(500, 0.2, alpha=0.01) > mcnemar_mde(500, 0.2)
    assert mcnemar_mde(3, 0.5) == math.inf  # n + z_b^2 < z_a^2: the approximation has no answer
    with pytest.raises(ValueError, match="discordance"):
        mcnemar_mde(100, 0.0)
    with pytest.raises(ValueError, match="discordance"):
        mcnemar_mde(100, 1.5)


def test_pairs_and_problems_needed_invert_the_mde():
    # delta = 0.05 at psi = 0.2: (1.959964 * 0.447214 + 0.841621 * 0.444410)^2 / 0.0025
    #   = (0.876523 + 0.374025)^2 / 0.0025 = 1.563870 / 0.0025 = 625.55 -> 626 (209 problems x 3 seeds)
    assert connor_n(0.05, 0.2) == pytest.approx(625.55, abs=0.01)
    assert mcnemar_pairs_needed(0.05, 0.2) == 626
    assert problems_needed(0.05, 0.2, seeds=3) == 209 and problems_needed(0.05, 0.2) == 626
    for delta, psi in ((0.03, 0.2), (0.1, 0.4), (0.02, 0.1)):
        n = mcnemar_pairs_needed(delta, psi)
        assert mcnemar_mde(n, psi) <= delta < mcnemar_mde(n - 1, psi)
    for bad in (0.0, 0.2, 0.3):
        with pytest.raises(ValueError, match="detectable effect"):
            mcnemar_pairs_needed(bad, 0.2)
    with pytest.raises(ValueError, match="seeds"):
        problems_needed(0.05, 0.2, seeds=0)


@pytest.mark.parametrize("n,psi", [(1000, 0.2), (200, 0.3)])
def test_mde_has_the_stated_power_in_simulation(n, psi):
    """Draw 20,000 seeded experiments whose true difference is the MDE (p10 = (psi + delta)/2, p01 =
    (psi - delta)/2): the asymptotic McNemar test (the formula's) rejects in 80% of them; the exact test
    the report runs is slightly more conservative."""
    delta = mcnemar_mde(n, psi)
    rng = np.random.default_rng(0)
    table = rng.multinomial(n, [(psi + delta) / 2, (psi - delta) / 2, 1 - psi], size=20_000)
    b, c = table[:, 0], table[:, 1]
    z = np.abs(b - c) / np.sqrt(np.maximum(b + c, 1))
    assert (z > ZA).mean() == pytest.approx(0.80, abs=0.015)  # standard error 0.003
    exact = np.minimum(1.0, 2 * binom.cdf(np.minimum(b, c), b + c, 0.5)) < 0.05
    assert 0.74 <= exact.mean() <= 0.80


def test_weight_spread_by_hand():
    s = weight_spread([0.5, 1.0, 2.0, 1.5], 0.5, 2.0)
    # deviations from 1.25: -0.75, -0.25, 0.75, 0.25 -> variance 1.25 / 4
    assert s == pytest.approx({"weight_mean": 1.25, "weight_std": math.sqrt(0.3125), "weight_min": 0.5,
                               "weight_max": 2.0, "weight_clipped": 0.5})
    # a float32 bound that is not a float64 one still counts as clipped
    assert weight_spread([float(np.float32(0.7)), 1.0, 1.3], 0.7, 2.0)["weight_clipped"] == pytest.approx(1 / 3)
    assert weight_spread([1.0, 1.0])["weight_clipped"] is None and weight_spread([1.0, 1.0])["weight_std"] == 0.0
    with pytest.raises(ValueError, match="non-empty"):
        weight_spread([])


def grid() -> GridSpec:
    return GridSpec(arms=[ArmSpec("a", train_files=["a.jsonl"]), ArmSpec("b", train_files=["b.jsonl"])], seeds=[0, 1])


def test_design_dict_and_line():
    cfg = ExperimentConfig(grid=grid(), design_discordance=0.3, eval=EvalSpec())
    comps = [{"a": "sft", "b": "a-sigmoid-w0.3", "n": 20, "a_only": 9, "b_only": 1},  # the baseline's: not pooled
             {"a": "a-sigmoid-w0.3", "b": "b-sigmoid-w0.3", "n": 20, "a_only": 3, "b_only": 1}]
    d = design(cfg, 10, comps, baselines=["sft"])
    assert (d["problems"], d["seeds"], d["paired_outcomes"], d["cells"]) == (10, 2, 20, 4)
    assert d["planned_mde"] == pytest.approx(mcnemar_mde(20, 0.3))
    assert d["measured"] == {"comparisons": 1, "discordant": 4, "outcomes": 20, "discordance": 0.2,
                             "mde": pytest.approx(mcnemar_mde(20, 0.2))}
    assert design_line(d) == (f"design: 10 problems x 2 seeds: MDE {100 * mcnemar_mde(20, 0.3):.1f} points at 80% power, "
                              "alpha 0.05 (assumed discordance 0.3); larger than that discordance allows: no difference "
                              "is detectable, evaluate more problems or seeds")
    big = design(ExperimentConfig(grid=grid(), design_discordance=0.2), 2000)
    assert big["measured"] is None and design_line(big) == (
        f"design: 2000 problems x 2 seeds: MDE {100 * mcnemar_mde(4000, 0.2):.1f} points at 80% power, alpha 0.05 "
        "(assumed discordance 0.2)")
    assert "set design_discordance" in design_line(design(ExperimentConfig(grid=grid()), 10))
    for bad in (0.0, 1.2):
        with pytest.raises(ValueError, match="design_discordance"):
            check(ExperimentConfig(grid=grid(), design_discordance=bad))


def outcomes(bits: str) -> dict[str, int]:
    return {f"p{i}": int(ch) for i, ch in enumerate(bits)}


#: 10 problems; a vs b: 3 discordant in seed 0 (p1, p2, p9), 1 in seed 1 (p1): 4 of 20
OUTCOMES = {("a", 0): "1110000000", ("b", 0): "1000000001", ("a", 1): "1100000000", ("b", 1): "1000000000"}


def test_report_design_weights_and_stage_times(tmp_path):
    from hn_lightning.experiments.report import write_report

    root = tmp_path / "exp"
    base = {"cell": "sft", "condition": "sft", "arm": "sft", "loss": "", "weighting": "", "lambda": None, "seed": None,
            "baseline": True, "policy": "p", "eval_seconds": 4.0, "outcomes": outcomes("1000000000")}
    (root / "baseline").mkdir(parents=True)
    (root / "baseline" / "baseline.json").write_text(json.dumps(base))
    results = [base]
    for (arm, seed), bits in OUTCOMES.items():
        cell = f"{arm}-sigmoid-w0.3-s{seed}"
        r = {"cell": cell, "condition": f"{arm}-sigmoid-w0.3", "arm": arm, "loss": "sigmoid", "weighting": "normalized",
             "lambda": 0.3, "seed": seed, "policy": "p", "train_seconds": 30.0 + seed, "eval_seconds": 5.0,
             "metrics": {"steps": 2.0}, "outcomes": outcomes(bits)}
        folder = root / "cells" / cell
        folder.mkdir(parents=True)
        (folder / "cell.json").write_text(json.dumps(r))
        (folder / "run_config.yaml").write_text("data:\n  init_args:\n    dataset_weight_min: 0.7\n    dataset_weight_max: 1.5\n")
        with open(folder / "pair_log.csv", "w", newline="") as handle:  # 2 steps x 2 pairs
            csv.writer(handle).writerows([["step", "id", "weight", "loss"], [0, "x", 0.7, 0.6], [0, "y", 1.3, 0.6],
                                          [1, "z", 1.5, 0.6], [1, "w", 0.5 if arm == "b" else 0.9, 0.6]])
        results.append(r)
    (root / "stages.json").write_text(json.dumps({"eval_sft": 4.5, "cell a-sigmoid-w0.3-s0": 36.0, "total": 50.0}))
    cfg = ExperimentConfig(grid=grid(), out=str(root), baseline=True, max_steps=2, eval=EvalSpec(), bootstrap=200,
                           design_discordance=0.25)
    write_report(cfg, results, root)

    d = json.loads((root / "design.json").read_text())
    assert (d["problems"], d["seeds"], d["paired_outcomes"], d["cells"], d["baselines"]) == (10, 2, 20, 4, ["sft"])
    assert d["measured"]["discordant"] == 4 and d["measured"]["discordance"] == 0.2
    planned, measured = 100 * mcnemar_mde(20, 0.25), 100 * mcnemar_mde(20, 0.2)
    md = (root / "report.md").read_text()
    html = (root / "report.html").read_text()
    assert md.index("## Design") < md.index("## Cells")
    for page in (md, html):
        assert "10 evaluation problems x 2 seeds = 20 paired outcomes per comparison" in page and "4 trained cells" in page
        assert f"Planned: MDE {planned:.1f} points at 80% power, alpha 0.05 (assumed discordance 0.25)" in page
        assert "Measured: discordance 0.200 pooled over the 1 comparison" in page
        assert f"(4 of 20 paired outcomes): MDE {measured:.1f} points at this design" in page
    comps = {(r["a"], r["b"]): r for r in csv.DictReader(open(root / "comparisons.csv"))}
    ab = comps[("a-sigmoid-w0.3", "b-sigmoid-w0.3")]
    assert float(ab["discordance"]) == 0.2 and float(ab["mde"]) == pytest.approx(mcnemar_mde(20, 0.2))
    assert f"| a-sigmoid-w0.3 | b-sigmoid-w0.3 | 20 | 0.2 | {mcnemar_mde(20, 0.2):.4g} |" in md

    cells = {r["cell"]: r for r in csv.DictReader(open(root / "cells.csv"))}
    a0, b1 = cells["a-sigmoid-w0.3-s0"], cells["b-sigmoid-w0.3-s1"]
    assert float(a0["weight_mean"]) == pytest.approx(1.1) and float(a0["weight_clipped"]) == 0.5  # 0.7, 1.5 at the bounds
    assert float(b1["weight_min"]) == 0.5 and float(b1["weight_std"]) == pytest.approx(np.std([0.7, 1.3, 1.5, 0.5]))
    assert cells["sft"]["weight_mean"] == ""
    assert "weight_clipped" in md.split("## Cells")[1].split("\n")[2] and "<th data-sort=\"num\" class=\"num\">weight_std</th>" in html

    stages = list(csv.DictReader(open(root / "stages.csv")))
    # stages.json's in its order, then the cells it lacks (in the results' order), total last
    assert [r["stage"] for r in stages] == ["eval_sft", "cell a-sigmoid-w0.3-s0", "cell b-sigmoid-w0.3-s0",
                                            "cell a-sigmoid-w0.3-s1", "cell b-sigmoid-w0.3-s1", "total"]
    assert (stages[0]["seconds"], stages[0]["eval_seconds"]) == ("4.5", "4.0")
    assert (stages[1]["seconds"], stages[1]["train_seconds"], stages[3]["seconds"], stages[3]["train_seconds"]) == ("36.0", "30.0", "", "31.0")
    assert "## Stage times" in md and "| cell a-sigmoid-w0.3-s0 | 36 | 30 | 5 |" in md
    assert 'id="stage-times"' in html and "<td>cell b-sigmoid-w0.3-s1</td>" in html
