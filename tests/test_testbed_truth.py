"""The generator's ground truth in a mining run: every sample classified, each pair's verifier first error
beside the generator's first wrong line (``hn_lightning.testbed.truth_report``, ``hn_lightning.mining.truth``).

Hand-built: a 3-line problem (40*3=120, 120+12=132, 132*50/100=66) with its traps, completions of each
category, verifier verdicts at known steps, the agreement counted by hand. End to end: a mining run on
``testbed:train`` problems (synthetic policy whose near misses fall into the last step's trap, the real
MathVerifier) writes ``truth.json`` and both reports' sections, and ``cli.py report`` rebuilds it."""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest

from hn_lightning.mining.problems import Problem
from hn_lightning.mining.truth import truth_section
from hn_lightning.testbed import classify
from hn_lightning.testbed.truth_report import (
    agreement,
    annotation_line,
    category_counts,
    sample_row,
    truth_line,
)
from hn_lightning.testbed.truth_run import compute_truth, write_truth
from tests.cli_utils import run_cli_raw
from tests.test_testbed_catalog import small_testbed  # noqa: F401 - the fixture: a fresh cache, splits of 30

TRUTH = {"answer": "66",
         "steps": [{"line": 1, "kind": "times", "expr": "40*3", "value": "120"},
                   {"line": 2, "kind": "more", "expr": "120+12", "value": "132"},
                   {"line": 3, "kind": "pct_of", "expr": "132*50/100", "value": "66"}],
         "traps": [{"kind": "times_vs_more", "step_kind": "times", "line": 1, "expr": "40+3", "value": "43", "answer": "27.5"},
                   {"kind": "times_vs_more", "step_kind": "more", "line": 2, "expr": "120*12", "value": "1440", "answer": "720"},
                   {"kind": "percent", "step_kind": "pct_of", "line": 3, "expr": "132*(100+50)/100", "value": "198", "answer": "198"},
                   {"kind": "skip", "step_kind": "pct_of", "line": 3, "expr": "", "value": "", "answer": "132"}]}
L1, L2 = "Ben has <<40*3=120>>120 stickers.\n", "Cara has <<120+12=132>>132 stickers.\n"
ANSWER = "The final answer is $\\boxed{%s}$."
COMPLETIONS = {
    "correct": L1 + L2 + "Dan has <<132*50/100=66>>66 stickers.\n" + ANSWER % 66,
    # "times as many" read as "more than" at line 2, carried to the end
    "structured": "Let's think step by step.\n" + L1 + "Cara has <<120*12=1440>>1440 stickers.\n"
                  "Dan has <<1440*50/100=720>>720 stickers.\n" + ANSWER % 720,
    "arithmetic": L1 + "Cara has <<120+12=142>>142 stickers.\nDan has <<142*50/100=71>>71 stickers.\n" + ANSWER % 71,
    "skip": L1 + L2 + ANSWER % 132,  # the last step left out: every value written is right
    "other": "Ben has <<40-3=37>>37 stickers.\n" + ANSWER % 37,
}


def verdict(text: str, step: int | None, line_start: str | None = None, kind: str = "wrong_operation") -> dict:
    """A verifier record whose first wrong step (0-based) is ``step``, starting where ``line_start`` does."""
    if step is None:
        return {"first_error_step": None, "first_error_span": None, "first_error_kind": None}
    start = text.index(line_start)
    return {"first_error_step": step, "first_error_span": [start, start + len(line_start)], "first_error_kind": kind}


def test_classify_sorts_the_hand_built_completions():
    got = {k: classify(v, TRUTH) for k, v in COMPLETIONS.items()}
    assert {k: (c["category"], c["trap"], c["trap_line"], c["first_wrong_line"]) for k, c in got.items()} == {
        "correct": ("correct", None, None, None), "structured": ("structured", "times_vs_more", 2, 2),
        "arithmetic": ("arithmetic", None, None, 2), "skip": ("structured", "skip", 3, None), "other": ("other", None, None, 1)}
    assert [truth_line(got[k]) for k in ("correct", "structured", "arithmetic", "skip", "other")] == [None, 2, 2, 3, 1]
    counts = category_counts(got.values())
    assert counts == {"n": 5, "by_category": {"correct": 1, "structured": 2, "arithmetic": 1, "other": 1},
                      "by_trap": {"skip": 1, "times_vs_more": 1}}


