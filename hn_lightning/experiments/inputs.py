"""What decides a stage's result, by content, and what happens when it changed since the stage ran.

Every stage of an experiment (a cell, ``sft``, ``baseline``, ``mining``) records the fingerprints of its
inputs next to its settings digest, in *groups* that say what a change invalidates (a cell's ``train``
group: its run settings, the starting policy, every pair file it trains or validates on; ``kl``; one
``eval``/``eval_<name>`` group per evaluation: the task file and its settings). A later run compares
today's record with the recorded one (:func:`reconcile`): equal, the stage is reused; different, it is
refused with one line naming the stage and what changed, or (``on_change: rerun``) the invalidated groups
are deleted (:func:`discard`) and rerun. A stage made by a version that recorded no inputs is
"unrecorded": kept with ``accept_unrecorded: true`` (today's record is written into it), else it counts
as changed.

Hashing is cheap: :class:`Inputs` hashes each distinct file once per run (sha256, streamed), a local
model folder by :func:`~hn_lightning.modules.ref_cache.weights_digest` (memoised on disk by size and
mtime, so a 14 GB model is read once) plus its small config and tokenizer files; a registered model name
or a Hub id is its own fingerprint (a registered name pins its weights' sha256; pin a Hub model with
``org/name@revision``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.io.atomic import atomic_write_json

__all__ = ["Inputs", "digest", "reconcile", "discard"]

#: small files of a model folder that decide its behaviour besides the weights (config, tokenizer, template)
_MODEL_FILES = (".json", ".txt", ".model", ".jinja", ".tiktoken")


def digest(value: Any) -> str:
    """A short stable digest of a JSON-able value."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Inputs:
    """Content fingerprints of the files one run reads; each distinct file (by real path) is hashed once."""

    def __init__(self) -> None:
        self._files: dict[Path, str] = {}
        self._policies: dict[str, str] = {}

    def file(self, path: str | os.PathLike) -> str:
        """The sha256 (16 hex digits) of a file's content."""
        from hn_lightning.models.gguf import sha256_file

        real = Path(os.path.realpath(path))
        if real not in self._files:
            self._files[real] = sha256_file(real)[:16]
        return self._files[real]

    def files(self, label: str, specs: Iterable[str | os.PathLike]) -> dict[str, str]:
        """``{"<label> <file>": content digest}`` of every file ``specs`` (files, folders, globs, data names)
        expand to; a data name that is one file (``gsm8k:train``) keeps its name, so a record does not
        depend on where the cache is."""
        from hn_lightning.catalog import expand_paths, resolve_spec

        out = {}
        for spec in specs:
            paths = expand_paths([spec])
            named = len(paths) == 1 and resolve_spec(spec) != Path(str(spec)).expanduser()
            for path in paths:
                out[f"{label} {spec if named else path}"] = self.file(path)
        return out

    def policy(self, name_or_path: str) -> str:
        """A model's fingerprint: a local folder by content (weights, config, tokenizer), a ``.gguf`` file
        by content, a registered name or Hub id by its name. :class:`UserError` for anything else."""
        text = str(name_or_path)
        if text not in self._policies:
            self._policies[text] = self._policy(text)
        return self._policies[text]

    def _policy(self, text: str) -> str:
        from hn_lightning.models.hub import parse_hub_id
        from hn_lightning.models.registry import lookup
        from hn_lightning.models.source import known_names
        from hn_lightning.modules.ref_cache import weights_digest

        path = Path(text).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise UserError(f"policy {text}: a folder without config.json (not a Hugging Face model folder)")
            parts = {p.name: self.file(p) for p in sorted(path.iterdir()) if p.is_file() and p.suffix in _MODEL_FILES}
            try:
                parts["weights"] = weights_digest(path)
            except FileNotFoundError as exc:
                raise UserError(f"policy {text}: {exc}") from None
            return f"folder:{digest(parts)}"
        if path.is_file():
            return f"file:{self.file(path)}"
        if lookup(text) is not None or text.lower() in known_names() or parse_hub_id(text) is not None:
            return f"name:{text}"
        raise UserError(f"policy {text}: no such model folder or file, registered name ({', '.join(known_names())}) "
                        "or Hugging Face Hub id org/name[@revision]")

    def eval_task(self, spec) -> dict[str, str]:
        """The eval group of an :class:`~hn_lightning.experiments.config.EvalSpec`: its task file's content
        and its settings (limit, generation cap, batch size)."""
        from hn_lightning.evaluation.tasks import task_source

        return {f"eval task {spec.task}": self.file(task_source(spec.task)), "settings": digest(spec.settings())}


