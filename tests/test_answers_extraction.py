"""Answer extraction: hendrycks last-box, Step-DPO all-boxes, fallbacks, splits, GSM8K golds."""

from __future__ import annotations

import pytest

from hn_lightning.answers import (
    extract_math_answer,
    extract_program_output,
    gold_list,
    gsm8k_gold,
    hendrycks_extract,
    last_boxed,
    last_boxed_only_string,
    remove_boxed,
    stepdpo_boxed_answers,
)

# ---- hendrycks-style last box ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so \boxed{5}.", "5"),
        (r"\boxed{1} then \boxed{\frac{1}{2}}", r"\frac{1}{2}"),  # last box, nested braces
        (r"\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
        (r"\boxed{{a}{b}}", "{a}{b}"),
        (r"only \fbox{7} here", "7"),  # \fbox fallback when there is no \boxed
        (r"\fbox{7} and \boxed{8}", "8"),  # \boxed wins over a later-searched \fbox
        (r"\boxed 5", None),  # brace-less box
        (r"\boxed{5", None),  # never closed
        ("no box at all", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


def test_hendrycks_extract_is_strict_about_boxed_prefix() -> None:
    assert hendrycks_extract(r"\fbox{7}") is None  # remove_boxed needs "\boxed{"
    assert hendrycks_extract(r"\boxed 5 and later {x}") is None
    assert last_boxed_only_string(r"\boxed 5 and later {x}") == r"\boxed 5 and later {x}"
    assert hendrycks_extract(r"a \boxed{3} b \boxed{4}") == "4"
    assert remove_boxed(None) is None


# ---- Step-DPO all boxes ----------------------------------------------------------------------


def test_stepdpo_boxes_all_in_order_and_drops_unclosed() -> None:
    assert stepdpo_boxed_answers(r"\boxed{1}, \boxed{2}, \boxed{3") == ["1", "2"]
    assert stepdpo_boxed_answers(r"\boxed{\frac{1}{2}} and \boxed{x}") == [r"\frac{1}{2}", "x"]
    assert stepdpo_boxed_answers(r"\fbox{3}") == []


def test_stepdpo_percent_after_box_keeps_the_closing_brace() -> None:
    # The original keeps piece[: i + 1], i.e. the closing brace, not the "%" (the prose says "%").
    assert stepdpo_boxed_answers(r"\boxed{50}%") == ["50}"]
    assert stepdpo_boxed_answers(r"\boxed{\frac{1}{2}}%") == [r"\frac{1}{2}}"]
    assert extract_math_answer("", r"\boxed{\frac{1}{2}}%") == [r"\frac{1}{2}}"]


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (r"First \boxed{3}, then \boxed{5}.", ["3", "5"]),
        (r"\boxed{3} and \boxed{5", ["3"]),
        (r"The answer is \boxed 5", []),  # "boxed" present, no "boxed{": nothing, no fallback
        (r"\boxed{\dfrac{1}{2}}", [r"\frac{1}{2}"]),
        (r"\boxed{5\text{ cm}}", ["5"]),
        (r"\boxed{50\%}", ["50%"]),
        (r"\boxed{\text{(A)}}", ["(A)"]),
        ("The answer is 5.", ["5"]),
        ("So the answer is: 42.", ["42"]),
        ("Therefore, the final answer is $\\frac{3}{4}$. I hope it is correct.", [r"\frac{3}{4}"]),
        ("Minerva wins over boxes: final answer is $7$. I hope \\boxed{8}", ["7"]),
        ("We have 3 apples, then 1,250 more: 1,253 in total", ["1253"]),  # last number, commas removed
        ("It drops to -2.5 degrees", ["-2.5"]),
        ("x = .5", ["0.5"]),
        (
            "```python\nprint(6*7)\n```\n```output\n42\n```\nthen 17",
            ["42"],
        ),  # program output before last number
        ("no numbers here", []),
        (r"\boxed{19 \text{ and } 43}", ["19", "43"]),
        (r"\boxed{(1,2)}", ["(1,2)"]),
    ],
)
def test_extract_math_answer(completion: str, expected: list[str]) -> None:
    assert extract_math_answer("", completion) == expected


def test_separated_by_commas_split_depends_on_question_and_brackets() -> None:
    question = "Enter all the solutions, separated by commas."
    assert extract_math_answer(question, r"\boxed{1, -2, 3}") == ["1", "-2", "3"]
    assert extract_math_answer("What is x?", r"\boxed{1, -2, 3}") == ["1,-2,3"]
    assert extract_math_answer(question, r"\boxed{(1,2), (3,4)}") == ["(1,2),(3,4)"]  # brackets: no split


def test_first_line_only_reproduces_the_released_gold_quirk() -> None:
    solution = "so the area is $\\boxed{90\\text{square\nunits}}$."
    assert extract_math_answer("", solution, first_line_only=True) == ["90\\text{square"]
    assert extract_math_answer("", solution) == ["90"]


def test_extract_program_output_takes_last_block() -> None:
    text = "```output\n1\n```\n...\n```output\n 2 \n```"
    assert extract_program_output(text) == "2"
    assert extract_program_output("none") == ""


# ---- golds -----------------------------------------------------------------------------------


def test_gsm8k_gold() -> None:
    assert gsm8k_gold("He pays 2*3=<<2*3=6>>6\n#### 6") == "6"
    assert gsm8k_gold("...\n####  2,125 ") == "2,125"  # thousands commas kept, as in Step-DPO's file
    with pytest.raises(ValueError):
        gsm8k_gold("no marker")
    assert gold_list("work\n#### 7") == ["7"]
    assert gold_list(["1", "2"]) == ["1", "2"]
    assert gold_list(r"\frac{1}{2}") == [r"\frac{1}{2}"]
