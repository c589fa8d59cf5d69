r"""A Hugging Face process reward model (PRM) as a step judge, by Hub id or local path.

Two conventions (``convention: auto`` reads the checkpoint's ``config.architectures``):

* ``qwen_prm`` (Qwen2.5-Math-PRM, ``Qwen2ForProcessRewardModel``; also any ``*ForTokenClassification``
  with two labels): the chat prompt (system, the problem as the user turn, the steps joined and ended by
  the separator token ``<extra_0>`` as the assistant turn); a two-class head on every token, read at each
  separator: ``P(wrong) = softmax(logits)[0]``;
* ``value_head`` (Skywork-o1-Open-PRM, ``Qwen2ForPrmModel``): ``bos + problem + "\n"``, then every step
  followed by the step token ``"\n"``; a one-output value head read at each step token:
  ``P(wrong) = 1 - sigmoid(value)``.

Both PRMs are a Qwen2 decoder plus a small head (``score.0``/``score.2``: ``Linear(h, h)``, ReLU,
``Linear(h, 2)``; ``v_head.summary``: ``Linear(h, 1)``). The decoder loads through transformers from the
checkpoint's safetensors and the head from its tensors, so a checkpoint that ships its own modeling code
(``auto_map``) runs **without** that code; ``trust_remote_code: true`` runs the shipped code instead (its
first output is taken as the per-token scores). Models resolve like the policy's
(:func:`hn_lightning.models.resolve_model_dir`: Hub ids from the huggingface_hub cache, local folders).

Batched (right padding), bf16 on a GPU (``dtype: auto``), the reference solution in the problem text with
``with_reference: true`` (the published PRMs were trained without one). A prompt longer than
``max_length`` tokens is cut at its end: steps past the cut get 0 (not judged wrong).
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from hn_lightning.verifier.judges import JudgeInput, StepJudge

__all__ = ["HFProcessRewardJudge"]

QWEN_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
"""The system turn of Qwen2.5-Math-PRM's prompt."""
_HEAD_PREFIX = {"qwen_prm": "score.", "value_head": "v_head.summary."}


def _head_tensors(model_dir: Path, prefix: str) -> dict[str, Any]:
    """The tensors named ``prefix*`` of a checkpoint's safetensors (one file or an index of shards)."""
    from safetensors.torch import load_file

    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        files = sorted({f for k, f in json.loads(index.read_text())["weight_map"].items() if k.startswith(prefix)})
    else:
        files = ["model.safetensors"]
    out = {}
    for name in files:
        out.update({k[len(prefix):]: v for k, v in load_file(str(model_dir / name)).items() if k.startswith(prefix)})
    return out


class _DropLoadReport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in record.getMessage()


@contextmanager
def _no_load_report():
    """transformers reports the head's tensors as unexpected when it loads the decoder alone: they are loaded
    here, and the keys are checked from ``output_loading_info`` instead."""
    log = logging.getLogger("transformers.modeling_utils")
    drop = _DropLoadReport()
    log.addFilter(drop)
    try:
        yield
    finally:
        log.removeFilter(drop)


def _convention(config) -> str:
    archs = " ".join(getattr(config, "architectures", None) or [])
    if "ProcessRewardModel" in archs or ("TokenClassification" in archs and getattr(config, "num_labels", 0) == 2):
        return "qwen_prm"
    if "PrmModel" in archs:
        return "value_head"
    raise ValueError(f"cannot tell the PRM convention of architectures {archs!r}: set convention: qwen_prm or value_head")