def test_the_verifier_step_is_put_on_annotation_lines():
    text = COMPLETIONS["structured"]
    # the preamble is the verifier's step 1 (0-based 0): its step 3 is the second annotated line
    assert annotation_line(text, text.index("Cara")) == 2
    assert annotation_line(text, 0) == 1 and annotation_line(text, text.index("Ben")) == 1
    assert annotation_line(text, text.index("The final")) == 4  # after the last of 3 lines
    row = sample_row(classify(text, TRUTH), text, verdict(text, 2, "Cara has"), text.index("Cara has"))
    assert row == {"category": "structured", "trap": "times_vs_more", "trap_line": 2, "first_wrong_line": 2, "truth_line": 2,
                   "lines": 3, "verifier_step": 3, "verifier_kind": "wrong_operation", "verifier_line": 2, "offset": 0,
                   "label": "structured/times_vs_more @ line 2"}
    skip = COMPLETIONS["skip"]  # the verifier blames the answer line: line 3, where the skipped step belongs
    row = sample_row(classify(skip, TRUTH), skip, verdict(skip, 2, "The final"), skip.index("The final"))
    assert (row["verifier_line"], row["truth_line"], row["offset"], row["label"]) == (3, 3, 0, "structured/skip @ line 3")
    none = sample_row(classify(skip, TRUTH), skip, verdict(skip, None), None)
    assert none["verifier_step"] is None and none["verifier_line"] is None and none["offset"] is None


def test_agreement_counted_by_hand():
    rows = [{"verifier_line": v, "truth_line": t, "trap_line": tl}
            for v, t, tl in [(2, 2, 2), (3, 2, None), (1, 3, 3), (None, 2, None), (2, None, 4)]]
    a = agreement(rows)
    assert (a["n"], a["compared"], a["exact"], a["within_1"], a["no_verifier_error"], a["no_truth_line"]) == (5, 3, 1, 2, 1, 1)
    assert a["exact_rate"] == pytest.approx(1 / 3) and a["within_1_rate"] == pytest.approx(2 / 3)
    assert a["offsets"] == {"<= -2": 1, "-1": 0, "0": 1, "+1": 1, ">= +2": 0}
    b = agreement(rows, against="trap_line")  # (2,2) exact, (1,3) -2, (2,4) -2
    assert (b["compared"], b["exact"], b["within_1"], b["offsets"]["<= -2"]) == (3, 1, 1, 2)
    assert agreement([])["exact_rate"] is None


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def hand_run(out: Path) -> Path:
    """A mining folder by hand: one testbed problem (and one without truth), five scored samples, two
    hard-negative pairs (structured: verifier agrees; arithmetic: verifier one line late) and one random pair
    (other: the verifier found nothing)."""
    write_jsonl(out / "problems.jsonl", [
        Problem("tb-0", "Q?", "#### 66", COMPLETIONS["correct"], "tb", truth=TRUTH).to_dict(),
        Problem("gsm-0", "Other?", "#### 5", "5", "gsm").to_dict()])
    verdicts = {"correct": (None, None), "structured": (2, "Cara has"), "arithmetic": (2, "Dan has"),
                "skip": (None, None), "other": (None, None)}
    scored = [{"id": f"tb-0#{k}", "problem_id": "tb-0", "completion": text,
               "scores": {"answer_correct": k == "correct", **verdict(text, *verdicts[k])}} for k, text in COMPLETIONS.items()]
    scored[2]["scores"]["first_error_span"] = None  # a record without the span: the default split finds step 3
    scored.append({"id": "gsm-0#s0", "problem_id": "gsm-0", "completion": "5", "scores": {"answer_correct": True}})
    write_jsonl(out / "scored" / "shard-00000.jsonl", scored)

    def pair(arm: str, kind: str) -> dict:
        return {"id": f"{arm}-{kind}", "prompt": "Q?", "chosen": COMPLETIONS["correct"], "rejected": COMPLETIONS[kind],
                "w_raw": 1.0, "scores": {"rejected": scored[list(COMPLETIONS).index(kind)]["scores"], "chosen": None},
                "meta": {"arm": arm, "problem_id": "tb-0", "rejected_id": f"tb-0#{kind}", "chosen_id": "tb-0#correct",
                         "chosen_source": "policy"}}
    write_jsonl(out / "pairs" / "hardneg" / "shard-00000.jsonl", [pair("hardneg", "structured"), pair("hardneg", "arithmetic")])
    write_jsonl(out / "pairs" / "random" / "shard-00000.jsonl", [pair("random", "other")])
    return out


