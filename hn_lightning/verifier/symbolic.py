r"""The symbolic dimension ``s_sym``: are the step's computations right, and are their results used?

Paper method step (arXiv 2512.19728, section 3.2, fine channel): SymPy checks of the equations and
the arithmetic in each step. Findings, each with a severity (configurable, defaults in
:class:`~hn_lightning.verifier.config.VerifierConfig`):

* **arithmetic slip** (``sym_slip_severity``, 0.8): a written computation evaluates to something
  else than the result written next to it (``13*2=28``). Evaluated exactly
  (:mod:`hn_lightning.verifier.arithmetic`); expressions with ``\sqrt``/``\pi`` go to SymPy under a
  timeout. Rounding to the decimals written is allowed, as are a few charitable readings.
* **inconsistent use** (``sym_inconsistent_severity``, 0.6): a computation *updates* a quantity
  ``v`` into ``r`` (``4*3*0.9=10.80`` updates 12 = 4*3 into 10.80;
  :func:`~hn_lightning.verifier.arithmetic.base_quantity`), ``r`` is never used again (not an operand
  or sub-result of a later computation, not the final answer, also as ``r*100``/``r/100``), and a
  later step computes with the stale ``v`` instead (``20-12``). ``v`` must be a computed value or a
  number that is not a common constant. This is the paper's Table 2 hard negative; the finding is also a *logic* failure
  (:attr:`SymbolicFinding.logic`), reported in ``s_logic`` by :mod:`hn_lightning.verifier.logic`.
* **unsupported operand** (``sym_unsupported_severity``, 0.15): a computation uses a number that
  is not in the problem, not an earlier result or mention, not a common constant
  (:data:`~hn_lightning.verifier.reading.COMMON_CONSTANTS`) and not derived from one by ``p/100``, ``1 ± p/100``, ``100 ± p``, ``p * 1000`` or ``p * 10**6``.
* **unsupported answer** (``sym_answer_severity``, 0.3): there are computations, and the final
  answer is neither a computed result nor mentioned before its final statement.

Combination (noisy-OR): ``s_sym = 1 - prod_i (1 - severity_i)``; 0 when nothing is found (also when
the solution writes no computation at all: no evidence of an error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from hn_lightning.verifier.arithmetic import Computation, extract_computations, normalize_math, result_matches
from hn_lightning.verifier.numbers import find_numbers, parse_number, word_numbers
from hn_lightning.verifier.reading import COMMON_CONSTANTS, EXACT, NUMERIC, math_body, math_spans, same
from hn_lightning.verifier.steps import Step

__all__ = ["SymbolicFinding", "SymbolicReport", "check_symbolic"]

_TRIVIAL = frozenset(Fraction(v) for v in (0, 1, 2, 100))
_SYMPY_OK = re.compile(r"^[\d\s.+\-*/()]*(?:(?:sqrt|pi)[\d\s.+\-*/()]*)*$")


@dataclass(frozen=True)
class SymbolicFinding:
    """One problem found by the symbolic checks; ``message`` is the human-readable flag."""

    kind: str
    step: int
    severity: float
    message: str
    logic: bool = False


@dataclass
class SymbolicReport:
    """All computations of a solution and what was found wrong with them."""

    computations: list[Computation] = field(default_factory=list)
    findings: list[SymbolicFinding] = field(default_factory=list)
    sympy_calls: int = 0
    sympy_timeouts: int = 0

    @property
    def score(self) -> float:
        """``s_sym = 1 - prod(1 - severity)`` over the findings."""
        keep = 1.0
        for f in self.findings:
            keep *= 1.0 - f.severity
        return 1.0 - keep

    @property
    def flags(self) -> list[str]:
        return [f.message for f in self.findings]


def _fmt(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return f"{float(v):.6g}"


def _closure(values: set[Fraction]) -> set[Fraction]:
    out = set(values)
    for k in values:
        out.update({k / 100, 1 - k / 100, 1 + k / 100, 100 - k, 100 + k, k * 1000, k * 10**6})
    return out


_FREE_CLOSURE: frozenset[Fraction] = frozenset(_closure(set(COMMON_CONSTANTS)) | {Fraction(1, 10**k) for k in range(1, 4)})


def _sympy_value(expr: str) -> Fraction | float | None:
    """Numeric value of a constant expression with sqrt/pi via SymPy (called under a timeout)."""
    import sympy
    from sympy.parsing.sympy_parser import parse_expr

    val = parse_expr(expr, local_dict={"sqrt": sympy.sqrt, "pi": sympy.pi}, evaluate=True)
    if not getattr(val, "is_number", False):
        return None
    if val.is_Rational:
        return Fraction(int(val.p), int(val.q))
    num = complex(sympy.N(val, 30))
    return None if abs(num.imag) > EXACT.absolute else num.real


def _latex_function_checks(step: Step, timeout_s: float) -> tuple[list[SymbolicFinding], int, int]:
    """``a = b`` pairs inside LaTeX math that need SymPy (``\\sqrt{16} = 4``)."""
    from hn_lightning.answers import CheckTimeout, call_with_timeout

    findings: list[SymbolicFinding] = []
    calls = timeouts = 0
    for start, end in math_spans(step.text, latex=True):
        seg = math_body(step.text[start:end])
        if "\\sqrt" not in seg and "\\pi" not in seg:
            continue
        seg = re.sub(r"\\sqrt\s*\{", "sqrt{", seg).replace("\\pi", "pi")
        sides = [normalize_math(s).replace("(sqrt", "sqrt").strip() for s in re.split(r"(?<![<>!])=", seg)]
        sides = [re.sub(r"sqrt\s*\(", "sqrt(", s) for s in sides]
        for a, b in zip(sides, sides[1:], strict=False):
            if not a or not b or not (_SYMPY_OK.match(a) and _SYMPY_OK.match(b)):
                continue
            calls += 2
            try:
                va = call_with_timeout(_sympy_value, (a,), timeout_s)
                vb = call_with_timeout(_sympy_value, (b,), timeout_s)
            except CheckTimeout:
                timeouts += 1
                continue
            except Exception:
                continue
            if va is None or vb is None:
                continue
            bn = parse_number(b)
            ok = result_matches(Fraction(va), bn, b) if (bn is not None and isinstance(va, Fraction)) else same(float(va), float(vb), NUMERIC)
            if not ok:
                findings.append(SymbolicFinding("slip", step.index, 0.0, f"symbolic: step {step.index + 1}: {a}={b} does not hold (SymPy: {float(va):.6g})"))
    return findings, calls, timeouts


def check_symbolic(
    steps: list[Step],
    question: str,
    final_answer: str | None,
    slip_severity: float = 0.8,
    inconsistent_severity: float = 0.6,
    unsupported_severity: float = 0.15,
    answer_severity: float = 0.3,
    sympy_timeout_s: float = 1.0,
    max_findings_per_kind: int = 3,
) -> SymbolicReport:
    """Run every check of the module doc on a split solution."""
    report = SymbolicReport()
    comps: list[Computation] = []
    for st in steps:
        comps.extend(extract_computations(st.text, st.index))
    report.computations = comps
    counts: dict[str, int] = {}

    def add(kind: str, step: int, severity: float, message: str, logic: bool = False) -> None:
        if counts.get(kind, 0) >= max_findings_per_kind:
            return
        counts[kind] = counts.get(kind, 0) + 1
        report.findings.append(SymbolicFinding(kind, step, severity, message, logic))

    # 1. arithmetic slips
    for c in comps:
        if c.matches() is False:
            add("slip", c.step, slip_severity,
                f"symbolic: arithmetic slip in step {c.step + 1}: {c.written} (evaluates to {_fmt(c.value)})")
    if any(("\\sqrt" in s.text or "\\pi" in s.text) for s in steps):
        for st in steps:
            found, calls, touts = _latex_function_checks(st, sympy_timeout_s)
            report.sympy_calls += calls
            report.sympy_timeouts += touts
            for f in found:
                add("slip", f.step, slip_severity, f.message)

    answer_value = None
    if final_answer:
        nums = find_numbers(final_answer)
        if len(nums) == 1:
            answer_value = nums[0].value

    def result_of(c: Computation) -> Fraction | None:
        return c.stated if c.stated is not None else c.value

    # 2. inconsistent use of a computed value (paper Table 2)
    earlier_results: set[Fraction] = set()
    for j, cj in enumerate(comps):
        rj = result_of(cj)
        if rj is None:
            continue
        v = cj.base
        derived = v is not None and (v in cj.subvalues or v in earlier_results or v not in COMMON_CONSTANTS)
        earlier_results.add(rj)
        if not derived or v in _TRIVIAL or v == rj:
            continue
        forms = (rj, rj * 100, rj / 100)
        used_later = any(
            any(same(f, o) for f in forms for o in (*ck.operands, *ck.subvalues)) for ck in comps[j + 1:]
        )
        if used_later or (answer_value is not None and any(same(f, answer_value) for f in forms)):
            continue
        for ck in comps[j + 1:]:
            if ck.step > cj.step and v in ck.operands:
                add("inconsistent_use", ck.step, inconsistent_severity,
                    f"symbolic: {cj.written} then {ck.expr.replace(' ', '')} (step {ck.step + 1} uses "
                    f"{_fmt(v)}, which step {cj.step + 1} had replaced by {cj.stated_text})",
                    logic=True)
                break

    # 3. operands that come from nowhere
    allowed: set[Fraction] = set(_FREE_CLOSURE)

    def know(values) -> None:
        for v in values:
            if v not in allowed:
                allowed.update(_closure({v}))

    know({n.value for n in find_numbers(question)} | set(word_numbers(question)))
    by_step: dict[int, list[Computation]] = {}
    for c in comps:
        by_step.setdefault(c.step, []).append(c)
    for st in steps:
        visible = re.sub(r"<<[^<>]*>>", " ", st.text)
        visible_nums = [n.value for n in find_numbers(visible)]
        counts_in_step: dict[Fraction, int] = {}
        for v in visible_nums:
            counts_in_step[v] = counts_in_step.get(v, 0) + 1
        same_step = {v for c in by_step.get(st.index, []) for v in (*c.subvalues, *([c.stated] if c.stated is not None else []))}
        for c in by_step.get(st.index, []):
            for o in c.operands:
                if o in same_step:  # a chain "2 * 23 - 4 = 46 - 4" reuses its own sub-results
                    continue
                if o in allowed or abs(o) in allowed or counts_in_step.get(o, 0) >= 2:
                    continue
                add("unsupported_operand", st.index, unsupported_severity,
                    f"symbolic: step {st.index + 1} computes with {_fmt(o)}, which appears nowhere before")
            r = result_of(c)
            know([*c.operands, *([r] if r is not None else [])])
        know(visible_nums)
        know(word_numbers(visible))

    # 4. a final answer that no step produced
    if answer_value is not None and comps:
        results = [result_of(c) for c in comps if result_of(c) is not None]
        mentions = sum(1 for st in steps for n in find_numbers(re.sub(r"<<[^<>]*>>", " ", st.text)) if same(n.value, answer_value))
        answer_forms = (answer_value, answer_value * 100, answer_value / 100)
        if not any(same(r, a) for r in results for a in answer_forms) and mentions < 2:
            add("answer_unsupported", steps[-1].index if steps else 0, answer_severity,
                f"symbolic: final answer {final_answer} is not the result of any step")
    return report