class HFProcessRewardJudge(StepJudge):
    """A PRM checkpoint as a step judge (see the module doc)."""

    def __init__(self, model: str, convention: Literal["auto", "qwen_prm", "value_head"] = "auto", threshold: float = 0.5,
                 device: str = "auto", dtype: str = "auto", batch_size: int = 8, max_length: int = 4096,
                 with_reference: bool = False, separator: str = "<extra_0>", step_token: str = "\n",
                 system_prompt: str = QWEN_SYSTEM, trust_remote_code: bool = False):
        import torch

        from hn_lightning.models import load_tokenizer, resolve_dtype, resolve_model_dir

        self.model_dir = Path(resolve_model_dir(model, trust_remote_code))
        self.name, self.threshold, self.batch_size, self.max_length = model, float(threshold), batch_size, max_length
        self.with_reference, self.separator, self.step_token, self.system_prompt = with_reference, separator, step_token, system_prompt
        self.device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
        self.dtype = resolve_dtype(dtype if dtype != "auto" or self.device.type == "cuda" else "float32")
        self.tokenizer = load_tokenizer(self.model_dir, trust_remote_code)
        self._build(convention, trust_remote_code)

    def _build(self, convention: str, trust_remote_code: bool) -> None:
        import torch
        from transformers import AutoConfig, AutoModel, AutoModelForTokenClassification

        config = AutoConfig.from_pretrained(self.model_dir, trust_remote_code=trust_remote_code)
        self.convention = _convention(config) if convention == "auto" else convention
        archs = " ".join(getattr(config, "architectures", None) or [])
        self.head = None
        if trust_remote_code:
            self.model = AutoModel.from_pretrained(self.model_dir, dtype=self.dtype, trust_remote_code=True)
        elif "TokenClassification" in archs:
            self.model = AutoModelForTokenClassification.from_pretrained(self.model_dir, dtype=self.dtype)
        else:  # the decoder from the checkpoint, the head from its tensors: no shipped code runs
            with _no_load_report():
                self.model, info = AutoModel.from_pretrained(self.model_dir, dtype=self.dtype, trust_remote_code=False,
                                                             output_loading_info=True)
            prefix = _HEAD_PREFIX[self.convention]
            unexpected = [k for k in info.get("unexpected_keys", []) if not k.startswith((prefix, "lm_head."))]
            if info.get("missing_keys") or unexpected:
                raise ValueError(f"{self.name}: not a {self.convention} PRM checkpoint (decoder weights missing "
                                 f"{sorted(info.get('missing_keys', []))[:5]}, unexpected {unexpected[:5]})")
            tensors = _head_tensors(self.model_dir, prefix)
            if self.convention == "qwen_prm":
                h, out = tensors["0.weight"].shape[1], tensors["2.weight"].shape[0]
                self.head = torch.nn.Sequential(torch.nn.Linear(h, h), torch.nn.ReLU(), torch.nn.Linear(h, out))
            else:
                self.head = torch.nn.Linear(tensors["weight"].shape[1], 1)
            self.head.load_state_dict(tensors)
            self.head.to(self.device, self.dtype).eval()
        self.model.to(self.device).eval()
        if self.convention == "qwen_prm":
            ids = self.tokenizer.encode(self.separator, add_special_tokens=False)
            if len(ids) != 1:
                raise ValueError(f"{self.name}: the step separator {self.separator!r} is not one token of its tokenizer")
            self.mark_id = ids[0]
        else:
            self.mark_id = self.tokenizer.encode(self.step_token, add_special_tokens=False)[-1]

    # ---- prompts ------------------------------------------------------------------------------------
    def _problem(self, item: JudgeInput) -> str:
        if self.with_reference and item.reference:
            return f"{item.question}\n\nReference solution:\n{item.reference}"
        return item.question

    def encode(self, item: JudgeInput) -> tuple[list[int], list[int]]:
        """The token ids of ``item``'s prompt and the position of each step's marker token (where its score
        is read)."""
        steps = [s.strip() for s in item.steps]
        if self.convention == "qwen_prm":
            messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": self._problem(item)},
                        {"role": "assistant", "content": self.separator.join(steps) + self.separator}]
            if getattr(self.tokenizer, "chat_template", None):
                text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
            else:
                text = "\n".join(m["content"] for m in messages)
            ids = self.tokenizer.encode(text, add_special_tokens=False)
            return ids, [k for k, t in enumerate(ids) if t == self.mark_id][-len(steps):] if steps else []
        bos = self.tokenizer.bos_token or ""
        ids = self.tokenizer.encode(bos + self._problem(item) + "\n", add_special_tokens=False)
        marks = []
        for step in steps:
            ids += self.tokenizer.encode(step.replace("\n", " "), add_special_tokens=False) + [self.mark_id]
            marks.append(len(ids) - 1)
        return ids, marks

    # ---- scoring ------------------------------------------------------------------------------------
    def _token_scores(self, batch: list[list[int]]):
        """P(wrong) at every token of each (right-padded) row."""
        import torch

        width = max(len(ids) for ids in batch)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch], device=self.device)
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch], device=self.device)
        with torch.inference_mode():
            out = self.model(input_ids=input_ids, attention_mask=mask)
            if self.head is not None:
                logits = self.head(out.last_hidden_state)
            else:
                logits = out.logits if hasattr(out, "logits") else out[0]
            logits = logits.float()
            if logits.shape[-1] == 2:
                return torch.softmax(logits, dim=-1)[..., 0]
            return 1.0 - torch.sigmoid(logits[..., 0])

    def score(self, items: list[JudgeInput]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            encoded = [self.encode(it) for it in chunk]
            probs = self._token_scores([ids[: self.max_length] for ids, _ in encoded])
            for row, (it, (_, marks)) in enumerate(zip(chunk, encoded, strict=True)):
                scores = [float(probs[row, k]) if k < self.max_length else 0.0 for k in marks]
                out.append(scores + [0.0] * (len(it.steps) - len(scores)))
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": self.name, "convention": self.convention, "device": str(self.device),
                "dtype": str(self.dtype).removeprefix("torch."), "with_reference": self.with_reference}
