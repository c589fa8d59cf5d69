"""LightningModules: they only wire models, pure loss functions and metrics together."""

from hn_lightning.modules.dpo import DPOModule
from hn_lightning.modules.reference import ReferenceConfig
from hn_lightning.modules.sft import SFTModule

__all__ = ["DPOModule", "ReferenceConfig", "SFTModule"]
