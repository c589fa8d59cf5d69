"""LightningModules: they only wire models, pure loss functions and metrics together."""

from hn_lightning.modules.sft import SFTModule

__all__ = ["SFTModule"]
