r"""Finding ``\boxed{...}`` answers by brace matching.

Two conventions exist and both are kept:

* hendrycks/math (``last_boxed_only_string`` + ``remove_boxed``): only the *last* ``\boxed``
  (or, if there is none, the last ``\fbox``) counts; the content is returned only when the box is
  written exactly ``\boxed{...}``.
* Step-DPO (``extract_boxed_answers``): *every* ``boxed{`` occurrence counts; unclosed boxes are
  dropped; ``\fbox`` is not recognised.
"""

from __future__ import annotations

__all__ = ["last_boxed_only_string", "remove_boxed", "last_boxed", "stepdpo_boxed_answers"]


def last_boxed_only_string(text: str) -> str | None:
    r"""hendrycks ``last_boxed_only_string``: the last ``\boxed...`` (else ``\fbox...``) span.

    The span runs from the command to the brace that brings the brace depth back to zero, and
    includes the command itself (``\boxed{5}``). ``None`` when there is no box or it never closes.
    Note that ``\boxed 5`` followed later by some ``{x}`` returns ``\boxed 5 ... {x}``, as the
    original does; :func:`remove_boxed` then rejects it.
    """
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for pos in range(start, len(text)):
        char = text[pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : pos + 1]
    return None


def remove_boxed(span: str | None) -> str | None:
    r"""hendrycks ``remove_boxed``: the content of ``\boxed{...}``, or ``None``.

    Only the exact prefix ``\boxed{`` and a final ``}`` are accepted, so ``\fbox{5}`` and
    ``\boxed 5`` give ``None`` (the original asserts and returns ``None`` on failure).
    """
    prefix = "\\boxed{"
    if span is None or not span.startswith(prefix) or not span.endswith("}"):
        return None
    return span[len(prefix) : -1]


def last_boxed(text: str) -> str | None:
    r"""The content of the last ``\boxed{...}`` (or, when the text has no ``\boxed``, the last
    ``\fbox{...}``), found by brace matching; ``None`` if absent, unclosed or brace-less.

    This is the general-purpose helper. It is more lenient than hendrycks' ``remove_boxed`` in one
    way only: an ``\fbox{...}`` fallback returns its content. Use :func:`hendrycks_extract` for the
    strict original.
    """
    span = last_boxed_only_string(text)
    if span is None:
        return None
    for prefix in ("\\boxed{", "\\fbox{"):
        if span.startswith(prefix) and span.endswith("}"):
            return span[len(prefix) : -1]
    return None


def stepdpo_boxed_answers(text: str) -> list[str]:
    r"""Step-DPO ``extract_boxed_answers``: the content of every ``boxed{`` in order.

    The text is split on the literal ``boxed{`` (so ``\boxed{``, ``\\boxed{`` and ``boxed{`` all
    count; ``\fbox{`` does not). In each piece a depth counter finds the brace that closes the box.
    A box that never closes is dropped. When the closing brace is followed by ``%`` the original
    keeps ``piece[: i + 1]``, i.e. the *closing brace*, not the percent sign: ``\boxed{50}%`` gives
    ``"50}"``. This is what the code does (shared/docs/eval-protocol.md describes it as keeping the
    ``%``); we mirror the code for parity.
    """
    answers: list[str] = []
    for piece in text.split("boxed{")[1:]:
        depth = 0
        for pos, char in enumerate(piece):
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth < 0:
                    if pos + 1 < len(piece) and piece[pos + 1] == "%":
                        answers.append(piece[: pos + 1])
                    else:
                        answers.append(piece[:pos])
                    break
    return answers
