"""One way to name data everywhere: a shipped dataset name, a Hub dataset, a ``datasets`` folder, a path.

:func:`resolve_spec` turns what a user wrote into a local path, in this order:

1. a shipped dataset name (``gsm8k:train``, ``gsm8k:test``, ``math:train``, ``math:test``, ``math500``):
   its verified JSONL copy in the cache (:mod:`~hn_lightning.catalog.shipped`); or a testbed name
   (``testbed:train``, ``testbed:test``, ``testbed:ood``): generated into the cache on first use
   (:mod:`hn_lightning.testbed.splits`);
2. ``hf:<org>/<name>[:<config>]:<split>``: a JSONL export of the Hub dataset (:mod:`~hn_lightning.catalog.hub`);
3. ``shared:<rel>``: ``<rel>`` under the user's shared data folder (``$HN_SHARED_DATA``, default
   ``<repo>/../shared/data``; nothing shipped depends on it);
4. a ``datasets`` folder (``save_to_disk``), or ``<folder>:<split>`` for a ``DatasetDict``: a JSONL export;
5. anything else: an ordinary path (``~`` expanded), returned as is; the caller checks that it exists
   and raises :func:`unresolvable` otherwise (one message saying what was tried).

Exports remember where they came from (:func:`origin`), so the test-set rule judges ``gsm8k:test`` or a
``datasets`` folder named ``test`` by the name the user gave, not by the cache file's name.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from hn_lightning.catalog import hub
from hn_lightning.catalog.shipped import dataset_names, load_manifest, materialize
from hn_lightning.paths import shared_data_dir
from hn_lightning.testbed.splits import DATA_NAMES as TESTBED_NAMES
from hn_lightning.testbed.splits import TEST_NAMES as TESTBED_TEST_NAMES
from hn_lightning.testbed.splits import materialize as materialize_testbed

__all__ = ["DataNotFound", "SHARED_PREFIXES", "is_test_name", "origin", "resolve_data_file", "resolve_spec",
           "unresolvable"]

SHARED_PREFIXES = ("shared://", "shared:")
_origins: dict[Path, str] = {}


class DataNotFound(FileNotFoundError):
    """Data named by the user that none of the resolution rules could find."""


def origin(path: str | os.PathLike) -> str | None:
    """The spec (name, ``hf:`` id or folder) a resolved export came from; ``None`` for an ordinary file."""
    return _origins.get(Path(path))


def is_test_name(spec: str) -> bool:
    """True for a shipped test dataset name (``gsm8k:test``, ``math:test``, ``math500``, ``testbed:test``,
    ``testbed:ood``)."""
    if spec in TESTBED_TEST_NAMES:
        return True
    entry = load_manifest()["datasets"].get(spec)
    return entry is not None and entry["split"] == "test"


def _remember(path: Path, spec: str) -> Path:
    _origins[path] = spec
    return path


def resolve_spec(spec: str | os.PathLike) -> Path:
    """The local path of a data spec (see the module docstring). Plain paths are not checked for existence."""
    text = str(spec)
    if text in dataset_names():
        return _remember(materialize(text), text)
    if text in TESTBED_NAMES:
        return _remember(materialize_testbed(text), text)
    if text.startswith(hub.HF_PREFIX):
        return _remember(hub.materialize_hub(hub.parse_hf_spec(text)), text)
    for prefix in SHARED_PREFIXES:
        if text.startswith(prefix):
            return shared_data_dir() / text[len(prefix):]
    path = Path(text).expanduser()
    if hub.is_datasets_dir(path):
        return _remember(hub.materialize_datasets_dir(path), str(path))
    if not path.exists() and ":" in text:
        folder, split = text.rsplit(":", 1)
        if hub.is_datasets_dir(Path(folder).expanduser()):
            return _remember(hub.materialize_datasets_dir(Path(folder).expanduser(), split), text)
    return path


def unresolvable(spec: str | os.PathLike, what: str = "data") -> DataNotFound:
    """The error for a spec that resolved to nothing: what was tried, and the names that exist."""
    text = str(spec)
    names = [*dataset_names(), *TESTBED_NAMES]
    tried = [f"a shipped dataset name (none is {text!r})"]
    if text.startswith(SHARED_PREFIXES):
        tried.append(f"the shared data folder: {shared_data_dir() / text.split(':', 1)[1].lstrip('/')} does not exist "
                     "($HN_SHARED_DATA, default ../shared/data beside the repository)")
    else:
        tried.append(f"a file, folder or glob: {Path(text).expanduser().absolute()} does not exist")
    close = difflib.get_close_matches(text, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return DataNotFound(
        f"cannot find {what} {text!r}. Tried {'; '.join(tried)}.{hint} Shipped datasets: {', '.join(names)}; "
        f"Hub datasets: {hub.HF_FORM} (needs pip install 'hn_lightning[hf]'); or a path to a JSONL file, a folder "
        "of them, a glob, or a datasets folder (save_to_disk)."
    )


def resolve_data_file(spec: str | os.PathLike, what: str = "data file") -> Path:
    """:func:`resolve_spec`, and an error saying what was tried when it is not a file."""
    resolved = resolve_spec(spec)
    if not resolved.is_file():
        raise unresolvable(spec, what)
    return resolved