def test_truth_json_of_a_hand_built_run(tmp_path):
    out = hand_run(tmp_path / "run")
    truth = write_truth(out)
    assert json.loads((out / "truth.json").read_text()) == truth
    assert (truth["problems"], truth["problems_with_truth"], truth["samples_classified"], truth["checker_disagreements"]) == (2, 1, 5, 0)
    g = truth["groups"]
    assert g["candidates"]["by_category"] == {"correct": 1, "structured": 2, "arithmetic": 1, "other": 1}
    assert g["hardneg"] == {"n": 2, "by_category": {"correct": 0, "structured": 1, "arithmetic": 1, "other": 0},
                            "by_trap": {"times_vs_more": 1}}
    assert g["random"]["by_category"]["other"] == 1
    hard = truth["agreement"]["hardneg"]
    # structured: verifier step 3 -> line 2, truth 2 (exact); arithmetic: verifier line 3, truth 2 (+1)
    assert (hard["truth_line"]["compared"], hard["truth_line"]["exact"], hard["truth_line"]["within_1"]) == (2, 1, 2)
    assert hard["truth_line"]["offsets"]["+1"] == 1 and hard["trap_line"]["exact"] == 1
    assert hard["by_category"]["arithmetic"]["exact"] == 0 and hard["by_category"]["structured"]["exact"] == 1
    assert truth["agreement"]["random"]["truth_line"]["no_verifier_error"] == 1
    assert truth["pairs"] == {"hardneg": ["tb-0#structured", "tb-0#arithmetic"], "random": ["tb-0#other"]}
    assert truth["samples"]["tb-0#arithmetic"]["verifier_line"] == 3
    md = "\n".join(truth_section(truth))
    assert "| structured | 2 (40.0%) | 1 (50.0%) | 0 (0.0%) |" in md
    assert "| hard-negative pairs | 2 | 2 | 1/2 (50.0%) | 2/2 (100.0%) | 0 | 0 |" in md
    assert "| `tb-0#structured` | structured/times_vs_more @ line 2 | 3 (wrong_operation) -> 2 | 3 |" in md


def test_html_shows_the_section_and_each_pairs_truth(tmp_path):
    from hn_lightning.reports.mining import write_mining_report

    out = hand_run(tmp_path / "run")
    write_truth(out)
    (out / "funnel.json").write_text("{}")
    (out / "manifest.json").write_text("{}")
    page = write_mining_report(out).read_text(encoding="utf-8")
    assert 'id="ground-truth"' in page and "times_vs_more" in page
    assert "<td>structured/times_vs_more @ line 2</td>" in page and "<td>arithmetic @ line 2</td>" in page
    assert "the verifier&#39;s first wrong step 3 (wrong_operation) is line 2 (the same line)" in page
    assert "(+1 lines from the ground truth)" in page


def test_runs_without_truth_write_none_and_lose_a_stale_file(tmp_path):
    out = tmp_path / "run"
    write_jsonl(out / "problems.jsonl", [Problem("gsm-0", "Q?", "#### 5", "5", "gsm").to_dict()])
    assert "truth" not in json.loads((out / "problems.jsonl").read_text())  # the lines other data always had
    (out / "truth.json").write_text("{}")
    assert compute_truth(out) is None and write_truth(out) is None and not (out / "truth.json").exists()


# ------------------------------------------------------------------ end to end


