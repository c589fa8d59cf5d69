"""Small LaTeX rewrites shared by the Step-DPO and hendrycks normalisers.

Both evaluators carry private copies of the same helpers (``_fix_fracs``, ``_fix_a_slash_b``,
``_fix_sqrt``); the copies differ in small ways, which are kept here as flags so that each
normaliser reproduces its own source exactly.
"""

from __future__ import annotations

import re

__all__ = ["fix_fracs", "fix_a_slash_b", "fix_sqrt_hendrycks", "fix_sqrt_stepdpo", "fix_tan"]


def fix_fracs(string: str, *, strict_empty: bool = False) -> str:
    r"""Brace the arguments of ``\frac`` written without braces.

    ``\frac12`` becomes ``\frac{1}{2}``, ``\frac1b`` becomes ``\frac{1}{b}`` and ``\frac1{72}``
    becomes ``\frac{1}{72}``; ``\frac{...}`` pieces are left alone. When a ``\frac`` is followed by
    fewer than two characters the input is returned unchanged.

    ``strict_empty=True`` mirrors hendrycks' copy, which indexes ``substr[0]`` without a length
    check and so raises ``IndexError`` on a string ending in ``\frac``; its caller (``is_equiv``)
    catches that and falls back to raw string equality. Step-DPO's copy checks the length first.
    """
    pieces = string.split("\\frac")
    out = pieces[0]
    for piece in pieces[1:]:
        out += "\\frac"
        if strict_empty:
            first = piece[0]  # IndexError on an empty piece, on purpose (see docstring)
        else:
            first = piece[0] if piece else ""
        if first == "{":
            out += piece
            continue
        if len(piece) < 2:
            return string
        num, den, rest = piece[0], piece[1], piece[2:]
        if den != "{":
            out += "{" + num + "}{" + den + "}" + rest
        else:
            out += "{" + num + "}" + den + rest
    return out


def fix_a_slash_b(string: str, *, allow_sqrt: bool) -> str:
    r"""Turn ``a/b`` with plain integers into ``\frac{a}{b}``.

    The string must have exactly one ``/`` and each side must round-trip through ``int`` (so
    ``01/2`` and ``1 /2`` are left alone). Step-DPO (``allow_sqrt=True``) also accepts a side that
    contains ``sqrt`` verbatim, e.g. ``\sqrt{2}/2``; hendrycks does not.
    """
    parts = string.split("/")
    if len(parts) != 2:
        return string
    a, b = parts
    try:
        a_val = a if (allow_sqrt and "sqrt" in a) else str(int(a))
        b_val = b if (allow_sqrt and "sqrt" in b) else str(int(b))
    except ValueError:
        return string
    if f"{a_val}/{b_val}" != string:
        return string
    return "\\frac{" + a_val + "}{" + b_val + "}"


_SQRT_ARG = re.compile(r"\\sqrt(-?[0-9.a-zA-Z]+)")
_SQRT_SPACED_TAIL = re.compile(r"\\sqrt\s+(\w+)$")
_TAN_ARG = re.compile(r"\\tan(-?[0-9.a-zA-Z]+)")
_TAN_SPACED_TAIL = re.compile(r"\\tan\s+(\w+)$")


def fix_sqrt_stepdpo(string: str) -> str:
    r"""Step-DPO: wrap the run of ``[-0-9.a-zA-Z]`` after ``\sqrt`` in braces (``\sqrt3x`` ->
    ``\sqrt{3x}``), and a final space-separated word (``\sqrt 5`` at the end -> ``\sqrt{5}``)."""
    string = _SQRT_ARG.sub(r"\\sqrt{\1}", string)
    return _SQRT_SPACED_TAIL.sub(r"\\sqrt{\1}", string)


def fix_tan(string: str) -> str:
    r"""Step-DPO: the same rewrite as :func:`fix_sqrt_stepdpo` for ``\tan``."""
    string = _TAN_ARG.sub(r"\\tan{\1}", string)
    return _TAN_SPACED_TAIL.sub(r"\\tan{\1}", string)


def fix_sqrt_hendrycks(string: str) -> str:
    r"""hendrycks: wrap only the single character after each ``\sqrt`` (``\sqrt3x`` -> ``\sqrt{3}x``).

    Like the original, a ``\sqrt`` at the very end of the string raises ``IndexError`` (caught by
    ``is_equiv``, which then compares the raw strings).
    """
    if "\\sqrt" not in string:
        return string
    pieces = string.split("\\sqrt")
    out = pieces[0]
    for piece in pieces[1:]:
        if piece[0] != "{":
            out += "\\sqrt{" + piece[0] + "}" + piece[1:]
        else:
            out += "\\sqrt" + piece
    return out
