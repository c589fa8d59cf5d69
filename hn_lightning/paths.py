"""Where things live on disk: the repository, the user's shared data folder, the cache.

The lowest layer of the package next to :mod:`hn_lightning.errors` and :mod:`hn_lightning.io`: it imports
nothing from the package. Data by name (``gsm8k:train``, ``hf:...``, ``shared:<rel>``, paths, globs) and the
test-set rule live one layer up, in :mod:`hn_lightning.catalog`.

* ``HN_SHARED_DATA`` points at a user's own folder for ``shared:<rel>`` paths. By default it is
  ``<repository>/../shared/data`` (on the project's machines: the Step-DPO files and labelled samples that
  some benchmarks and tests read; nothing shipped depends on it).
* ``HN_LIGHTNING_CACHE`` is the cache root (converted models, embedding and NLI caches, reference
  log-prob caches). Default: ``~/.cache/hn_lightning``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The shared data folder (``$HN_SHARED_DATA`` or ``<repo>/../shared/data``)."""
    env = os.environ.get("HN_SHARED_DATA")
    return Path(env).expanduser().resolve() if env else (REPO_ROOT.parent / "shared" / "data").resolve()


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root, created on demand."""
    root = Path(os.environ.get("HN_LIGHTNING_CACHE", "~/.cache/hn_lightning")).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
