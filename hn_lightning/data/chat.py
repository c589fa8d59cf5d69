"""Render chat messages to token ids with the model's chat template, keeping track of where the
prompt ends (for completion-only masks and preference pairs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rendered:
    """A tokenized conversation: ``input_ids`` and how many leading ids belong to the prompt."""

    input_ids: list[int]
    prompt_len: int


def _has_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_prompt(tokenizer, messages: list[dict[str, str]]) -> str:
    """The prompt text for ``messages`` (all but the assistant answer), ending where the answer starts."""
    if _has_template(tokenizer):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    parts = [f"{m['role'].capitalize()}: {m['content']}\n" for m in messages]
    return "".join(parts) + "Assistant: "


def render_completion(tokenizer, messages: list[dict[str, str]], completion: str) -> str:
    """The completion text as the template closes it (for ChatML: ``answer<|im_end|>\\n``)."""
    prompt = render_prompt(tokenizer, messages)
    if _has_template(tokenizer):
        full = tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": completion}], tokenize=False
        )
        if full.startswith(prompt):
            return full[len(prompt):]
    return completion + (tokenizer.eos_token or "")


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of ``text`` with no special tokens added (the template already holds them)."""
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def render_conversation(tokenizer, messages: list[dict[str, str]]) -> Rendered:
    """Tokenize a conversation whose last message is the assistant's target.

    The prompt and the completion are tokenized separately and concatenated, so the boundary is exact
    (BPE merges never cross it) and identical to how preference pairs are built.
    """
    if messages[-1]["role"] != "assistant":
        raise ValueError("the last message must be the assistant's")
    prompt_ids = encode(tokenizer, render_prompt(tokenizer, messages[:-1]))
    completion_ids = encode(tokenizer, render_completion(tokenizer, messages[:-1], messages[-1]["content"]))
    return Rendered(prompt_ids + completion_ids, len(prompt_ids))
