r"""Every rule of the first-error table (hn_lightning.verifier.rules) on a hand-built case: the exact
step and kind it finds (and that switching the rule off changes the outcome, so the rule is what finds
it), and a case it must not flag. A rule added to the table without a case here fails
``test_every_rule_has_a_case``."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.first_error import ERROR_KINDS, gold_values, locate, locate_first_error
from hn_lightning.verifier.rules import RULES, When, rule_names
from hn_lightning.verifier.steps import paragraph_indices, split_steps

SARA_Q = ("Sara buys 3 boxes of pencils with 12 pencils in each box. She gives 10 pencils to her brother and "
          "shares the rest equally between herself and her friend. How many pencils does each of them get?")
SARA_REF = ("She buys 3*12=<<3*12=36>>36 pencils.\nAfter her brother she has 36-10=<<36-10=26>>26 pencils.\n"
            "Each gets 26/2=<<26/2=13>>13 pencils.\n#### 13")
SARA_RIGHT = ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
              "Each gets 26 / 2 = 13 pencils.\nThe answer is 13.")
ODD_Q = r"What is the greatest odd integer that is a factor of $5!$?"
ODD_REF = (r"The only odd prime factors of $5!$ are $5$ and $3$, so the greatest odd divisor of $5!$ is "
           r"$5 \times 3 = \boxed{15}$.")
ODD_RIGHT = r"The odd prime factors of $5!$ are $3$ and $5$.\nTheir product is $3 \times 5 = 15$.\nThe answer is $\boxed{15}$."
SQUARE_Q = r"How many square units are in the region satisfying $y \ge |x|$ and $y \le -|x|+3$? Express your answer as a decimal."
SQUARE_REF = (r"A diagonal of the square is $BD$, which measures 3 units. So a side of the square measures $3/\sqrt{2}$ "
              r"units and the area is $\left(\frac{3}{\sqrt{2}}\right)^2 = \boxed{4.5}$.")
AGE_Q = "Ann is 30 years old. In 6 years she will be twice as old as her son. How old is her son now?"
AGE_REF = "In 6 years Ann is 30+6=<<30+6=36>>36.\nHer son will be 36/2=<<36/2=18>>18.\nNow he is 18-6=<<18-6=12>>12.\n#### 12"
QUILT_Q = ("A quilt has a body of 500 squares, a border of a fifth as many squares, and a badge of twice as many "
           "squares as the border. The whole quilt has 1000 squares. How many squares does each of its 2 pockets take?")
QUILT_REF = ("The border takes 500/5=<<500/5=100>>100.\nThe badge takes 2*100=<<2*100=200>>200.\n"
             "Body, border and badge take 500+100+200=<<500+100+200=800>>800.\nThe pockets take 1000-800=<<1000-800=200>>200.\n"
             "Each pocket takes 200/2=<<200/2=100>>100.\n#### 100")
QUILT_HEAD = "The border takes 500 / 5 = 100 squares.\nThe badge takes 2 * 100 = 200 squares.\n"
FLAMINGO_Q = ("On Friday the neighbors placed 18 pink flamingos on Sue's yard. On Saturday they took back one third "
              "of them, painted them white and put them back. On Sunday they added another 18 pink flamingos. "
              "How many more pink than white flamingos were there on Sunday?")
FLAMINGO_REF = ("18*1/3=<<18*1/3=6>>6 were painted white.\n18-6=<<18-6=12>>12 pink were left.\n"
                "12+18=<<12+18=30>>30 pink on Sunday.\n30-6=<<30-6=24>>24 more pink.\n#### 24")


@dataclass(frozen=True)
class Case:
    pred: str
    q: str
    ref: str | None = None
    gold: str | None = None
    correct: bool | None = None
    paragraphs: bool = False

    def run(self, disabled: frozenset[str] = frozenset()):
        st = split_steps(self.pred)
        texts = [s.text for s in st]
        fe = locate_first_error(texts, self.q, self.ref, gold_values(self.gold) if self.gold else None, self.correct,
                                paragraphs=paragraph_indices(self.pred, st) if self.paragraphs else None, disabled=disabled)
        return fe, texts


def sara(pred: str, correct: bool | None = False) -> Case:
    return Case(pred, SARA_Q, SARA_REF, "13", correct)


# rule -> (a case it decides, the expected (index, kind), a case it must not flag)
CASES: dict[str, tuple[Case, tuple[int, str], Case]] = {
    "arithmetic_slip": (
        Case("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 24 pencils.\nEach gets 12.\nThe answer is 12.", SARA_Q),
        (1, "arithmetic_slip"), Case(SARA_RIGHT, SARA_Q)),
    "chain_link": (
        Case("We expand the square.\n\\[y = (x-3)^2 + 1 = x^2 + 6x + 9 + 1 = x^2 + 6x + 10\\]\nSo the minimum is \\(10\\).",
             "Find the minimum of $(x-3)^2 + 1$."),
        (1, "arithmetic_slip"),
        Case("We expand the square.\n\\[y = (x-3)^2 + 1 = x^2 - 6x + 9 + 1 = x^2 - 6x + 10\\]\nSo the minimum is \\(1\\).",
             "Find the minimum of $(x-3)^2 + 1$.")),
    "equation_roots": (
        Case("The condition reads \\(2x + 3 = 11\\).\nSubtracting 3 gives \\(2x = 14\\).\nSo \\(x = 7\\).", "Solve $2x + 3 = 11$."),
        (1, "arithmetic_slip"),
        Case("The condition reads \\(2x + 3 = 11\\).\nSubtracting 3 gives \\(2x = 8\\).\nSo \\(x = 4\\).", "Solve $2x + 3 = 11$.")),
    "term_change": (
        Case("Square both sides.\nExpanding: \\(b^2 - 4c = b^2 - 4bc + 4c^2\\).\n"
             "Moving everything to one side gives: \\(4c^2 - 4bc = 0\\).\nSo \\(b = c\\).", "Find b in terms of c."),
        (2, "arithmetic_slip"),
        Case("We solve the system.\n\\[x + y = 7\\]\n\\[3x + y = 45\\]\nSo \\(x = 19\\).", "Solve the system.")),
    # with a reference
    "off_route": (
        sara("Sara has 3 * 12 = 36 pencils.\nAfter giving 10 to her brother she has 36 - 10 = 26 pencils.\n"
             "Shared between the two of them, each gets 26 * 2 = 52 pencils.\nThe answer is 52."),
        (2, "wrong_operation"),
        sara("Sara has 3 * 12 = 36 pencils.\nHalf of them is 36 / 2 = 18 and half of the brother's share is 10 / 2 = 5, "
             "so each gets 18 - 5 = 13.\nThe answer is 13.", None)),
    "regrouped_sum": (
        Case(QUILT_HEAD + "Border and badge take 100 + 200 = 300 squares.\nThe pockets take 1000 - 300 = 700 squares.\n"
             "Each pocket takes 700 / 2 = 350 squares.\nThe answer is 350.", QUILT_Q, QUILT_REF, "100", False),
        (3, "missing_step"),
        Case(QUILT_HEAD + "Border and badge take 100 + 200 = 300 squares.\nWith the body that is 500 + 300 = 800 squares.\n"
             "The pockets take 1000 - 800 = 200 squares, so each takes 200 / 2 = 100.\nThe answer is 100.", QUILT_Q, QUILT_REF, "100")),
    "side_remark": (
        Case("Factorials grow fast: $6! = 720$ already.\n$5! = 5 \\times 4 \\times 3 \\times 2 \\times 1 = 120$.\n"
             "Removing a factor of $4$, the greatest odd factor is $120 / 4 = 30$.\nThe answer is $\\boxed{30}$.",
             ODD_Q, ODD_REF, "15", False),
        (1, "wrong_operation"),
        Case("Factorials grow fast: $6! = 720$ already.\n" + ODD_RIGHT, ODD_Q, ODD_REF, "15")),
    "weak_latex_route": (
        Case("The region is a square of side 3.\nSo the area is $3 \\cdot 3 \\cdot \\frac{1}{4} = 2.25$.\n"
             "Final Answer: The final answer is 2.25.", SQUARE_Q, SQUARE_REF, "4.5", False),
        (1, "wrong_operation"),
        Case(ODD_RIGHT, ODD_Q, ODD_REF, "15")),
    "recomputed_given": (
        Case("They took back 18 / 3 = 6 flamingos.\nThat left 18 - 6 = 12 pink flamingos.\n"
             "With the 6 white ones Sue has 12 + 6 = 18 pink flamingos.\nOn Sunday she has 18 + 18 = 36 pink flamingos.\n"
             "There are 36 - 6 = 30 more pink ones.\nThe answer is 30.", FLAMINGO_Q, FLAMINGO_REF, "24", False),
        (2, "wrong_operation"),
        Case("They took back 18 / 3 = 6 flamingos.\nThat left 18 - 6 = 12 pink flamingos.\nOn Sunday she has 12 + 18 = 30 pink.\n"
             "There are 30 - 6 = 24 more pink ones.\nThe answer is 24.", FLAMINGO_Q, FLAMINGO_REF, "24")),
    "blame_operand_writer": (
        Case("The even factors of $5!$ give $2 \\times 4 \\times 2 = 16$.\nSo the odd part is $120 / 16 = 7.5$.\n"
             "The answer is $\\boxed{7.5}$.", ODD_Q, ODD_REF, "15", False),
        (0, "wrong_operation"),
        Case("The even factors of $5!$ give $2 \\times 4 = 8$.\nSo the odd part is $120 / 8 = 15$.\nThe answer is $\\boxed{15}$.",
             ODD_Q, ODD_REF, "15")),
    # when nothing is flagged and the answer is wrong
    "weak_off_route": (
        Case("The region is a square of side 3.\nSo the area is $3 \\cdot 3 \\cdot \\frac{1}{4} = 2.25$.\n"
             "Final Answer: The final answer is 2.25.", SQUARE_Q, SQUARE_REF, "4.5", False),
        (1, "wrong_operation"),
        Case("The region is a square of side 3.\nSo the area is $3 \\cdot 3 \\cdot \\frac{1}{4} = 2.25$.\n"
             "Final Answer: The final answer is 2.25.", SQUARE_Q, SQUARE_REF, "4.5", True)),
    "operand_brought_in": (
        # the legs (1.5) rejoin the route later (1.5 x 3 = 4.5), so only the weak area step is off it
        Case("The region is made of two right triangles with legs of length 1.5.\n"
             "So the total area is $2 \\cdot \\frac{1}{2} \\cdot 1.5 \\cdot 1.5 = 2.25$.\n"
             "Each leg is half of $1.5 \\times 3 = 4.5$ in total.\nFinal Answer: The final answer is 2.25.",
             SQUARE_Q, SQUARE_REF, "4.5", False),
        (0, "wrong_operation"),
        Case("The region is a square of side 3.\nSo the area is $3 \\cdot 3 \\cdot \\frac{1}{4} = 2.25$.\n"
             "Final Answer: The final answer is 2.25.", SQUARE_Q, SQUARE_REF, "4.5", True)),
    "stop_short": (
        sara("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\nThe answer is 26."),
        (1, "missing_step"),
        sara(SARA_RIGHT, True)),
    "final_answer": (
        sara("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
             "Each of them gets 12 pencils.\nThe answer is 12."),
        (2, "wrong_final_answer"),
        sara(SARA_RIGHT, None)),
    "answer_first_written": (
        Case("We look for the odd part of $5!$.\nEvery factor of two is removed from it.\nWhat is left is $4$.\n"
             "The answer is $\\boxed{4}$.", ODD_Q, ODD_REF, "15", False),
        (2, "wrong_final_answer"),
        Case(ODD_RIGHT, ODD_Q, ODD_REF, "15", None)),
    # relocation
    "plan_paragraph": (
        Case("In 6 years Ann will be 30 + 6 = 36 years old.\n\nHer son's age now is half of Ann's age in 6 years. "
             "The years do not change it.\n\nSo her son is 36 / 2 = 18 years old now.\n\nThe answer is 18.",
             AGE_Q, AGE_REF, "12", False, paragraphs=True),
        (1, "missing_step"),
        Case("In 6 years Ann will be 30 + 6 = 36 years old.\n\nIn 6 years her son is half of Ann's age then. We halve it.\n\n"
             "So in 6 years he is 36 / 2 = 18 years old.\n\nNow he is 18 - 6 = 12 years old. The answer is 12.",
             AGE_Q, AGE_REF, "12", None, paragraphs=True)),
}


def test_every_rule_has_a_case():
    assert set(CASES) | {"step_judge"} == set(rule_names()), set(rule_names()) ^ set(CASES)


def test_step_judge_rule_where_no_other_rule_finds_a_step():
    """The judge's first step at its threshold, reference-free and where the rules are silent (a right
    solution here); never before a rule's finding, never on a trusted right answer, nothing below it."""
    texts = [s.text for s in split_steps(SARA_RIGHT)]
    ev = Evidence(steps=texts, question=SARA_Q, judge=[0.1, 0.7, 0.9, 0.2], judge_threshold=0.5)
    fe = locate(ev)
    assert (fe.index, fe.kind, fe.rule) == (1, "step_judge", "step_judge") and fe.step_scores[1] >= 0.5
    assert locate(ev, frozenset({"step_judge"})).index is None
    assert locate(replace(ev, judge_threshold=0.95)).index is None  # must not flag: nothing reaches it
    trusted = replace(ev, reference=SARA_REF, gold=gold_values("13"), answer_correct=True)
    assert locate(trusted).index is None
    slipped = replace(ev, steps=[texts[0], texts[1].replace("= 26", "= 24"), *texts[2:]], judge=[0.9, 0.1, 0.1, 0.1])
    assert (locate(slipped).index, locate(slipped).kind) == (1, "arithmetic_slip")


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_finds_its_step_and_is_what_finds_it(name):
    case, expected, _ = CASES[name]
    fe, texts = case.run()
    assert (fe.index, fe.kind) == expected, (fe, texts)
    assert fe.kind in ERROR_KINDS and fe.step_scores[fe.index] >= 0.5 and all(s < 0.5 for s in fe.step_scores[:fe.index])
    without, _ = case.run(frozenset({name}))
    assert (without.index, without.kind, without.rule) != (fe.index, fe.kind, fe.rule), (name, without)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_does_not_flag_a_right_solution(name):
    _, _, clean = CASES[name]
    fe, texts = clean.run()
    assert fe.index is None and fe.kind is None, (name, fe, texts)


def test_table_is_well_formed():
    names = rule_names()
    assert len(names) == len(set(names))
    for r in RULES:
        assert r.reason and len(r.reason) < 140, r.name
        assert (r.find is None) == (r.stage == "refine"), r.name
        assert r.kind is None or r.kind in ERROR_KINDS, r.name
        assert isinstance(r.when, When)


def test_docs_list_every_rule_with_its_priority():
    """docs/verifier-rules.md carries the table: every rule, its stage and priority as in the code."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "verifier-rules.md").read_text(encoding="utf-8")
    table = doc.split("## The table", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().strip("`"): [c.strip() for c in line.split("|")[1:-1]]
            for line in table.splitlines() if line.startswith("| `")}
    assert set(rows) == set(rule_names())
    for r in RULES:
        assert r.name in rows, r.name
        assert rows[r.name][1] == r.stage and rows[r.name][4] == (str(r.priority) if r.stage != "refine" else "—"), rows[r.name]
