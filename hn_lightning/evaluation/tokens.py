"""Token helpers for generation: stop ids, and per-token text pieces that join back to the completion."""

from __future__ import annotations

__all__ = ["stop_token_ids", "token_pieces"]


def _as_list(value) -> list[int]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return [int(value)]


def stop_token_ids(tokenizer, model=None, extra: list[int] | None = None) -> list[int]:
    """The tokenizer's eos, the model's ``generation_config.eos_token_id`` (int or list) and ``extra``,
    deduplicated in that order. Raises if there is none (generation would never stop)."""
    ids = _as_list(tokenizer.eos_token_id)
    gen_cfg = getattr(model, "generation_config", None) if model is not None else None
    ids += _as_list(getattr(gen_cfg, "eos_token_id", None))
    ids += _as_list(extra)
    out = list(dict.fromkeys(ids))
    if not out:
        raise ValueError("no stop token: the tokenizer has no eos token and none was given")
    return out


def token_pieces(tokenizer, ids: list[int], text: str | None = None) -> list[str]:
    """The text each token adds to the decoded completion, so that ``"".join(pieces) == text``.

    Incremental detokenisation (as vLLM and TGI do it): a token that ends in the middle of a
    multi-byte character contributes ``""`` and the character is given to the token that completes
    it. Special tokens contribute ``""`` (they are skipped in ``text``). Costs one short decode per
    token.
    """
    if text is None:
        text = tokenizer.decode(ids, skip_special_tokens=True)
    pieces: list[str] = []
    prefix_offset = read_offset = 0
    emitted = ""
    for i in range(len(ids)):
        prefix_text = tokenizer.decode(ids[prefix_offset:read_offset], skip_special_tokens=True)
        new_text = tokenizer.decode(ids[prefix_offset: i + 1], skip_special_tokens=True)
        if len(new_text) > len(prefix_text) and not new_text.endswith("\ufffd") and new_text.startswith(prefix_text):
            piece = new_text[len(prefix_text):]
            prefix_offset, read_offset = read_offset, i + 1
        else:
            piece = ""
        if not text.startswith(emitted + piece):  # a tokenizer whose pieces do not concatenate: stop guessing
            piece = ""
        pieces.append(piece)
        emitted += piece
    if emitted != text and pieces:  # leftover (e.g. a trailing incomplete character): give it to the last token
        if text.startswith(emitted):
            pieces[-1] += text[len(emitted):]
        else:  # pragma: no cover - defensive
            pieces = [tokenizer.decode([t], skip_special_tokens=True) for t in ids]
    return pieces
