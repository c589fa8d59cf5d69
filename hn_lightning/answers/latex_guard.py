"""Fail loudly when sympy's LaTeX parser is broken (the antlr version trap).

sympy's ``parse_latex`` (antlr backend) only works with ``antlr4-python3-runtime`` 4.11.x; with any
other version every call raises ``ImportError``. Step-DPO's checker swallows that and falls back to
``parse_expr``, so fraction, root and pi comparisons silently turn wrong
(shared/docs/eval-protocol.md, section 6). :func:`check_latex_parser` turns that into an error.
"""

from __future__ import annotations

import threading

__all__ = ["check_latex_parser", "ensure_latex_parser", "ANTLR_FIX"]

ANTLR_FIX = 'pip install "antlr4-python3-runtime==4.11.*"'

_lock = threading.Lock()
_checked = False


def _antlr_version() -> str:
    try:
        from importlib.metadata import version

        return version("antlr4-python3-runtime")
    except Exception:  # not installed, or no metadata
        return "not installed"


def check_latex_parser() -> None:
    r"""Parse ``\frac{1}{2}`` with sympy's ``parse_latex``; raise ``RuntimeError`` naming the fix if
    it fails or gives anything but 1/2."""
    try:
        from sympy.parsing.latex import parse_latex

        value = parse_latex(r"\frac{1}{2}")
    except Exception as exc:
        raise RuntimeError(
            f"sympy's LaTeX parser is broken ({type(exc).__name__}: {exc}); antlr4-python3-runtime is "
            f"{_antlr_version()}, but sympy's parse_latex needs 4.11.x. Fix: {ANTLR_FIX}. Without it the "
            "Step-DPO checker silently marks fraction/root/pi answers wrong."
        ) from exc
    try:
        ok = float(value) == 0.5  # parse_latex returns the unevaluated 1*2**(-1)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise RuntimeError(
            f"sympy's parse_latex(r'\\frac{{1}}{{2}}') gave {value!r}, not 1/2. Fix: {ANTLR_FIX}"
        )


def ensure_latex_parser() -> None:
    """:func:`check_latex_parser` once per process (cached after the first success)."""
    global _checked
    if _checked:
        return
    with _lock:
        if not _checked:
            check_latex_parser()
            _checked = True
