r"""The original MATH metric of hendrycks/math: last-box extraction and ``is_equiv``.

* Extraction (``eval_math_gpt.py``): ``remove_boxed(last_boxed_only_string(text))`` -- the content
  of the last ``\boxed{...}`` only; ``\boxed 5`` and an ``\fbox{}``-only answer give ``None``.
* ``is_equiv(a, b)`` (``math_equivalence.py``): True if both are ``None``, False if one is;
  otherwise ``_strip_string(a) == _strip_string(b)``, and if normalising raises, raw equality.
  Pure string matching: no sympy, no numeric tolerance.
"""

from __future__ import annotations

from hn_lightning.answers.boxed import last_boxed_only_string, remove_boxed
from hn_lightning.answers.normalize_hendrycks import hendrycks_strip_string

__all__ = ["hendrycks_extract", "is_equiv", "hendrycks_normalise_or_raw"]


def hendrycks_extract(text: str) -> str | None:
    r"""The hendrycks model answer: content of the last ``\boxed{...}``, or ``None``."""
    return remove_boxed(last_boxed_only_string(text))


def hendrycks_normalise_or_raw(text: str) -> str:
    """``hendrycks_strip_string(text)``, or ``text`` itself when normalising raises."""
    try:
        return hendrycks_strip_string(text)
    except Exception:
        return text


def is_equiv(a: str | None, b: str | None) -> bool:
    """hendrycks ``is_equiv`` (see the module doc)."""
    if a is None and b is None:
        return True
    if a is None or b is None:
        return False
    try:
        return hendrycks_strip_string(a) == hendrycks_strip_string(b)
    except Exception:
        return a == b
