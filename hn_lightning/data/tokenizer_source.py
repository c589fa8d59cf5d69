"""Where a DataModule gets its tokenizer: its own ``tokenizer`` path, else the attached module's."""

from __future__ import annotations


def resolve_tokenizer(datamodule, path: str | None):
    """The tokenizer for ``datamodule``: already set, loaded from ``path``, or the LightningModule's
    (``trainer.lightning_module.tokenizer``), so a config names the model only once."""
    if getattr(datamodule, "tokenizer", None) is not None:
        return datamodule.tokenizer
    if path:
        from hn_lightning.models import load_tokenizer

        return load_tokenizer(path)
    trainer = getattr(datamodule, "trainer", None)
    module = trainer.lightning_module if trainer is not None else None
    if module is None or getattr(module, "tokenizer", None) is None:
        raise ValueError(f"{type(datamodule).__name__} needs a tokenizer: set data.init_args.tokenizer or attach a module that has one")
    return module.tokenizer
