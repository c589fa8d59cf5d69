"""The prompt a candidate is sampled from, kept identical to what the DPO DataModule renders.

* user turn: ``question + "\\n" + instruction`` (just the question when the instruction is empty);
  this string is the pair's ``prompt`` field;
* rendered prompt: ``render_prompt(tokenizer, [system?, user])``
  (:func:`hn_lightning.data.chat.render_prompt`: the chat template with the generation prompt), the
  same function :func:`hn_lightning.data.pairs.tokenize_pair` uses with the DataModule's
  ``system_prompt``. With the defaults (the paper's system prompt on both sides) the DPO policy is
  trained on exactly the context the completions were sampled in.
"""

from __future__ import annotations

from hn_lightning.data.chat import render_prompt
from hn_lightning.mining.config import PromptConfig

__all__ = ["user_turn", "messages_for", "rendered_prompt"]


def user_turn(question: str, cfg: PromptConfig) -> str:
    """The user message (and the pair's ``prompt``)."""
    return f"{question}\n{cfg.instruction}" if cfg.instruction else question


def messages_for(user_text: str, cfg: PromptConfig) -> list[dict[str, str]]:
    """System (if any) + user messages, as ``tokenize_pair`` builds them for a string prompt."""
    system = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
    return [*system, {"role": "user", "content": user_text}]


def rendered_prompt(tokenizer, user_text: str, cfg: PromptConfig) -> str:
    """The text the policy continues (chat template, generation prompt added)."""
    return render_prompt(tokenizer, messages_for(user_text, cfg))
