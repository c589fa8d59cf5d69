"""A deterministic stand-in for the policy: hand-built candidates of known kinds (tests, dry runs).

:class:`SyntheticSampler` implements the :class:`~hn_lightning.mining.samplers.Sampler` protocol
without a model. For each problem it returns the first ``num_samples`` of :data:`KINDS`, built from
the problem's reference solution:

=================  =====================================================================  ==========
kind               text                                                                   expected
=================  =====================================================================  ==========
``correct``        the reference solution                                                 chosen
``near_miss``      the reference with one computed result changed and carried to the      hard negative
                   final answer (:func:`hn_lightning.data.synthetic_pairs.corrupt`)
``rephrased``      "Let's think step by step." + the reference                            chosen
``off_track``      unrelated sentences and a wrong boxed answer                           removed
``loop``           one sentence repeated 25 times                                         degenerate
``truncated``      the first half of the reference, ``finish_reason = "length"``          degenerate
``unsure_miss``    like ``near_miss`` but the policy gave it low probability              not confident
``no_answer``      a sentence without any number                                          degenerate
=================  =====================================================================  ==========

Token log-probs are synthetic: every token (a whitespace-led word piece) gets ``log 0.95``
(``unsure_miss``: ``log 0.2``), so the verifier's confidence is high (low) on the answer span.
"""

from __future__ import annotations

import math
import random
import re

from hn_lightning.data.synthetic_pairs import corrupt
from hn_lightning.evaluation.generate import Generation
from hn_lightning.mining.ids import derive_seed
from hn_lightning.mining.problems import Problem

__all__ = ["KINDS", "SyntheticSampler", "synthetic_completion", "word_pieces"]

KINDS = ("correct", "near_miss", "rephrased", "off_track", "loop", "truncated", "unsure_miss", "no_answer")

_OFF_TRACK = ("The weather was pleasant and the birds were singing in the park.\n"
              "Many people enjoy reading books about history on the weekend.\n"
              "The final answer is $\\boxed{7}$.")


def word_pieces(text: str) -> list[str]:
    """Whitespace-led pieces that join back to ``text``."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)):]
    if rest:
        pieces = [*pieces[:-1], pieces[-1] + rest] if pieces else [rest]
    return pieces


def synthetic_completion(problem: Problem, kind: str, seed: int) -> tuple[str, str, float]:
    """``(text, finish_reason, token probability)`` of one synthetic candidate."""
    ref = problem.reference
    if kind in ("correct",):
        return ref, "stop", 0.95
    if kind == "rephrased":
        return "Let's think step by step.\n" + ref, "stop", 0.95
    if kind in ("near_miss", "unsure_miss"):
        bad = corrupt(ref, random.Random(derive_seed(seed, kind, problem.id)))
        text = bad[0] if bad is not None else ref.replace("boxed{", "boxed{1")
        return text, "stop", 0.95 if kind == "near_miss" else 0.2
    if kind == "off_track":
        return _OFF_TRACK, "stop", 0.95
    if kind == "loop":
        return " ".join(["We need to add the numbers again to be sure."] * 25) + " The answer is $\\boxed{3}$.", "stop", 0.95
    if kind == "truncated":
        return ref[: max(1, len(ref) // 2)], "length", 0.95
    if kind == "no_answer":
        return "I am not sure how to solve this problem.", "stop", 0.95
    raise ValueError(f"unknown synthetic kind {kind!r}; kinds: {KINDS}")


class SyntheticSampler:
    """Returns the first ``num_samples`` :data:`KINDS` for each problem (found by its question text)."""

    name = "synthetic"

    def __init__(self, problems: list[Problem], num_samples: int, kinds: tuple[str, ...] = KINDS):
        if num_samples > len(kinds):
            raise ValueError(f"at most {len(kinds)} synthetic samples per problem")
        self.problems = problems
        self.kinds = kinds[:num_samples]
        self.calls = 0

    def _problem(self, prompt: str) -> Problem:
        for p in self.problems:
            if p.question in prompt:
                return p
        raise KeyError("prompt matches no known problem")

    def sample(self, prompts: list[str], seeds: list[int]) -> list[list[Generation]]:
        self.calls += 1
        out = []
        for prompt, seed in zip(prompts, seeds):
            problem = self._problem(prompt)
            gens = []
            for kind in self.kinds:
                text, reason, prob = synthetic_completion(problem, kind, seed)
                pieces = word_pieces(text)
                gens.append(Generation(text=text, token_ids=list(range(len(pieces))), finish_reason=reason,
                                       num_tokens=len(pieces), seconds=0.0,
                                       token_logprobs=[math.log(prob)] * len(pieces), tokens=pieces))
            out.append(gens)
        return out
