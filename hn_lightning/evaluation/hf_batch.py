"""One Hugging Face ``generate`` call on a left-padded batch of rows (the engine's inner step).

Each row carries its own token budget. A row ends with ``"stop"`` (a stop token), ``"length"``
(its budget), or ``"requeue"``: when at most ``requeue_fraction`` of the batch is still running,
the whole call ends and the unfinished rows are handed back to be continued in a later batch
(prompt + partial completion re-encoded). On a CPU a decode step costs about as much per row as
the batch is wide, so a batch where one row loops to 2048 tokens would otherwise make every
finished row pay for those steps as padding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

__all__ = ["SegmentResult", "run_segment"]


class RawLogprobCapture:
    """A logits processor that must run first, so it sees the raw logits of every step.

    At step ``t`` it keeps ``log_softmax`` of the raw scores for one step; at step ``t + 1`` the token
    chosen at step ``t`` is the last column of ``input_ids`` and its log-prob is gathered then. The
    last step is gathered by :meth:`finish` from the final sequences. Memory: ``O(rows x vocab)``.
    """

    def __init__(self) -> None:
        self.previous: torch.Tensor | None = None
        self.columns: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.previous is not None:
            self.columns.append(self.previous.gather(1, input_ids[:, -1:]).squeeze(1))
        self.previous = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, last_tokens: torch.Tensor) -> torch.Tensor:
        """``[rows, steps]`` log-probs of the generated tokens (meaningless after a row ended)."""
        if self.previous is not None:
            self.columns.append(self.previous.gather(1, last_tokens[:, None]).squeeze(1))
            self.previous = None
        if not self.columns:
            return torch.zeros(last_tokens.shape[0], 0)
        return torch.stack(self.columns, dim=1)


class RowStopper:
    """A stopping criterion that records, per row, when and why it ended (stop / length / requeue)."""

    def __init__(self, budgets: list[int], stop_ids: list[int], requeue_fraction: float, device: torch.device):
        self.budgets = torch.tensor(budgets, device=device)
        self.stop_ids = torch.tensor(stop_ids, device=device)
        self.lengths = torch.full((len(budgets),), -1, dtype=torch.long, device=device)
        self.reasons = ["requeue"] * len(budgets)
        self.limit = int(len(budgets) * requeue_fraction)
        self.width: int | None = None
        self.requeued = False

    def __call__(self, input_ids: torch.Tensor, scores=None, **kwargs) -> torch.Tensor:
        if self.width is None:
            self.width = input_ids.shape[1] - 1  # called once a first token was appended
        steps = input_ids.shape[1] - self.width
        open_ = self.lengths < 0
        stopped = open_ & torch.isin(input_ids[:, -1], self.stop_ids)
        at_budget = open_ & ~stopped & (steps >= self.budgets)
        for rows, reason in ((stopped, "stop"), (at_budget, "length")):
            for r in rows.nonzero().flatten().tolist():
                self.reasons[r] = reason
        self.lengths[stopped | at_budget] = steps
        running = int((self.lengths < 0).sum())
        if 0 < running <= self.limit:  # few rows left: hand them back, stop the batch
            self.requeued = True
            self.lengths[self.lengths < 0] = steps
            return torch.ones_like(open_)
        return self.lengths >= 0


@dataclass
class SegmentResult:
    """What one row produced in one ``generate`` call."""

    new_ids: list[int]
    reason: str
    logprobs: list[float] | None
    seconds: float


def left_pad(rows: list[list[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` with every row right-aligned."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r):] = 1
    return ids.to(device), mask.to(device)


def hf_settings(max_new_tokens: int, sample: bool, stop_ids: list[int], pad_id: int) -> dict:
    """Explicit decoding settings, so nothing is inherited from the checkpoint's generation_config
    (temperature/top-p warping is done by our own processors, after the raw log-prob capture)."""
    settings = dict(
        max_new_tokens=max_new_tokens, do_sample=sample, temperature=1.0, top_p=1.0,
        repetition_penalty=1.0, num_beams=1, num_return_sequences=1, eos_token_id=stop_ids,
        pad_token_id=pad_id, use_cache=True, return_dict_in_generate=True,
    )
    if sample:
        settings["top_k"] = 0  # global default is 50; greedy ignores it (and warns if it is set)
    return settings


def warpers(temperature: float, top_p: float, capture: RawLogprobCapture | None, calculator=None):
    """Our logits processors: the calculator (it forces tokens), the capture, then temperature and top-p
    (sampling only)."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

    procs = LogitsProcessorList()
    if calculator is not None:
        procs.append(calculator)
    if capture is not None:
        procs.append(capture)
    if temperature > 0:
        if temperature != 1.0:
            procs.append(TemperatureLogitsWarper(temperature))
        if top_p < 1.0:
            procs.append(TopPLogitsWarper(top_p))
    return procs


def run_segment(model, rows: list[list[int]], budgets: list[int], *, stop_ids: list[int], pad_id: int,
                temperature: float, top_p: float, seed: int, return_logprobs: bool,
                requeue_fraction: float, calculator=None) -> list[SegmentResult]:
    """Generate for ``rows`` (token ids; each its own budget of new tokens) in one ``generate`` call.
    ``calculator``: a :class:`~hn_lightning.evaluation.calculator.CalculatorProcessor`, or ``None``."""
    from transformers import StoppingCriteriaList

    device = next(model.parameters()).device
    input_ids, attention_mask = left_pad(rows, pad_id, device)
    capture = RawLogprobCapture() if return_logprobs else None
    stopper = RowStopper(budgets, stop_ids, requeue_fraction if len(rows) > 1 else 0.0, device)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        out = model.generate(
            input_ids=input_ids, attention_mask=attention_mask,
            logits_processor=warpers(temperature, top_p, capture, calculator),
            stopping_criteria=StoppingCriteriaList([stopper]),
            **hf_settings(max(budgets), temperature > 0, stop_ids, pad_id),
        )
    new = out.sequences[:, input_ids.shape[1]:].cpu()
    logps = capture.finish(out.sequences[:, -1]).cpu() if capture is not None else None
    share = (time.perf_counter() - start) / len(rows)
    lengths = stopper.lengths.cpu().tolist()
    results = []
    for r in range(len(rows)):
        n = lengths[r] if lengths[r] >= 0 else new.shape[1]
        results.append(SegmentResult(
            new_ids=new[r, :n].tolist(),
            reason=stopper.reasons[r] if lengths[r] >= 0 else "length",
            logprobs=logps[r, :n].tolist() if logps is not None else None,
            seconds=share,
        ))
    return results
