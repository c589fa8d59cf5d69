r"""The verifier's first wrong step on testbed solutions with a known first wrong line, and the pure parts of
``benchmarks/testbed_first_error.py``.

A word-problem reference in the project's answer convention (``... The final answer is $\boxed{N}$.``) is read
with the word-problem rules, not as a LaTeX (competition) reference: read that way, the off-route step was
weak evidence and the fallback blamed the step that brought in its operand, the right line before it."""

from __future__ import annotations

import importlib.util
import sys
from fractions import Fraction
from pathlib import Path

from hn_lightning.data.records import gsm8k_solution
from hn_lightning.testbed.generator import make_problem
from hn_lightning.testbed.grading import classify
from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.first_error import gold_values, locate
from hn_lightning.verifier.solution_view import latex_reference
from hn_lightning.verifier.steps import paragraph_indices, split_steps

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("testbed_first_error_bench", REPO / "benchmarks" / "testbed_first_error.py")
tfe = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = tfe
_spec.loader.exec_module(tfe)

# testbed-train-6006 and its sample s0 (an SFT model's completion: the pack step skipped)
Q_6006 = ("Dan has a collection of 48 candles. Rosa has 37 candles more than Dan does. Eva has 60% more candles than "
          "Rosa does. Eva puts 8 candles in each box until none are left. Olga fills 2 boxes less than Eva does. "
          "How many boxes does Olga fill?")
LINES_6006 = ["Rosa has <<48+37=85>>85 candles.", "Eva has <<85*(100+60)/100=136>>136 candles."]
REF_6006 = "\n".join([*LINES_6006, "Eva fills <<136/8=17>>17 boxes.", "Olga fills <<17-2=15>>15 boxes.",
                      "The final answer is $\\boxed{15}$."])
S0_6006 = "\n".join([*LINES_6006, "Eva fills <<136-2=134>>134 boxes.", "Olga fills <<134-2=132>>132 boxes.",
                     "The final answer is $\\boxed{132}$."])


def _locate(pred: str, question: str, reference: str, gold: str):
    steps = split_steps(pred)
    ev = Evidence(steps=[s.text for s in steps], question=question, reference=reference, gold=gold_values(gold),
                  answer_correct=False, paragraphs=paragraph_indices(pred, steps))
    return locate(ev)


def test_6006_first_wrong_line_is_the_first_that_differs():
    fe = _locate(S0_6006, Q_6006, REF_6006, "15")
    assert (fe.index, fe.kind, fe.rule) == (2, "missing_step", "off_route"), fe  # the pack step skipped
    assert fe.verified[:2] == [True, True]  # the two lines written as the reference wrote them
    # the ground truth names the same line (1-based annotation line 3)
    truth = make_problem(48, [("more", 37), ("pct_more", 60), ("pack", 8), ("fewer", 2)], item="candles").record("t")["truth"]
    assert classify(S0_6006, truth)["first_wrong_line"] == 3


def test_answer_line_does_not_make_a_reference_latex():
    assert not latex_reference(REF_6006)
    assert not latex_reference("She has <<3*4=12>>12.\n  The final answer is $\\boxed{12}$  \n")
    assert latex_reference("Let $x^2 = 4$.\nThe final answer is $\\boxed{2}$.")  # LaTeX above the answer line
    assert latex_reference("The difference is $5-2=\\boxed{3}$.")  # a solution's own boxed answer (MATH)
    assert latex_reference("So $\\boxed{3}$ is the answer.")


def test_mining_reference_reads_like_the_raw_gsm8k_answer():
    """The same first error beside a GSM8K answer and beside mining's form of it (annotations removed,
    ``#### N`` turned into the answer line)."""
    q = ("Sara buys 3 boxes of pencils with 12 pencils in each box. She gives 10 pencils to her brother and "
         "shares the rest equally between herself and her friend. How many pencils does each of them get?")
    raw = ("She buys 3*12=<<3*12=36>>36 pencils.\nAfter her brother she has 36-10=<<36-10=26>>26 pencils.\n"
           "Each gets 26/2=<<26/2=13>>13 pencils.\n#### 13")
    pred = "Sara has 3 * 12 = 36 pencils.\nShe gives 10 to her brother and 36 + 10 = 46 are left.\nEach gets 46 / 2 = 23 pencils.\nThe answer is 23."
    a, b = _locate(pred, q, raw, "13"), _locate(pred, q, gsm8k_solution(raw), "13")
    assert (a.index, a.kind) == (b.index, b.kind) == (1, "wrong_operation"), (a, b)


# ---- the benchmark's pure parts ------------------------------------------------------------------------
def test_trapped_solutions_carry_their_trap_and_line():
    problem = make_problem(40, [("times", 3), ("give_away", 20), ("pct_more", 25), ("together", 0)])
    sols = tfe.trapped_solutions(problem, "p")
    traps = {(t["kind"], t["line"], Fraction(t["answer"])) for t in problem.record("p")["truth"]["traps"] if t["kind"] != "repeat"}
    assert sols and len(sols) == len(traps)
    for s in sols:
        c = classify(s["completion"], s["truth"])
        assert c["category"] == "structured", (s["id"], c)
        assert (c["trap"], c["trap_line"], Fraction(c["answer"])) in traps, (s["id"], c)
        assert s["reference"].endswith("The final answer is $\\boxed{216}$.") and s["source"] == "trapped"
    # the times trap writes 40+3 on line 1 and carries it on
    plus = next(s for s in sols if s["id"] == "p#times_vs_more@1")
    assert plus["completion"].startswith("Ben has <<40+3=43>>43 stickers.")


def test_row_and_summary():
    truth = make_problem(48, [("more", 37), ("pct_more", 60), ("pack", 8), ("fewer", 2)], item="candles").record("t")["truth"]
    sample = {"id": "a", "source": "sampled", "hardneg": True, "completion": S0_6006, "truth": truth}
    at = S0_6006.index("Eva has")  # the verifier naming line 2: one line early
    r = tfe.row(sample, {"first_error_step": 1, "first_error_kind": "wrong_operation", "first_error_span": [at, at + 5]}, "weak_off_route")
    assert (r["verifier_line"], r["truth_line"], r["offset"], r["rule"]) == (2, 3, -1, "weak_off_route")
    none = tfe.row({**sample, "id": "b"}, {"first_error_step": None}, None)
    s = tfe.summarize([r, none])
    assert s["all"]["compared"] == 1 and s["all"]["offsets"]["-1"] == 1 and s["all"]["no_verifier_error"] == 1
    assert s["by_rule"]["weak_off_route"]["exact"] == 0 and s["by_trap"]["skip"]["n"] == 2
    table = tfe.markdown("x", s)
    assert "| all | 1 | 0% | 100% | 0 | 1 | 0 | 0 | 0 |" in table and "rule: None" not in table
