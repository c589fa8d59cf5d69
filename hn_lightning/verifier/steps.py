r"""Splitting a solution into reasoning steps, and a problem into its conditions.

The paper's verifier compares solutions step by step (arXiv 2512.19728, section 3.2: "steps"
are the units of the similarity matrices, the alignment and the NLI pairs). The rule used here:

1. **Math is never cut.** Display math (``$$..$$``, ``\[..\]``, ``\begin{..}..\end{..}``),
   ``\(..\)`` and, in LaTeX-style text, inline math ``$..$`` are protected: no split happens inside.
   A text is LaTeX-style when it contains a backslash command or ``$..$`` with ``^``/``_``/``{``;
   otherwise ``$`` is a currency sign (GSM8K: ``$12``) and is not a delimiter. In LaTeX-style text a
   ``$`` is still a currency sign when no ``$`` closes it on the same line, or when the text up to
   the next ``$`` starts with a digit and holds a word but no LaTeX (``$12 for 3 books, then $5``),
   or when it is escaped (``\$``): a GSM8K solution with dollar amounts and a ``\boxed{}`` answer
   splits into the steps a reader sees.
2. **Lines.** Every newline outside protected math ends a step.
3. **Sentences.** Within a line, a step ends after ``.``, ``!`` or ``?`` followed by whitespace and
   then an upper-case letter, a digit, ``$``, ``\`` or ``(``; not after a common abbreviation
   (``e.g.``, ``i.e.``, ``Mr.``, ``vs.`` ...) or a single letter. Decimals (``10.80``) have no space
   after the point, so they never split.
4. **Equations.** A chain ``a = b = c`` stays in one step (it is one claim); GSM8K calculator
   annotations ``<<a*b=c>>`` stay in :attr:`Step.text` (the symbolic checker reads them) and are
   removed from :attr:`Step.clean` (what is embedded and sent to NLI).
5. **Answer lines.** ``#### 72``, ``A: 72``, ``Answer: 72`` and ``Final answer: 72`` lines are
   rewritten in :attr:`Step.clean` as ``The answer is 72.``, so references and predictions that mark
   their answers differently still match.
6. **Clean-up.** List markers (``Step 3:``, ``1.``, ``-``, ``*``) are dropped from the clean text;
   steps without a letter or digit are dropped; a step shorter than ``min_chars`` is merged into the
   next one; after ``max_steps`` steps the rest is merged into the last step.

Problem **conditions** (for the step-vs-problem NLI) are the sentences of the question that state a
number (a digit or a number word) and are not questions (do not end with ``?``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hn_lightning.verifier.numbers import find_numbers, word_numbers
from hn_lightning.verifier.reading import is_latex_style, math_spans

__all__ = ["Step", "split_steps", "split_conditions", "strip_annotations", "is_latex_style", "paragraph_indices"]

_ANNOTATION = re.compile(r"<<[^<>]*>>")
_ANSWER_LINE = re.compile(r"^\s*(?:####|A:|Answer:|Final answer:|The final answer is:?)\s*(.+?)\s*$", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*(?:step\s*\d+\s*[:.)]|\d{1,2}[.)](?=\s)|[-*•]\s)\s*", re.IGNORECASE)
_ABBREV = {"e.g", "i.e", "mr", "mrs", "ms", "dr", "vs", "etc", "st", "no", "approx", "cf", "fig", "eq"}
_SENT_END = re.compile(r"[.!?](?=\s+[A-Z0-9$\\(])")


@dataclass(frozen=True)
class Step:
    """One reasoning step.

    ``text`` is the raw text (annotations kept), ``clean`` the text used for embeddings and NLI,
    ``start``/``end`` the character span in the original solution, ``index`` the 0-based position.
    """

    index: int
    text: str
    clean: str
    start: int
    end: int


def strip_annotations(text: str) -> str:
    """Remove GSM8K calculator annotations ``<<expr=result>>`` and collapse whitespace."""
    return re.sub(r"\s+", " ", _ANNOTATION.sub("", text)).strip()


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < pos < e for s, e in spans)


def _raw_segments(text: str) -> list[tuple[int, int]]:
    """Split points of rules 1-3, as (start, end) character spans."""
    spans = math_spans(text)
    cuts: set[int] = set()
    for i, ch in enumerate(text):
        if ch == "\n" and not _inside(i, spans):
            cuts.add(i + 1)
    for m in _SENT_END.finditer(text):
        pos = m.start()
        if _inside(pos, spans):
            continue
        word = re.search(r"([A-Za-z.]+)$", text[max(0, pos - 8):pos])
        if word and (word.group(1).lower().strip(".") in _ABBREV or len(word.group(1)) == 1):
            continue
        cuts.add(pos + 1)
    bounds = [0, *sorted(cuts), len(text)]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _clean(segment: str) -> str:
    answer = _ANSWER_LINE.match(segment)
    if answer:
        return f"The answer is {strip_annotations(answer.group(1)).rstrip('.')}."
    return strip_annotations(_LIST_MARKER.sub("", segment, count=1))


def split_steps(text: str, min_chars: int = 8, max_steps: int = 40) -> list[Step]:
    """Split a solution into :class:`Step` objects with the rule in the module doc."""
    pieces: list[list[int | str]] = []  # [start, end, clean]
    pending: list[int | str] | None = None
    for start, end in _raw_segments(text):
        clean = _clean(text[start:end])
        if not re.search(r"[A-Za-z0-9]", clean):
            continue
        if pending is not None:  # merge a too-short previous piece into this one
            start, clean = int(pending[0]), f"{pending[2]} {clean}"
            pending = None
        if len(clean) < min_chars:
            pending = [start, end, clean]
            continue
        pieces.append([start, end, clean])
    if pending is not None:
        if pieces:
            pieces[-1][1], pieces[-1][2] = pending[1], f"{pieces[-1][2]} {pending[2]}"
        else:
            pieces.append(pending)
    if len(pieces) > max_steps:
        tail = pieces[max_steps - 1:]
        pieces = pieces[: max_steps - 1] + [[tail[0][0], tail[-1][1], " ".join(str(p[2]) for p in tail)]]
    return [
        Step(index=i, text=text[int(s):int(e)].strip(), clean=str(c), start=int(s), end=int(e))
        for i, (s, e, c) in enumerate(pieces)
    ]


def split_conditions(question: str) -> list[str]:
    """The sentences of a problem that state a number and are not the question itself."""
    out = []
    for step in split_steps(question, min_chars=1, max_steps=64):
        sentence = step.clean
        if sentence.rstrip().endswith("?"):
            continue
        if find_numbers(sentence) or word_numbers(sentence):
            out.append(sentence)
    return out


def paragraph_indices(text: str, steps: list[Step]) -> list[int]:
    """Per step of ``text``: the index of its paragraph (blocks separated by a blank line)."""
    out, para = [], 0
    for i, st in enumerate(steps):
        gap = re.search(r"\s*$", text[steps[i - 1].start:st.start]).group() if i else ""  # whitespace before the step
        if "\n" in gap and re.search(r"\n[^\S\n]*\n", gap):
            para += 1
        out.append(para)
    return out