def _describe(group: str, recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs within one group, one phrase per key."""
    out = []
    for key in sorted(recorded.keys() | current.keys(), key=lambda k: (k != "settings", k)):
        old, new = recorded.get(key), current.get(key)
        if old == new:
            continue
        if key == "settings":
            out.append({"train": "its run settings (run config, mining or split)"}.get(group, f"its {group} settings")
                       + " changed")
        elif key == "policy":
            out.append(f"the starting policy changed ({old} -> {new})")
        elif old is None:
            out.append(f"{key} was added")
        elif new is None:
            out.append(f"{key} is gone")
        else:
            out.append(f"{key} changed (content {str(old)[-8:]} -> {str(new)[-8:]})")
    return out


def _judge(what: str, marker: Path, verb: str, recorded: dict | None, current: Callable[[], dict[str, dict]],
           settings_changed: bool, cfg) -> set[str]:
    """The groups of a stage that today's inputs invalidate (``{"*"}``: all of it); raises the one-line
    :class:`UserError` under ``on_change: refuse``."""
    stale: set[str] = set()
    if recorded is not None:
        now = current()
        stale = {g for g in recorded.keys() | now.keys() if recorded.get(g) != now.get(g)}
        changes = [c for g in sorted(stale) for c in _describe(g, recorded.get(g) or {}, now.get(g) or {})]
        if changes:
            more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
            why, ways = f"{changes[0]}{more} since it was {verb}", "restore it, or set on_change: rerun to rerun what it invalidates"
    if not stale:
        if settings_changed:  # the settings digest covers what no group names
            why, ways = f"{marker} was {verb} with other settings", "delete its folder or set on_change: rerun to rerun it"
        elif recorded is not None or cfg.accept_unrecorded:
            return set()
        else:
            why = (f"{marker} was {verb} by an older version that recorded none of its inputs (pair files, policy, "
                   "eval set), so they may have changed since")
            ways = "set accept_unrecorded: true to keep it as it is, or on_change: rerun to rerun it"
        stale = {"*"}
    if cfg.on_change == "rerun":
        print(f"experiment: {what}: {why}: rerunning it", flush=True)
        return stale
    raise UserError(f"{what}: {why}; {ways}")


def reconcile(what: str, finished: Path, started: Path, settings: str | None, current: Callable[[], dict[str, dict]],
              cfg, in_progress: bool = False) -> set[str]:
    """Judge a stage by its ``finished`` marker, else its ``started`` one (each ``{"settings": digest,
    "inputs": record}``; ``in_progress``: outputs exist without either marker, as an older version left
    an interrupted stage): the set of stale groups (empty: reuse it). ``settings``: today's settings
    digest (a different one is a change even without an input record; ``None``: not compared);
    ``current``: today's input record, computed only when it is compared or recorded (a stage refused for
    its settings needs none). An unrecorded stage kept under ``accept_unrecorded`` gets today's record."""
    for marker, verb in ((finished, "made"), (started, "started")):
        if marker.is_file():
            done = json.loads(marker.read_text(encoding="utf-8"))
            changed = settings is not None and done.get("settings") != settings
            stale = _judge(what, marker, verb, done.get("inputs"), current, changed, cfg)
            if not stale and done.get("inputs") is None:
                atomic_write_json(marker, {**done, "inputs": current()})
            return stale
    if in_progress:
        return _judge(what, started.parent, "started", None, current, False, cfg)
    return set()


def discard(path: Path) -> None:
    """Delete a stage's output (a folder or a file) as one step: a folder is renamed aside, then removed
    (an aside left by an interrupted delete goes with the next one)."""
    aside = path.with_name(f".{path.name}.discarded")
    _remove(aside)
    if path.is_dir() and not path.is_symlink():
        os.replace(path, aside)
        _remove(aside)
    else:
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
