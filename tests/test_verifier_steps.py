"""Step splitting and problem conditions (hn_lightning.verifier.steps)."""

from __future__ import annotations

import pytest

from hn_lightning.verifier.numbers import find_numbers, format_like, parse_number
from hn_lightning.verifier.steps import split_conditions, split_steps, strip_annotations

GSM8K_ANSWER = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n"
    "#### 72"
)


def test_gsm8k_lines_annotations_and_answer_line():
    steps = split_steps(GSM8K_ANSWER)
    assert [s.clean for s in steps] == [
        "Natalia sold 48/2 = 24 clips in May.",
        "Natalia sold 48+24 = 72 clips altogether in April and May.",
        "The answer is 72.",
    ]
    assert "<<48/2=24>>" in steps[0].text  # raw text keeps the annotation for the symbolic checks
    assert [s.index for s in steps] == [0, 1, 2]
    assert GSM8K_ANSWER[steps[1].start:steps[1].end].strip() == steps[1].text


def test_sentences_split_but_decimals_and_abbreviations_do_not():
    text = "He pays 12 * 0.9 = 10.80 dollars. Then e.g. the tax is 5%. So he pays $11.34 in total.\nA: 11.34"
    assert [s.clean for s in split_steps(text)] == [
        "He pays 12 * 0.9 = 10.80 dollars.",
        "Then e.g. the tax is 5%.",
        "So he pays $11.34 in total.",
        "The answer is 11.34.",
    ]


def test_latex_math_is_never_cut():
    text = "We have $x^2 = 4. Then y$ is fixed. So $$a = 1.\nB = 2$$ holds. Next step."
    cleans = [s.clean for s in split_steps(text)]
    assert cleans[0] == "We have $x^2 = 4. Then y$ is fixed."
    assert any("$$a = 1." in c and "B = 2$$" in c for c in cleans)
    # without LaTeX hints "$" is a currency sign, not a delimiter
    assert [s.clean for s in split_steps("It costs $3. Then $4 more.")] == ["It costs $3.", "Then $4 more."]


def test_list_markers_short_pieces_and_cap():
    text = "Step 1: First we add 2 and 3 to get 5.\nOk.\nStep 2: Then 5 * 2 = 10 apples."
    cleans = [s.clean for s in split_steps(text)]
    assert cleans == ["First we add 2 and 3 to get 5.", "Ok. Then 5 * 2 = 10 apples."]
    many = "\n".join(f"Line number {i} says {i} apples." for i in range(50))
    steps = split_steps(many, max_steps=10)
    assert len(steps) == 10 and "Line number 49" in steps[-1].clean


def test_empty_and_symbol_only_text():
    assert split_steps("") == []
    assert split_steps("  \n --- \n ") == []


def test_conditions_keep_numeric_statements_only():
    q = "Tom buys 4 notebooks that cost $3 each. The store gives a 10% discount on the total. He is happy. How much does he pay with twenty dollars?"
    assert split_conditions(q) == ["Tom buys 4 notebooks that cost $3 each.", "The store gives a 10% discount on the total."]


def test_strip_annotations_and_numbers():
    assert strip_annotations("makes 9 * 2 = $<<9*2=18>>18  a day") == "makes 9 * 2 = $18 a day"
    nums = find_numbers("20-12 = $8, 1,200.50 and -3 or .5")
    assert [n.text for n in nums] == ["20", "12", "8", "1,200.50", "-3", ".5"]
    assert parse_number("10%") == parse_number("0.1")
    assert format_like(parse_number("13.5"), "10.80") == "13.50"


@pytest.mark.parametrize(("text", "expected"), [
    # dollar amounts and a boxed answer: every "$" before the box is a currency sign
    ("He pays $12 for 3 books.\nThen $5 more for a pen.\nThe answer is $\\boxed{17}$.",
     ["He pays $12 for 3 books.", "Then $5 more for a pen.", "The answer is $\\boxed{17}$."]),
    ("Each costs $3, so 4 cost $12. The total is $\\boxed{12}$.",
     ["Each costs $3, so 4 cost $12.", "The total is $\\boxed{12}$."]),
    # inline math, a currency amount, \( \) and \[ \] in one solution
    ("We have $x = 5$. He pays $5. So \\(a. B\\) is fixed.\n\\[ y = 2. Z \\] Then \\boxed{5}.",
     ["We have $x = 5$.", "He pays $5.", "So \\(a. B\\) is fixed.", "\\[ y = 2. Z \\] Then \\boxed{5}."]),
    # an escaped dollar in LaTeX text is currency too
    ("The price is \\$4. The cost is $\\frac{1}{2}$ of it. So he pays \\$2.",
     ["The price is \\$4.", "The cost is $\\frac{1}{2}$ of it.", "So he pays \\$2."]),
])
def test_mixed_dollar_signs_split_into_the_steps_a_reader_sees(text, expected):
    assert [s.text for s in split_steps(text)] == expected


def test_processbench_step_boundaries_are_kept():
    """Real model outputs: ProcessBench steps joined with blank lines; each boundary must start a step
    (a boundary inside a short step merged by ``min_chars`` may move by the merge only)."""
    import json

    from hn_lightning.paths import shared_data_dir

    path = shared_data_dir() / "processbench" / "gsm8k_dev.jsonl"
    if not path.is_file():
        pytest.skip("ProcessBench dev half not available")
    kept = total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        steps = json.loads(line)["steps"]
        text, pos, bounds = "\n\n".join(steps), 0, []
        for s in steps[:-1]:
            pos += len(s) + 2
            bounds.append(pos)
        starts = {s.start for s in split_steps(text, max_steps=400)}
        kept += sum(any(b - 2 <= x <= b for x in starts) for b in bounds)
        total += len(bounds)
    assert total > 500 and kept == total
