"""Where a DataModule gets its tokenizer: its own ``tokenizer`` path, else the attached module's.

Loading a tokenizer by name (a registered model, a ``.gguf`` file, a Hub id) is the model layer's job, and
``data/`` sits below it: :mod:`hn_lightning.models` registers its loader here when it is imported (every
LightningModule imports it), so the data layer never imports the model layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_loader: Callable[[str], Any] | None = None


def register_tokenizer_loader(loader: Callable[[str], Any]) -> None:
    """Set the function that turns a ``tokenizer`` path or name into a tokenizer (``hn_lightning.models``)."""
    global _loader
    _loader = loader


def resolve_tokenizer(datamodule, path: str | None):
    """The tokenizer for ``datamodule``: already set, loaded from ``path``, or the LightningModule's
    (``trainer.lightning_module.tokenizer``), so a config names the model only once."""
    if getattr(datamodule, "tokenizer", None) is not None:
        return datamodule.tokenizer
    if path:
        if _loader is None:
            raise RuntimeError("no tokenizer loader registered: import hn_lightning.models first")
        return _loader(path)
    trainer = getattr(datamodule, "trainer", None)
    module = trainer.lightning_module if trainer is not None else None
    if module is None or getattr(module, "tokenizer", None) is None:
        raise ValueError(f"{type(datamodule).__name__} needs a tokenizer: set data.init_args.tokenizer or attach a module that has one")
    return module.tokenizer