def trapped(problem: Problem) -> str | None:
    """The reference with its last line written as that step's trap (its value carried to the answer)."""
    steps = problem.truth["steps"]
    last = [t for t in problem.truth["traps"] if t["line"] == len(steps) and t["value"] and Fraction(t["value"]) == Fraction(t["answer"])]
    if not last:
        return None
    t = last[0]
    lines = problem.reference.split("\n")
    lines[len(steps) - 1] = re.sub(r"<<[^<>]*>>\S+", f"<<{t['expr']}={t['value']}>>{t['value']}", lines[len(steps) - 1])
    lines[-1] = ANSWER % t["value"]
    return "\n".join(lines)


@pytest.mark.usefixtures("small_testbed")
def test_a_testbed_mining_run_writes_truth_and_cli_report_rebuilds_it(tmp_path, tokenizer):
    from hn_lightning.evaluation.generate import Generation
    from hn_lightning.mining import (
        CandidatesConfig,
        MineConfig,
        MiningPipeline,
        ProblemsConfig,
        SamplingConfig,
    )
    from hn_lightning.mining.config import ProblemSource
    from hn_lightning.mining.problems import load_problems
    from hn_lightning.mining.shards import read_records
    from hn_lightning.mining.synthetic import SyntheticSampler, word_pieces
    from hn_lightning.verifier import MathVerifier

    class TrapSampler(SyntheticSampler):
        """The synthetic kinds, with the near misses falling into the last step's trap."""

        def sample(self, prompts, seeds):
            out = super().sample(prompts, seeds)
            for prompt, gens in zip(prompts, out):
                text = trapped(self._problem(prompt))
                if text is not None:
                    pieces = word_pieces(text)
                    gens[1] = Generation(text=text, token_ids=list(range(len(pieces))), finish_reason="stop", num_tokens=len(pieces),
                                         seconds=0.0, token_logprobs=[math.log(0.95)] * len(pieces), tokens=pieces)
            return out

    kinds = ("correct", "near_miss", "off_track", "unsure_miss")
    source = ProblemSource(path="testbed:train", name="tb", gold_field="answer", reference_field="solution")
    cfg = MineConfig(out=str(tmp_path / "mine"), progress=False,
                     problems=ProblemsConfig(gsm8k=None, math=None, custom=[source], limit=6),
                     candidates=CandidatesConfig(sampling=SamplingConfig(num_samples=len(kinds), problems_per_batch=3)))
    problems = load_problems(cfg.problems)
    assert all(p.truth and p.truth["answer"] in p.gold for p in problems)
    built = {f"{p.id}#s1" for p in problems if trapped(p) is not None}
    assert built
    MiningPipeline(cfg, tokenizer=tokenizer, verifier=MathVerifier(), sampler=TrapSampler(problems, len(kinds), kinds)).run()
    out = Path(cfg.out)
    truth = json.loads((out / "truth.json").read_text())
    funnel = json.loads((out / "funnel.json").read_text())
    hard = read_records(out / "pairs" / "hardneg")
    assert truth["problems_with_truth"] == 6 and truth["groups"]["candidates"]["n"] == funnel["input"] == 24
    assert truth["groups"]["candidates"]["by_category"]["correct"] == 6
    assert truth["groups"]["candidates"]["by_category"]["structured"] >= len(built)
    assert truth["groups"]["hardneg"]["n"] == len(hard) > 0
    assert truth["pairs"]["hardneg"] == [p["meta"]["rejected_id"] for p in hard]
    for p in hard:
        row, s = truth["samples"][p["meta"]["rejected_id"]], p["scores"]["rejected"]
        assert row["verifier_step"] == (None if s["first_error_step"] is None else s["first_error_step"] + 1)
        if p["meta"]["rejected_id"] in built:  # the trap the sampler wrote, at the line it wrote it
            problem = next(q for q in problems if q.id == p["meta"]["problem_id"])
            assert row["category"] == "structured" and row["truth_line"] == len(problem.truth["steps"])
    assert any(i in built for i in truth["pairs"]["hardneg"])
    assert "## Ground truth (testbed)" in (out / "report.md").read_text()
    assert 'id="ground-truth"' in (out / "report.html").read_text()
    (out / "truth.json").unlink()
    proc = run_cli_raw(["report", str(out)], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "truth.json").read_text()) == truth
