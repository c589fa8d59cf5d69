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

__all__ = ["Step", "split_steps", "split_conditions", "strip_annotations", "is_latex_style", "paragraph_indices"]

_ANNOTATION = re.compile(r"<<[^<>]*>>")
_LATEX_HINT = re.compile(r"\\[a-zA-Z]+|\$[^$\n]*[\\^_{}][^$\n]*\$")
_ANSWER_LINE = re.compile(r"^\s*(?:####|A:|Answer:|Final answer:|The final answer is:?)\s*(.+?)\s*$", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*(?:step\s*\d+\s*[:.)]|\d{1,2}[.)](?=\s)|[-*•]\s)\s*", re.IGNORECASE)
_ABBREV = {"e.g", "i.e", "mr", "mrs", "ms", "dr", "vs", "etc", "st", "no", "approx", "cf", "fig", "eq"}
_BLOCK_OPEN = re.compile(r"\$\$|\\\[|\\begin\{([a-zA-Z*]+)\}")
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


def is_latex_style(text: str) -> bool:
    """True when ``$`` delimits math in ``text`` (see rule 1 of the module doc)."""
    return bool(_LATEX_HINT.search(text))


def _inline_dollar_end(text: str, start: int) -> int | None:
    """End of the inline math opened by the ``$`` at ``start``, or ``None`` when that ``$`` is a
    currency sign: no closing ``$`` on the same line, or the text up to it starts with a digit,
    holds a word and no LaTeX (``$12 for 3 books, then $``)."""
    close = start + 1
    n = len(text)
    while close < n and text[close] != "\n" and (text[close] != "$" or text[close - 1] == "\\"):
        close += 1
    if close >= n or text[close] != "$":
        return None
    content = text[start + 1:close]
    if not re.search(r"[\\^_{}]", content) and re.match(r"\s*[\d.,]", content) and re.search(r"[A-Za-z]{3,}", content):
        return None
    return close + 1


def _protected_spans(text: str, latex: bool) -> list[tuple[int, int]]:
    """Character spans that must not be split (display math, ``\\(..\\)``, and inline ``$..$``
    math in LaTeX text; a currency ``$`` is never a delimiter, see :func:`_inline_dollar_end`)."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    skip: set[int] = set()
    while i < n:
        m = _BLOCK_OPEN.search(text, i)
        inline = -1
        if latex:
            j = i
            while True:
                inline = text.find("$", j)
                if inline < 0 or (inline not in skip and (inline == 0 or text[inline - 1] != "\\")):
                    break
                j = inline + 1
        inline_paren = text.find("\\(", i)
        candidates = [c for c in (m.start() if m else -1, inline, inline_paren) if c >= 0]
        if not candidates:
            break
        start = min(candidates)
        if m and m.start() == start:
            token = m.group(0)
            if token == "$$":
                close, width = text.find("$$", m.end()), 2
            elif token == "\\[":
                close, width = text.find("\\]", m.end()), 2
            else:
                end_tok = f"\\end{{{m.group(1)}}}"
                close, width = text.find(end_tok, m.end()), len(end_tok)
            end = n if close < 0 else close + width
        elif start == inline_paren:
            close = text.find("\\)", start + 2)
            end = n if close < 0 else close + 2
        else:
            end = _inline_dollar_end(text, start)
            if end is None:  # a currency sign: look for math after it
                skip.add(start)
                i = start + 1 if start + 1 > i else i
                continue
        spans.append((start, end))
        i = max(end, start + 1)
    return spans


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < pos < e for s, e in spans)


def _raw_segments(text: str) -> list[tuple[int, int]]:
    """Split points of rules 1-3, as (start, end) character spans."""
    spans = _protected_spans(text, is_latex_style(text))
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
