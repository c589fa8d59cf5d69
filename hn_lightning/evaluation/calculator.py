r"""GSM8K's calculator during generation: when a row has just written ``<<expr=``, the calculator writes
the result and ``>>``.

Cobbe et al. (2021) trained on solutions with calculator annotations ``<<48/2=24>>`` and, at sampling time,
let a calculator fill in the result once the model wrote ``=`` inside ``<<...``. Here that is one
:class:`CalculatorProcessor`, a transformers logits processor that runs **before** every other processor.
At each step, for each row of the batch independently:

1. decode the row's last :attr:`~CalculatorProcessor.tail_tokens` tokens;
2. if the text has an open ``<<`` (no ``>>`` after it) followed by ``expr=`` and then ``w``, and ``expr`` is
   calculator arithmetic (numbers, ``+ - * /``, parentheses: :func:`hn_lightning.testbed.arith.calc_eval`,
   no ``eval``), the row must write ``result + ">>"``: if ``w`` is a prefix of it, every logit but that of
   the next token of the remaining text is set to ``-inf``;
3. otherwise (no open annotation, an unsafe or malformed expression, division by zero, or a ``w`` that is
   not a prefix of the result) the row's logits are left alone: the model writes what it writes.

The state is the text itself, so a row that is continued in a later batch (the HF engine's requeue) picks
up a half-written result where it stopped, and rows never influence each other.

**Log-probs of forced tokens.** The raw-log-prob capture of :mod:`~hn_lightning.evaluation.hf_batch` runs
after this processor, so a forced token is recorded with log-prob ``0.0``: its probability under the
sampler that produced it (the policy with its calculator), which is 1. The tokens the model chose keep
their raw policy log-probs. Mining's confidence (the final-answer span, written by the model) is
unchanged; its perplexity averages in the forced tokens at log-prob 0, so it measures how sure the policy
was of the tokens it chose, not how well it would have done the calculator's arithmetic.
"""

from __future__ import annotations

import torch

from hn_lightning.testbed.arith import CalcError, calc_result

__all__ = ["CalculatorProcessor", "forced_continuation"]

OPEN, CLOSE = "<<", ">>"


def forced_continuation(text: str) -> str | None:
    """The text the calculator must still write after ``text`` (``"0>>"`` after ``"... <<12*5=6"``), or
    ``None`` when ``text`` does not end inside an annotation it can complete."""
    start = text.rfind(OPEN)
    if start < 0:
        return None
    inside = text[start + len(OPEN):]
    if CLOSE in inside or "=" not in inside or "\n" in inside:
        return None
    expr, written = inside.split("=", 1)
    try:
        target = calc_result(expr) + CLOSE
    except CalcError:
        return None
    if not target.startswith(written) or written == target:
        return None
    return target[len(written):]


class CalculatorProcessor:
    """A logits processor that forces the calculator's text (see the module docstring)."""

    def __init__(self, tokenizer, tail_tokens: int = 64) -> None:
        self.tokenizer = tokenizer
        self.tail_tokens = tail_tokens
        """Tokens decoded per row and step: annotations longer than this are not completed."""
        self.forced_tokens = 0
        """Tokens forced so far (all rows, all calls)."""
        self._ids: dict[str, list[int]] = {}
        probe = "60>>"
        if tokenizer.decode(self._encode(probe)) != probe:
            raise ValueError(f"the calculator cannot write with this tokenizer: {probe!r} does not encode and decode "
                             "back to itself")

    def _encode(self, text: str) -> list[int]:
        if text not in self._ids:
            self._ids[text] = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return self._ids[text]

    def next_token(self, ids: list[int]) -> int | None:
        """The token the calculator writes next after ``ids`` (a row's tokens so far), or ``None``."""
        text = self.tokenizer.decode(ids[-self.tail_tokens:], skip_special_tokens=True)
        remaining = forced_continuation(text)
        return self._encode(remaining)[0] if remaining else None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        forced = [(r, self.next_token(row)) for r, row in enumerate(input_ids[:, -self.tail_tokens:].tolist())]
        forced = [(r, t) for r, t in forced if t is not None]
        if not forced:
            return scores
        scores = scores.clone()
        for r, token in forced:
            keep = scores[r, token]
            scores[r] = float("-inf")
            scores[r, token] = keep if torch.isfinite(keep) else 0.0
        self.forced_tokens += len(forced)
        return scores
