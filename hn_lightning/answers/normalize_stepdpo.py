r"""Step-DPO's ``strip_string``: the normaliser applied to every extracted answer and gold.

Mirrors ``evaluation/data_processing/answer_extraction.py::strip_string`` of dvlab-research/Step-DPO
(shared/docs/eval-protocol.md, section 2), rule for rule and in the same order, quirks included:

* quotes are *not* removed (the original computes ``string.replace("'", "")`` and drops the result);
* ``\%`` becomes ``%`` (the percent sign is kept; the numeric check reads it as /100);
* units: everything from the first ``\text{`` to a final ``}`` is cut, unless that leaves nothing;
* ``j`` becomes ``i`` when the string has a ``j`` and no ``i`` (complex numbers);
* ``inf`` becomes ``\infty`` when ``\infty`` is absent, so ``\inf`` would too.
"""

from __future__ import annotations

import re

from hn_lightning.answers.latex_fixes import fix_a_slash_b, fix_fracs, fix_sqrt_stepdpo, fix_tan

__all__ = ["stepdpo_strip_string"]

_TRAILING_TEXT = re.compile(r"\\text{.*?}$")
_LENGTH_UNITS = re.compile(r"\{(c|m)?m\}(\^(2|3))?")
_PM = re.compile(r"p\.m\.$")
_DIGIT_T = re.compile(r"(\d)\s*t$")
_MBOX = re.compile(r"\\mbox{.*?}")
_ZERO_DECIMALS_INNER = re.compile(r"(\d+)\.0+([^\d])")
_ZERO_DECIMALS_END = re.compile(r"(\d+)\.0+$")
_TRAILING_PUNCT = re.compile(r"(\\|,|\.)+$")


def stepdpo_strip_string(string: object) -> str:
    """Normalise one answer string exactly as Step-DPO's ``strip_string`` does (see module doc)."""
    # 1. whitespace, newlines, a trailing ".", "\!"
    s = str(string).strip()
    s = s.replace("\n", "")
    s = s.rstrip(".")
    s = s.replace("\\!", "")

    # 2. a whole-string \text{...} is unwrapped
    if s.startswith("\\text{") and s.endswith("}"):
        s = s.split("{", 1)[1][:-1]

    # 3. fraction spellings, \left / \right
    s = s.replace("tfrac", "frac").replace("dfrac", "frac").replace("cfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")

    # 4. units: cut from the first \text{ to a closing brace at the very end, unless nothing is left
    cut = _TRAILING_TEXT.sub("", s).strip()
    if cut != "" and cut != s:
        s = cut

    # 5. degrees, {cm}/{mm}/{m} (optionally squared/cubed), trailing p.m., "<digit> t" at the end
    s = s.replace("^{\\circ}", "").strip()
    s = s.replace("^\\circ", "").strip()
    s = _LENGTH_UNITS.sub("", s).strip()
    s = _PM.sub("", s).strip()
    s = _DIGIT_T.sub(r"\1", s).strip()

    # 6. dollars, "x\in", \% -> % (the percent sign stays)
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("x\\in", "")
    s = s.replace("\\%", "%")

    # 7. " ." -> " 0.", "{." -> "{0.", drop \cdot
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    s = s.replace("\\cdot", "")

    # 8. infinity, \mathbf, \mathrm, \mbox{...}
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("+\\inity", "\\infty")  # kept from the original; it never matches after the line above
    s = s.replace("\\mathbf", "").replace("\\mathrm", "")
    s = _MBOX.sub("", s)

    # 9. j -> i for complex numbers written with j
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")

    # 10. zero decimals (12.000x -> 12x, 12.00 -> 12), then a leading "0" before "."
    s = _ZERO_DECIMALS_INNER.sub(r"\1\2", s)
    s = _ZERO_DECIMALS_END.sub(r"\1", s)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s

    # 11. \sqrtX -> \sqrt{X}, \tanX -> \tan{X}, then drop every space
    s = fix_sqrt_stepdpo(s)
    s = fix_tan(s)
    s = s.replace(" ", "")

    # 12. \frac12 -> \frac{1}{2}; integer a/b -> \frac{a}{b} (sqrt sides allowed)
    s = fix_fracs(s)
    s = fix_a_slash_b(s, allow_sqrt=True)

    # 13. trailing runs of "\", "," and "."
    return _TRAILING_PUNCT.sub("", s)
