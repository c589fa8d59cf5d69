r"""Step-DPO's ``math_equal(prediction, reference)``: is one normalised answer equal to one gold?

Mirrors ``evaluation/eval/eval_utils.py::math_equal`` of dvlab-research/Step-DPO
(shared/docs/eval-protocol.md, section 3), in order:

1. string equality; then the hard-coded guard: a prediction containing ``^{216}`` is wrong;
2. numeric: if both parse as numbers (commas removed, trailing ``%``/``\%`` read as /100), the
   answer is right iff it is within 1e-3 of ``ref``, ``ref/100`` or ``ref*100`` (percent leniency,
   so ``5`` matches ``500``), and there is **no** symbolic fallback;
3. tuples/intervals: both start with ``(``/``[`` and have a later ``)``/``]``: the inner parts split
   on commas are compared pairwise, brackets ignored (``(1,2]`` matches ``[1,2)``);
4. ``pmatrix``/``bmatrix``: row by row on ``\\``, cell by cell on ``&``;
5. equations: both ``lhs=rhs``: ``lhs-(rhs)`` compared symbolically up to sign; one side ``x=5`` with
   a short LHS: its RHS is compared with the other side;
6. symbolic (:func:`~hn_lightning.answers.symbolic.symbolic_equal_raw`), under the guard's timeout.
"""

from __future__ import annotations

import re
from math import isclose

from hn_lightning.answers.guard import Guard
from hn_lightning.answers.symbolic import symbolic_equal_raw

__all__ = ["parse_digits", "is_digit", "math_equal", "symbolic_equal"]

_BRACKETED = re.compile(r"(\(|\[).+(\)|\])")
_MATRIX_BEGINS = ("\\begin{pmatrix}", "\\begin{bmatrix}")
_MATRIX_ENDS = ("\\end{pmatrix}", "\\end{bmatrix}")


def parse_digits(text: object) -> float | None:
    r"""Step-DPO ``parse_digits``: ``float`` after removing commas; a trailing ``%`` (or ``\%``)
    means /100; ``None`` when it is not a number. Python's ``float`` rules apply (``1e3``, ``inf``,
    ``nan`` and ``1_000`` parse, as in the original)."""
    s = str(text).replace(",", "")
    try:
        return float(s)
    except ValueError:
        pass
    if s.endswith("%"):
        s = s[:-1]
        if s.endswith("\\"):
            s = s[:-1]
        try:
            return float(s) / 100
        except ValueError:
            pass
    return None


def is_digit(text: object) -> bool:
    """True when :func:`parse_digits` reads a number."""
    return parse_digits(text) is not None


def symbolic_equal(a: str, b: str, guard: Guard | None = None) -> bool:
    """:func:`symbolic_equal_raw` under ``guard`` (timeouts and unreadable inputs are logged there)."""
    guard = guard if guard is not None else Guard()
    equal, parse_failed = guard.run(
        symbolic_equal_raw, (a, b), (False, False), f"symbolic_equal({a!r}, {b!r})"
    )
    if parse_failed:
        guard.log.note("parse_errors", f"sympy could not parse {a!r} or {b!r}")
    return equal


def _numeric_equal(prediction: float, reference: float, include_percentage: bool) -> bool:
    candidates = [reference / 100, reference, reference * 100] if include_percentage else [reference]
    for item in candidates:
        try:
            if isclose(item, prediction, abs_tol=1e-3):
                return True
        except (TypeError, ValueError, OverflowError):
            continue
    return False


def _matrix_cells(text: str) -> list[list[str]]:
    body = text[len("\\begin{pmatrix}") : -len("\\end{pmatrix}")]  # both spellings have equal length
    rows = [row.strip() for row in body.split("\\\\") if row.strip()]
    return [row.split("&") for row in rows]


def _is_matrix(text: str) -> bool:
    return text.startswith(_MATRIX_BEGINS) and text.endswith(_MATRIX_ENDS)


def math_equal(
    prediction: str, reference: str, guard: Guard | None = None, include_percentage: bool = True
) -> bool:
    """True if ``prediction`` equals ``reference`` under Step-DPO's rules (see the module doc).

    Never raises and never hangs: sympy runs through ``guard`` (a default :class:`Guard` with a 5 s
    timeout when none is given).
    """
    guard = guard if guard is not None else Guard()
    if str(prediction) == str(reference):
        return True
    if "^{216}" in prediction:
        return False

    # 2. numeric (no symbolic fallback when both sides are numbers)
    pred_num, ref_num = parse_digits(prediction), parse_digits(reference)
    if pred_num is not None and ref_num is not None:
        return _numeric_equal(pred_num, ref_num, include_percentage)

    if not prediction:
        return False
    reference = str(reference).strip()
    prediction = str(prediction).strip()

    # 3. tuples and intervals, bracket-blind
    if _BRACKETED.match(prediction) and _BRACKETED.match(reference):
        pred_parts = prediction[1:-1].split(",")
        ref_parts = reference[1:-1].split(",")
        if len(pred_parts) == len(ref_parts) and all(
            math_equal(p, r, guard, include_percentage) for p, r in zip(pred_parts, ref_parts, strict=True)
        ):
            return True

    # 4. matrices
    if _is_matrix(prediction) and _is_matrix(reference):
        pred_rows, ref_rows = _matrix_cells(prediction), _matrix_cells(reference)
        if len(pred_rows) == len(ref_rows) and all(
            len(pr) == len(rr)
            and all(math_equal(p, r, guard, include_percentage) for p, r in zip(pr, rr, strict=True))
            for pr, rr in zip(pred_rows, ref_rows, strict=True)
        ):
            return True

    # 5. equations
    if prediction.count("=") == 1 and reference.count("=") == 1:
        p_lhs, p_rhs = prediction.split("=")
        r_lhs, r_rhs = reference.split("=")
        pred_expr = f"{p_lhs.strip()} - ({p_rhs.strip()})"
        ref_expr = f"{r_lhs.strip()} - ({r_rhs.strip()})"
        if symbolic_equal(pred_expr, ref_expr, guard) or symbolic_equal(f"-({pred_expr})", ref_expr, guard):
            return True
    elif prediction.count("=") == 1 and len(prediction.split("=")[0].strip()) <= 2 and "=" not in reference:
        if math_equal(prediction.split("=")[1], reference, guard, include_percentage):
            return True
    elif reference.count("=") == 1 and len(reference.split("=")[0].strip()) <= 2 and "=" not in prediction:
        if math_equal(prediction, reference.split("=")[1], guard, include_percentage):
            return True

    # 6. symbolic
    return symbolic_equal(prediction, reference, guard)
