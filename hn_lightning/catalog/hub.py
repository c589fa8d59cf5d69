"""Hugging Face datasets as data files: ``hf:<org>/<name>[:<config>]:<split>`` and local ``datasets`` folders.

Both go through the ``datasets`` library, an optional extra (``pip install 'hn_lightning[hf]'``), and
are exported once to a JSONL file in the cache, so every reader of the project (SFT, mining, eval,
verify) takes them like any other file; the field names are then mapped where the data are used
(``data.init_args.fields`` for SFT, ``problems.custom[].*_field`` for mining, ``--question_field``... for
eval and verify).

* ``hf:openai/gsm8k:main:train`` is ``datasets.load_dataset("openai/gsm8k", "main", split="train")``;
  without a config, ``hf:org/name:train``. The library honours ``HF_HOME``, ``HF_DATASETS_CACHE`` and
  ``HF_HUB_OFFLINE=1`` (then only what is already in the cache loads).
* A folder written by ``Dataset.save_to_disk`` is named by its path; one written by
  ``DatasetDict.save_to_disk`` by ``<folder>:<split>`` (or ``<folder>/<split>``).

Export: ``<cache>/datasets/{hf/<org>--<name>/<config>,local}/<fingerprint>/<split>.jsonl``, keyed by the
dataset's fingerprint, so a changed dataset is exported again and an unchanged one never twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hn_lightning.io.atomic import atomic_writer
from hn_lightning.paths import cache_dir

__all__ = ["HF_PREFIX", "HubSpec", "is_datasets_dir", "materialize_datasets_dir", "materialize_hub", "parse_hf_spec"]

HF_PREFIX = "hf:"
HF_FORM = "hf:<org>/<name>[:<config>]:<split>, e.g. hf:openai/gsm8k:main:train"


@dataclass(frozen=True)
class HubSpec:
    """A Hub dataset split."""

    repo: str
    config: str | None
    split: str


def parse_hf_spec(text: str) -> HubSpec:
    """``hf:org/name[:config]:split`` -> :class:`HubSpec`; anything else is a :class:`ValueError`."""
    parts = text[len(HF_PREFIX):].split(":") if text.startswith(HF_PREFIX) else []
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"{text!r} is not a Hub dataset name; the form is {HF_FORM}")
    return HubSpec(parts[0], parts[1] if len(parts) == 3 else None, parts[-1])


def is_datasets_dir(path: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return path.is_dir() and ((path / "state.json").is_file() or (path / "dataset_dict.json").is_file())


def _library():
    try:
        import datasets
    except ImportError:
        raise ImportError("Hub and local `datasets` data need the datasets library: pip install 'hn_lightning[hf]' "
                          "(or pip install datasets)") from None
    return datasets


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


def _export(dataset: Any, target: Path) -> Path:
    """Write ``dataset``'s rows to ``target`` as JSONL (atomically) unless it is already there."""
    if not target.is_file():
        with atomic_writer(target) as handle:
            for row in dataset:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return target


def _cache(*parts: str) -> Path:
    return cache_dir("datasets", *parts)


def materialize_hub(spec: HubSpec, cache: Path | None = None) -> Path:
    """A JSONL export of a Hub dataset split (loaded through the ``datasets`` cache)."""
    datasets = _library()
    try:
        dataset = datasets.load_dataset(spec.repo, spec.config, split=spec.split)
    except Exception as exc:  # the library raises many types (ConnectionError, FileNotFoundError, ValueError...)
        raise FileNotFoundError(
            f"Hub dataset {spec.repo} (config {spec.config or 'default'}, split {spec.split}) could not be loaded: "
            f"{type(exc).__name__}: {exc}. Offline (HF_HUB_OFFLINE=1) it must already be in the datasets cache "
            "($HF_DATASETS_CACHE, default $HF_HOME/datasets); the form is " + HF_FORM
        ) from None
    root = cache or _cache("hf", spec.repo.replace("/", "--"), spec.config or "default")
    return _export(dataset, root / dataset._fingerprint / f"{_safe(spec.split)}.jsonl")


def materialize_datasets_dir(path: Path, split: str | None = None, cache: Path | None = None) -> Path:
    """A JSONL export of a local ``datasets`` folder (one split of a ``DatasetDict`` folder)."""
    datasets = _library()
    dataset = datasets.load_from_disk(str(path))
    if isinstance(dataset, datasets.DatasetDict):
        if split is None and len(dataset) == 1:
            split = next(iter(dataset))
        if split not in dataset:
            raise FileNotFoundError(f"{path} is a datasets folder with splits {sorted(dataset)}; name one as {path}:<split>")
        dataset = dataset[split]
    elif split is not None:
        raise FileNotFoundError(f"{path} is a datasets folder with a single split; name it without ':{split}'")
    name = split or (str(dataset.split) if dataset.split else path.name)
    return _export(dataset, (cache or _cache("local")) / dataset._fingerprint / f"{_safe(name)}.jsonl")
