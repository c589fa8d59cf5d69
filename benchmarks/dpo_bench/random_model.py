"""A random-init Qwen2 directory of a given shape, for throughput runs that need no weights.

    python benchmarks/dpo_bench/random_model.py --shape qwen2.5-1.5b --out /tmp/qwen15b_random

The tokenizer is the real Qwen2 tokenizer when its package is installed (see
:func:`hn_lightning.models.tiny.qwen2_tokenizer_dir`); otherwise a byte-level BPE is trained in a few
seconds on synthetic math text, with Qwen's ChatML special tokens and chat template. Throughput depends on
the model shape and the token counts, not on which tokenizer produced them (the synthetic pairs are sized
in tokens of the tokenizer in use), and the vocabulary size of the model is always Qwen's 151,936.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

SHAPES = {
    # Qwen2.5-1.5B / Qwen2.5-Coder-1.5B (config.json of the released models)
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, max_position_embeddings=32768),
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, max_position_embeddings=32768),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=4096),
}
CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def trained_bpe_tokenizer(vocab_size: int = 8192, seed: int = 0):
    """A byte-level BPE trained on synthetic math sentences, with ChatML specials and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from dpo_bench.synthetic import _question_sentence, _step_sentence

    rng = random.Random(seed)
    text = [_question_sentence(rng) for _ in range(3000)] + [_step_sentence(rng) for _ in range(3000)]
    text += ["You are a helpful assistant. Solve the problem step by step. The final answer is $\\boxed{42}$."]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None)
    fast.chat_template = CHATML
    return fast


def random_model_dir(shape: str, out: Path, seed: int = 0, dtype: str = "bfloat16") -> Path:
    """Write a random-init Qwen2 of ``shape`` (weights in ``dtype``) and a tokenizer to ``out``; reuse it
    when ``out`` already holds the same shape."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    marker = out / "random_model.json"
    spec = {"shape": shape, "seed": seed, "dtype": dtype}
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        return out
    try:
        from hn_lightning.models.tiny import qwen2_tokenizer_dir

        tokenizer, source = AutoTokenizer.from_pretrained(str(qwen2_tokenizer_dir())), "the Qwen2 tokenizer"
    except Exception as err:  # the GGUF part with the tokenizer is not installed: train a small BPE
        tokenizer, source = trained_bpe_tokenizer(seed=seed), f"a trained byte-level BPE ({type(err).__name__}: no Qwen2 tokenizer)"
    config = Qwen2Config(vocab_size=151_936, tie_word_embeddings=True, rms_norm_eps=1e-6, rope_theta=1_000_000.0,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **SHAPES[shape])
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(getattr(torch, dtype))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    marker.write_text(json.dumps(spec))
    params = sum(p.numel() for p in model.parameters())
    print(f"random-init {shape} ({params / 1e9:.2f}B parameters, {dtype}) with {source} -> {out}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=list(SHAPES), default="qwen2.5-1.5b")
    parser.add_argument("--out", required=True)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force_bpe", action="store_true", help="use the trained BPE even if the Qwen2 tokenizer is installed")
    args = parser.parse_args()
    if args.force_bpe:
        import hn_lightning.models.tiny as tiny

        tiny.qwen2_tokenizer_dir = lambda: (_ for _ in ()).throw(RuntimeError("--force_bpe"))
    random_model_dir(args.shape, Path(args.out), args.seed, args.dtype)


if __name__ == "__main__":
    main()
