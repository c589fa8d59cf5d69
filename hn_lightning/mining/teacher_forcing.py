"""Teacher-forced token log-probs of given completions under the policy (for ingested pools).

The verifier's ``confidence`` and ``ppl`` need ``log p(token_t | prompt, tokens_<t)`` of every
completion token under the policy. Sampled candidates get them during generation; an offline pool
gets them here, in one forward pass per batch:

* ids = ``encode(rendered prompt) + encode(completion)``, tokenized separately exactly as
  :func:`hn_lightning.data.pairs.tokenize_pair` does (no closing template tokens: the log-probs are of
  the completion text only), cut to ``max_length`` (the completion loses its end);
* :func:`hn_lightning.models.forward.forward_hidden` on the right-padded batch, the hidden states of
  the completion targets picked by :func:`hn_lightning.losses.logprobs.gather_targets`, and
  :func:`hn_lightning.losses.logprobs.chunked_token_logprobs` through the LM head in fp32 (no
  ``[B, T, V]`` logits tensor);
* ``tokens`` are the text pieces of the completion ids
  (:func:`hn_lightning.evaluation.tokens.token_pieces`), so ``"".join(tokens)`` is the (possibly
  cut) completion and the verifier can find the answer span.

These are the unwarped (temperature 1) log-probs, the same quantity generation records.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hn_lightning.data.chat import encode
from hn_lightning.evaluation.tokens import token_pieces
from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets
from hn_lightning.models.forward import forward_hidden, output_head

__all__ = ["ForcedLogprobs", "teacher_forced_logprobs"]


@dataclass
class ForcedLogprobs:
    """Per-token log-probs and token texts of one completion (``truncated``: cut to fit ``max_length``)."""

    token_logprobs: list[float]
    tokens: list[str]
    truncated: bool


@torch.inference_mode()
def teacher_forced_logprobs(model, tokenizer, prompts: list[str], completions: list[str],
                            batch_size: int = 8, max_length: int = 4096) -> list[ForcedLogprobs]:
    """Log-probs of each ``completions[i]`` after the rendered ``prompts[i]`` (see the module doc)."""
    if len(prompts) != len(completions):
        raise ValueError("prompts and completions must have the same length")
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    head = output_head(model)
    was_training = model.training
    model.eval()
    rows: list[tuple[list[int], list[int], bool]] = []
    for prompt, completion in zip(prompts, completions):
        p_ids, c_ids = encode(tokenizer, prompt), encode(tokenizer, completion)
        room = max(0, max_length - len(p_ids))
        rows.append((p_ids, c_ids[:room], len(c_ids) > room))
    out: list[ForcedLogprobs] = []
    try:
        for start in range(0, len(rows), batch_size):
            batch = rows[start: start + batch_size]
            width = max(len(p) + len(c) for p, c, _ in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            attn = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.bool)
            for r, (p, c, _) in enumerate(batch):
                n = len(p) + len(c)
                ids[r, :n] = torch.tensor(p + c, dtype=torch.long)
                attn[r, :n] = 1
                mask[r, len(p): n] = True
            mask[:, 0] = False  # the first token has no predecessor (a prompt is never empty)
            hidden = forward_hidden(model, ids.to(device), attention_mask=attn.to(device))
            h, targets, row_of = gather_targets(hidden, ids.to(device), mask.to(device))
            logps = chunked_token_logprobs(h, head, targets).cpu()
            row_of = row_of.cpu()
            for r, (_p, c, cut) in enumerate(batch):
                values = logps[row_of == r].tolist()
                text = tokenizer.decode(c, skip_special_tokens=True)
                pieces = token_pieces(tokenizer, c, text) if c else []
                out.append(ForcedLogprobs([min(0.0, v) for v in values], pieces, cut))
    finally:
        model.train(was_training)
    return out
