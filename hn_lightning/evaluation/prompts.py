r"""Prompt builders. ``qwen2-boxed`` is Step-DPO's evaluation prompt, byte for byte
(shared/docs/eval-protocol.md): ChatML with the default Qwen system prompt, built as a plain string
(no tokenizer chat template)::

    <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n
    <|im_start|>user\n{question}\nPlease reason step by step, and put your final answer within \boxed{}.<|im_end|>\n
    <|im_start|>assistant\n

* ``qwen2-boxed``: the protocol prompt (use it for numbers comparable with Step-DPO's tables);
* ``sft-system``: the same string with the paper's SFT system prompt (:data:`hn_lightning.SYSTEM_PROMPT`),
  for policies fine-tuned with it;
* ``chat-template``: the tokenizer's own chat template (system message only if ``system`` is given),
  user turn = question + the boxed instruction, generation prompt added.
"""

from __future__ import annotations

from typing import Literal, get_args

from hn_lightning import SYSTEM_PROMPT

__all__ = ["PromptStyle", "PROMPT_STYLES", "DEFAULT_SYSTEM", "BOXED_INSTRUCTION", "qwen2_boxed", "build_prompt"]

PromptStyle = Literal["qwen2-boxed", "sft-system", "chat-template"]
PROMPT_STYLES: tuple[str, ...] = get_args(PromptStyle)

DEFAULT_SYSTEM = "You are a helpful assistant."
"""The system prompt of ``qwen2-boxed`` (Qwen2's default)."""

BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
"""Appended to every question, on its own line."""


def qwen2_boxed(question: str, system: str = DEFAULT_SYSTEM) -> str:
    """Step-DPO's ``qwen2-boxed`` prompt for ``question``."""
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n"
        f"<|im_start|>user\n{question}\n{BOXED_INSTRUCTION}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def build_prompt(style: PromptStyle, question: str, tokenizer=None, system: str | None = None) -> str:
    """The prompt string for ``question`` in ``style`` (``tokenizer`` needed for ``chat-template``).

    ``system`` overrides the style's system prompt (``qwen2-boxed``: "You are a helpful assistant.";
    ``sft-system``: :data:`hn_lightning.SYSTEM_PROMPT`; ``chat-template``: none).
    """
    if style == "qwen2-boxed":
        return qwen2_boxed(question, DEFAULT_SYSTEM if system is None else system)
    if style == "sft-system":
        return qwen2_boxed(question, SYSTEM_PROMPT if system is None else system)
    if style == "chat-template":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError("prompt 'chat-template' needs a tokenizer with a chat template")
        messages = ([{"role": "system", "content": system}] if system is not None else [])
        messages.append({"role": "user", "content": f"{question}\n{BOXED_INSTRUCTION}"})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    raise ValueError(f"unknown prompt style {style!r}; expected one of {', '.join(PROMPT_STYLES)}")
