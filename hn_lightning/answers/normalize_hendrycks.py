r"""hendrycks/math ``_strip_string``: the normaliser behind the original MATH metric ``is_equiv``.

Mirrors ``modeling/math_equivalence.py::_strip_string`` (shared/docs/eval-protocol.md, section 4).
It may raise (a second ``\text{ `` unit, a ``\frac`` or ``\sqrt`` at the very end); the original
lets that propagate to ``is_equiv``, which then compares the raw strings, and so does this copy.
"""

from __future__ import annotations

from hn_lightning.answers.latex_fixes import fix_a_slash_b, fix_fracs, fix_sqrt_hendrycks

__all__ = ["hendrycks_strip_string", "remove_right_units", "HendrycksNormalisationError"]


class HendrycksNormalisationError(ValueError):
    """Raised where the original asserts (more than one ``\\text{ `` unit marker)."""


def remove_right_units(string: str) -> str:
    r"""Keep only the text before ``\text{ `` (with its space), the original's unit marker.

    The original asserts that the marker occurs exactly once; a second one raises.
    """
    if "\\text{ " not in string:
        return string
    parts = string.split("\\text{ ")
    if len(parts) != 2:
        raise HendrycksNormalisationError(f"more than one '\\text{{ ' in {string!r}")
    return parts[0]


def hendrycks_strip_string(string: str) -> str:
    """Normalise an answer exactly as hendrycks' ``_strip_string`` does (may raise, see module doc)."""
    # 1. newlines, "\!", "\\" -> "\", tfrac/dfrac, \left/\right
    s = string.replace("\n", "")
    s = s.replace("\\!", "")
    s = s.replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")

    # 2. degrees, "\$"
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")

    # 3. units after "\text{ "
    s = remove_right_units(s)

    # 4. "\%" is removed (the original does it twice: "\\%" and the invalid escape "\%", which in
    #    Python is the same two characters); a bare "%" is kept, as in the original is_equiv
    s = s.replace("\\%", "")

    # 5. " ." -> " 0.", "{." -> "{0.", leading "0" before "."
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s

    # 6. "k = 5" -> " 5" when there is one "=" and the left side has at most 2 characters
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]

    # 7. \sqrt3 -> \sqrt{3} (one character only), then drop spaces
    s = fix_sqrt_hendrycks(s)
    s = s.replace(" ", "")

    # 8. \frac12 -> \frac{1}{2}; the exact string "0.5" -> \frac{1}{2}; integer a/b -> \frac{a}{b}
    s = fix_fracs(s, strict_empty=True)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return fix_a_slash_b(s, allow_sqrt=False)
