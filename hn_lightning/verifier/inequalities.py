r"""Inequalities rewritten into ones with another boundary (issue 14, sixth pass; used by
:func:`~hn_lightning.verifier.algebra.algebra_slips`).

``m^2 - 4(2)(8) > 0``, so ``m^2 - 32 > 0``: the rewrite moved the boundary (64 became 32). Only an
inequality *derived* from the one just before it is compared: joined to it by ``\implies`` /
``\Rightarrow`` / ``\therefore`` inside one math span, or opening the next span after words such as
"so", "thus", "which implies", "gives", "simplifies" (conditions listed side by side, ``x + 4 < 9
\quad \text{or} \quad -(x + 4) < 9``, or a case condition followed by what holds in it, are not
derived from each other). In one unknown, two such polynomial inequalities of the same degree must
have the same boundary points (the roots of ``left - right``, complex, with multiplicity); a bare
bound (``x > 2``) and a change of degree (squaring, a root taken) are not compared. In two or three
unknowns, the rewrite must not change exactly one term (:func:`~hn_lightning.verifier.term_slips.one_term_changed`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hn_lightning.verifier.latex_math import MATH, Timeout, time_cap, top_level_commas
from hn_lightning.verifier.roots import EXACT, polynomial_roots, roots_inconsistent
from hn_lightning.verifier.term_slips import equation_terms, one_term_changed

__all__ = ["inequality_chain", "inequality_slips"]

_REL = re.compile(r"\\leq?(?![a-zA-Z])|\\geq?(?![a-zA-Z])|\\[lg]t(?![a-zA-Z])|<|>")
_JOIN = re.compile(r"(\\implies|\\Rightarrow|\\Longrightarrow|\\therefore|\\\\|\\quad|\\qquad|\\text\{[^{}]*\}|;|\\iff|\\Leftrightarrow)")
_DERIVED_JOIN = re.compile(r"\\implies|\\Rightarrow|\\Longrightarrow|\\therefore")
_DERIVE_WORDS = re.compile(
    r"\b(?:so|thus|hence|therefore|implies|gives?|giving|simplif\w*|becomes|reduces|rearrang\w*|equivalently|yields?|obtain|get)\b",
    re.I,
)


def inequality_chain(span: str) -> list[tuple[list[str] | None, bool]]:
    """The pieces of one math span in order: ``([left, right], derived)`` for an inequality with one
    relation and no ``=`` (``derived``: joined to the piece before it by ``\\implies`` and the like),
    ``(None, False)`` for any other piece (it breaks the sequence)."""
    body = next(g for g in MATH.match(span).groups() if g is not None)
    if re.search(r"matrix|array|cases", body):
        return []
    body = re.sub(r"\\(?:begin|end)\{[a-z*]+\}", " ", body).replace("&", " ")
    body = re.sub(r"(?<!\\)\\[,;!: ]|\\left|\\right|\\displaystyle", " ", body)
    out: list[tuple[list[str] | None, bool]] = []
    parts = _JOIN.split(body)
    for k in range(0, len(parts), 2):
        derived = k > 0 and bool(_DERIVED_JOIN.fullmatch(parts[k - 1].strip()))
        for j, piece in enumerate(top_level_commas(parts[k])):
            sides = _REL.split(piece)
            if "=" not in piece and len(sides) == 2 and all(s.strip() for s in sides):
                out.append(([s.strip().rstrip(".").strip() for s in sides], derived and j == 0))
            elif piece.strip():
                out.append((None, False))
    return out


def _boundary_slip(a, b, old: dict, link: bool) -> bool:
    """One unknown: same degree as the inequality before it, other boundary points (``old`` is
    updated to this one's)."""
    sym = next(iter(a.free_symbols | b.free_symbols))
    before = old.get(sym) if link else None
    old.clear()
    if (a == sym and not b.free_symbols) or (b == sym and not a.free_symbols):
        return False  # a bare bound
    roots = polynomial_roots(a - b, sym)
    if roots is None:
        return False
    old[sym] = roots
    return before is not None and len(before) == len(roots) and roots_inconsistent(roots, before, EXACT)


def inequality_slips(step_texts: list[str], parse: Callable, reset: re.Pattern, seconds: float) -> dict[int, str]:
    """Steps holding a derived inequality with another boundary or one term changed (module doc);
    ``parse`` reads a side (``None``: not read), ``reset`` matches words that start cases (the
    sequence is cleared), each piece runs under a time cap of ``seconds``."""
    out: dict[int, str] = {}
    one: dict = {}  # unknown -> boundary points of the last inequality
    many: dict = {}  # unknowns -> terms of the last inequality
    for i, text in enumerate(step_texts):
        pos = 0
        for m in MATH.finditer(text):
            between, pos = text[pos:m.start()], m.end()
            if reset.search(between):
                one.clear()
                many.clear()
            for k, (sides, derived) in enumerate(inequality_chain(m.group(0))):
                link = derived or (k == 0 and bool(_DERIVE_WORDS.search(between)))
                if sides is None or i in out:
                    one.clear()
                    many.clear()
                    continue
                try:
                    with time_cap(seconds):
                        a, b = parse(sides[0]), parse(sides[1])
                        syms = set() if a is None or b is None or isinstance(a, tuple) or isinstance(b, tuple) else a.free_symbols | b.free_symbols
                        if len(syms) == 1:
                            many.clear()
                            if _boundary_slip(a, b, one, link):
                                out[i] = f"{sides[0]} vs {sides[1]}: another boundary than the inequality before it"
                        elif 2 <= len(syms) <= 3:
                            one.clear()
                            got = equation_terms(a, b)
                            before = many.get(frozenset(syms)) if link else None
                            many.clear()
                            if got is not None:
                                many[got[0]] = got[1]
                                if before is not None and one_term_changed(before, got[1]):
                                    out[i] = f"{sides[0]} vs {sides[1]}: one term changed from the inequality before it"
                        else:
                            one.clear()
                            many.clear()
                except (Timeout, Exception):  # noqa: BLE001 - a check that fails or runs over is skipped
                    one.clear()
                    many.clear()
    return out
