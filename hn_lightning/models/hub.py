"""Hugging Face Hub model ids (``org/name`` or ``org/name@revision``) resolved to a local snapshot.

Resolution goes through :func:`huggingface_hub.snapshot_download`, so it honours ``HF_HOME`` /
``HF_HUB_CACHE`` (where the cache is), ``HF_HUB_OFFLINE`` (no network: the cache only) and the cache's
``refs/<branch>`` files (``org/name`` is ``refs/main``; ``@<40-hex commit>`` is that snapshot directly).
With ``HF_HUB_OFFLINE=1`` nothing is downloaded and a snapshot must already be in the cache.

Only what loading needs is downloaded: configs, tokenizer files and ``*.safetensors`` weights (never
pickled ``*.bin`` weights, and model code ``*.py`` only with ``trust_remote_code``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*)(?:@(?P<revision>[A-Za-z0-9_./-]+))?$")
"""``org/name`` with an optional ``@revision`` (a branch, tag or commit hash)."""

ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja", "tokenizer*"]
"""Files a transformers causal LM and its tokenizer load from (safe formats only)."""


@dataclass(frozen=True)
class HubId:
    """A parsed Hub model id."""

    repo_id: str
    """``org/name``."""
    revision: str | None = None
    """Branch, tag or commit hash; ``None`` means ``main``."""

    def __str__(self) -> str:
        return self.repo_id + (f"@{self.revision}" if self.revision else "")


class HubModelUnavailable(FileNotFoundError):
    """A Hub id whose snapshot is neither in the local cache nor downloadable; ``reason`` says why."""

    def __init__(self, hub_id: HubId, reason: str):
        super().__init__(f"{hub_id}: {reason}")
        self.hub_id, self.reason = hub_id, reason


def parse_hub_id(text: str) -> HubId | None:
    """``HubId`` for ``org/name[@revision]``, ``None`` for anything else (paths with more than one
    ``/``, ``.gguf`` files, names without an organisation)."""
    match = HUB_ID.match(str(text).strip())
    if match is None or match["repo"].endswith(".gguf"):
        return None
    return HubId(match["repo"], match["revision"])


def hub_offline() -> bool:
    """Whether huggingface_hub runs offline (``HF_HUB_OFFLINE``, read when it was imported)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def hub_cache() -> str:
    """The folder huggingface_hub caches models in (``HF_HUB_CACHE``, default ``$HF_HOME/hub``)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def hub_snapshot(hub_id: HubId, trust_remote_code: bool = False) -> Path:
    """The local snapshot folder of ``hub_id`` (downloading it only when online).

    Raises :class:`HubModelUnavailable` (with the reason: not in the cache while offline, repository or
    revision not found, no network) instead of huggingface_hub's many error types.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
    )

    patterns = ALLOW_PATTERNS + (["*.py"] if trust_remote_code else [])
    try:
        folder = Path(snapshot_download(hub_id.repo_id, revision=hub_id.revision, allow_patterns=patterns))
    except IncompleteSnapshotError as exc:
        raise HubModelUnavailable(hub_id, str(exc)) from exc
    except LocalEntryNotFoundError as exc:
        where = f"revision '{hub_id.revision or 'main'}' is not in the local cache {hub_cache()}"
        first = str(exc).splitlines()[0].removeprefix("Got: ") if str(exc) else type(exc).__name__
        why = "HF_HUB_OFFLINE is set, so nothing is downloaded" if hub_offline() else f"and the Hub could not be reached ({first})"
        raise HubModelUnavailable(hub_id, f"{where}, {why}") from exc
    except (HfHubHTTPError, HFValidationError) as exc:
        raise HubModelUnavailable(hub_id, f"the Hub refused it: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    if not (folder / "config.json").is_file():
        raise HubModelUnavailable(hub_id, f"its snapshot {folder} has no config.json: not a transformers model")
    return folder
