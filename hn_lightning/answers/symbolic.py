"""Step-DPO's ``symbolic_equal``: parse both sides with sympy and compare.

Mirrors ``evaluation/eval/eval_utils.py::symbolic_equal`` of dvlab-research/Step-DPO: each side is
parsed with ``parse_latex``, falling back to ``parse_expr``, and left as the raw string if both fail;
the two are equal if ``simplify(a - b) == 0`` or ``N(a)`` and ``N(b)`` are within 1e-3. Any exception
in a step counts as "not equal by that step".

Two deliberate differences, neither of which changes a verdict on a genuine math answer:

* the call itself is untimed here; callers run it through
  :func:`hn_lightning.answers.timeouts.call_with_timeout` (Step-DPO's default had no timeout);
* ``parse_expr`` evaluates Python, so it runs on a restricted namespace: no Python builtins except
  harmless functions, no sympy entry points with side effects (``test``, ``preview``, ``plot``...),
  and strings containing ``__``, quotes, backticks or ``;`` are refused (counted as a parse failure).
"""

from __future__ import annotations

import builtins
import types
from functools import lru_cache
from math import isclose
from typing import Any

__all__ = ["parse_sympy", "safe_parse_expr", "symbolic_equal_raw", "warm_up"]

_REFUSED_SUBSTRINGS = ("__", "'", '"', "`", ";")
_UNSAFE_BUILTINS = {
    "eval",
    "exec",
    "compile",
    "open",
    "input",
    "__import__",
    "breakpoint",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "dir",
    "help",
    "exit",
    "quit",
    "print",
}
_UNSAFE_SYMPY = {
    "test",
    "doctest",
    "preview",
    "init_session",
    "init_printing",
    "interactive_traversal",
    "var",
    "plot",
    "plot_implicit",
    "plot_parametric",
    "plot_backends",
    "textplot",
    "lambdify",
    "pprint",
    "pprint_use_unicode",
    "pprint_try_use_unicode",
    "print_python",
    "print_latex",
    "print_mathml",
    "print_tree",
    "print_ccode",
    "print_fcode",
    "print_glsl",
    "print_jscode",
    "print_maple_code",
    "print_rcode",
    "pager_print",
    "pretty_print",
    "multiline_latex",
    "python",
    "symbols",
}


@lru_cache(maxsize=1)
def _safe_globals() -> dict[str, Any]:
    """sympy's ``parse_expr`` namespace minus anything that can reach the OS or has side effects."""
    namespace: dict[str, Any] = {}
    exec("from sympy import *", namespace)  # noqa: S102 - a fixed import, not user input
    from sympy import Max, Min

    for name in _UNSAFE_SYMPY:
        namespace.pop(name, None)
    for name, obj in vars(builtins).items():
        if isinstance(obj, types.BuiltinFunctionType) and name not in _UNSAFE_BUILTINS:
            namespace[name] = obj
    namespace["max"], namespace["min"] = Max, Min
    namespace["__builtins__"] = {}
    return namespace


def safe_parse_expr(text: str) -> Any:
    """sympy ``parse_expr`` on a restricted namespace (see module doc); raises on refusal."""
    from sympy.parsing.sympy_parser import parse_expr

    if any(bad in text for bad in _REFUSED_SUBSTRINGS):
        raise ValueError(f"refusing to evaluate {text!r} with parse_expr")
    return parse_expr(text, global_dict=dict(_safe_globals()))


def parse_sympy(text: str) -> tuple[Any, bool]:
    """``(parse_latex(text), True)``, else ``(safe_parse_expr(text), True)``, else ``(text, False)``."""
    from sympy.parsing.latex import parse_latex

    try:
        return parse_latex(text), True
    except Exception:
        pass
    try:
        return safe_parse_expr(text), True
    except Exception:
        pass
    return text, False


def symbolic_equal_raw(a: str, b: str) -> tuple[bool, bool]:
    """``(equal, parse_failed)`` for two answer strings, with no timeout (see module doc).

    ``parse_failed`` is True when either side could be parsed by neither parser.
    """
    from sympy import N, simplify

    pa, ok_a = parse_sympy(a)
    pb, ok_b = parse_sympy(b)
    parse_failed = not (ok_a and ok_b)
    try:
        if simplify(pa - pb) == 0:
            return True, parse_failed
    except Exception:
        pass
    try:
        if isclose(N(pa), N(pb), abs_tol=1e-3):
            return True, parse_failed
    except Exception:
        pass
    return False, parse_failed


def warm_up() -> None:
    """Import sympy and build the LaTeX parser once (the first ``parse_latex`` call is slow)."""
    from hn_lightning.answers.latex_guard import check_latex_parser

    check_latex_parser()
    _safe_globals()
