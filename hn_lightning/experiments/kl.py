"""A sampled estimate of KL(policy || reference) for one trained cell of ``cli.py experiment``.

Completions are sampled from the trained policy (temperature 1, no top-p: the policy's own distribution,
seeded) for a few held-out prompts; with ``y ~ pi``, ``KL(pi || ref) = E_y[log pi(y|x) - log ref(y|x)]``,
estimated per token as the mean over the sampled tokens of ``log pi(y_t|x, y_<t) - log ref(y_t|x, y_<t)``
(:func:`sampled_kl_per_token`). Small and seeded, so cells are compared on the same prompts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from hn_lightning.experiments.config import ExperimentConfig
from hn_lightning.experiments.layout import CellDir
from hn_lightning.io.atomic import atomic_write_json

__all__ = ["sampled_kl_per_token", "estimate_kl", "heldout_prompts", "cell_kl"]


def sampled_kl_per_token(policy_logps: torch.Tensor, ref_logps: torch.Tensor, mask: torch.Tensor) -> tuple[float, int]:
    """``(mean over masked tokens of policy_logps - ref_logps, number of tokens)``.

    Args:
        policy_logps: ``(B, T)`` log-probs of the sampled tokens under the policy that sampled them.
        ref_logps: ``(B, T)`` log-probs of the same tokens under the reference.
        mask: ``(B, T)`` 1 for sampled tokens, 0 for padding.
    """
    m = mask.to(torch.float64)
    n = int(m.sum().item())
    if n == 0:
        return float("nan"), 0
    diff = (policy_logps.to(torch.float64) - ref_logps.to(torch.float64)) * m
    return float(diff.sum().item() / n), n


def heldout_prompts(val_files: list[str], n: int) -> list[str]:
    """The first ``n`` distinct ``prompt`` fields (user turns) of the held-out pair files."""
    from hn_lightning.catalog import expand_paths
    from hn_lightning.io.jsonl import iter_jsonl

    out: list[str] = []
    for path in expand_paths(val_files):
        for _, rec in iter_jsonl(path):
            if rec["prompt"] not in out:
                out.append(rec["prompt"])
            if len(out) >= n:
                return out
    return out


def _token_logps(model, ids: torch.Tensor, start: int) -> torch.Tensor:
    """``(1, T - start)`` log-probs of ``ids[:, start:]`` under ``model`` (teacher forcing)."""
    with torch.no_grad():
        logits = model(ids).logits[:, start - 1:-1].float()
    return torch.log_softmax(logits, -1).gather(-1, ids[:, start:, None]).squeeze(-1)


def estimate_kl(policy_dir: Path, reference: str, prompts: list[str], max_new_tokens: int, seed: int,
                dtype: str = "float32") -> dict[str, Any]:
    """Sample one completion per prompt from the policy at ``policy_dir`` and compare with ``reference``."""
    from hn_lightning.mining.config import PromptConfig
    from hn_lightning.mining.prompts import rendered_prompt
    from hn_lightning.models import ModelConfig, load_for_inference, load_tokenizer, resolve_model_dir

    tok = load_tokenizer(policy_dir)
    policy, _ = load_for_inference(ModelConfig(name_or_path=str(policy_dir), dtype=dtype), policy_dir, tokenizer=tok)
    ref_dir = resolve_model_dir(reference, False)
    ref, _ = load_for_inference(ModelConfig(name_or_path=reference, dtype=dtype), ref_dir, tokenizer=tok)
    device = next(policy.parameters()).device
    total, tokens = 0.0, 0
    for i, prompt in enumerate(prompts):
        text = rendered_prompt(tok, prompt, PromptConfig())
        ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]], device=device)
        torch.manual_seed(seed + i)
        with torch.no_grad():
            out = policy.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=1.0, top_p=1.0,
                                  top_k=0, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id or tok.eos_token_id)
        if out.shape[1] == ids.shape[1]:
            continue
        start = ids.shape[1]
        kl, n = sampled_kl_per_token(_token_logps(policy, out, start), _token_logps(ref, out, start),
                                     torch.ones(1, out.shape[1] - start))
        total += kl * n
        tokens += n
    return {"kl": total / tokens if tokens else None, "tokens": tokens, "prompts": len(prompts), "seed": seed,
            "max_new_tokens": max_new_tokens}


def cell_kl(cfg: ExperimentConfig, cell: CellDir, reference: str, val_files: list[str]) -> dict[str, Any]:
    """The cell's sampled KL estimate (``kl.json``, computed once)."""
    if not cell.kl.is_file():
        spec = cfg.kl
        prompts = heldout_prompts(val_files, spec.prompts)
        kl = estimate_kl(cell.model, reference, prompts, spec.max_new_tokens, spec.seed,
                         dtype=str(cfg.model.get("dtype", "auto")))
        atomic_write_json(cell.kl, kl)
    return json.loads(cell.kl.read_text())
