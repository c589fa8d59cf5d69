"""The preference-pair record: one schema, written by ``mining/`` and read by the DPO DataModule.

A pair is one JSON object per line:

    {"id": "gsm8k-train-17#s3-vs-ref",          # unique string (required)
     "prompt": "Natalia sold clips ...",          # the user question (str) or chat messages (list)
     "chosen": "...", "rejected": "...",          # assistant completions (str)
     "w_raw": 1.73,                               # raw verifier weight >= 0 (required for normalized weighting)
     "weight": 1.2,                               # optional final weight (weighting: precomputed)
     "scores": {...}, "meta": {...}}              # optional: verifier scores, provenance (passed through)

Tokenization: the prompt is rendered with the chat template (plus the system prompt when ``prompt`` is
a string) and each completion is closed the way the template closes an assistant turn. Truncation
keeps the whole prompt and cuts completions from the end to fit ``max_length``; a pair whose prompt
leaves no room for at least ``min_completion_tokens`` is *overlong*: reported by id and skipped (or an
error, if asked).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from hn_lightning.data.chat import encode, render_completion, render_prompt

REQUIRED = ("id", "prompt", "chosen", "rejected")


def validate_pair(record: dict[str, Any], need_w_raw: bool = False, need_weight: bool = False) -> str | None:
    """An error message if ``record`` is not a valid pair, else None."""
    for key in REQUIRED:
        if key not in record:
            return f"missing required field '{key}' (found {sorted(record)})"
    if isinstance(record["id"], bool) or not isinstance(record["id"], (str, int)):
        return f"'id' must be a string, got {type(record['id']).__name__}"
    prompt = record["prompt"]
    if isinstance(prompt, str):
        if not prompt.strip():
            return "'prompt' is empty"
    elif isinstance(prompt, list):
        if not prompt:
            return "'prompt' is an empty list (expected a string or a non-empty list of {role, content} messages)"
        for i, m in enumerate(prompt):
            if not (isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)):
                return f"'prompt'[{i}] must be an object with string 'role' and 'content', got {m!r:.80}"
        if prompt[-1]["role"] != "user":
            return f"the last prompt message must have role 'user', got {prompt[-1]['role']!r}"
    else:
        return f"'prompt' must be a string or a list of {{role, content}} messages, got {type(prompt).__name__}"
    for key in ("chosen", "rejected"):
        if not isinstance(record[key], str):
            return f"'{key}' must be a string, got {type(record[key]).__name__}"
        if not record[key].strip():
            return f"'{key}' is empty (an empty target is a bad record, for SFT and DPO alike)"
    if record["chosen"] == record["rejected"]:
        return "'chosen' and 'rejected' are identical (the pair carries no preference)"
    for key, needed in (("w_raw", need_w_raw), ("weight", need_weight)):
        if key not in record:
            if needed:
                return f"missing '{key}' (needed by the configured weighting)"
            continue
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            return f"'{key}' must be a finite number >= 0, got {value!r}"
    return None


@dataclass(frozen=True)
class TokenizedPair:
    """Token ids of one pair (completions already truncated)."""

    id: str
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]
    w_raw: float | None = None
    weight: float | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    truncated: bool = False

    def key(self, side: str) -> str:
        """Content hash of prompt + one completion (the reference log-prob cache key)."""
        ids = self.prompt_ids + [-1] + (self.chosen_ids if side == "chosen" else self.rejected_ids)
        return hashlib.blake2b(",".join(map(str, ids)).encode(), digest_size=16).hexdigest()


class OverlongPrompt(ValueError):
    """The prompt leaves no room for a completion within ``max_length``."""


def tokenize_pair(
    record: dict[str, Any],
    tokenizer,
    max_length: int,
    system_prompt: str | None,
    min_completion_tokens: int = 1,
) -> TokenizedPair:
    """Render and tokenize a validated pair record (see the module doc for truncation rules)."""
    prompt = record["prompt"]
    if isinstance(prompt, str):
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [{"role": "user", "content": prompt}]
    else:
        messages = list(prompt)
        if system_prompt and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": system_prompt}, *messages]
    prompt_ids = encode(tokenizer, render_prompt(tokenizer, messages))
    room = max_length - len(prompt_ids)
    if room < min_completion_tokens:
        raise OverlongPrompt(f"pair {record['id']}: prompt has {len(prompt_ids)} tokens, max_length {max_length} leaves {room}")
    chosen = encode(tokenizer, render_completion(tokenizer, messages, record["chosen"]))
    rejected = encode(tokenizer, render_completion(tokenizer, messages, record["rejected"]))
    truncated = len(chosen) > room or len(rejected) > room
    meta = {k: record[k] for k in ("scores", "meta") if k in record}
    return TokenizedPair(
        id=str(record["id"]),
        prompt_ids=prompt_ids,
        chosen_ids=chosen[:room],
        rejected_ids=rejected[:room],
        w_raw=float(record["w_raw"]) if "w_raw" in record else None,
        weight=float(record["weight"]) if "weight" in record else None,
        meta=meta,
        truncated=truncated,
    )
