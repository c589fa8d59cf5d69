"""Data: JSONL readers, chat formatting, packing, and the SFT / preference DataModules."""

from hn_lightning.data.preference_datamodule import PreferenceDataModule
from hn_lightning.data.sft_datamodule import SFTDataModule

__all__ = ["PreferenceDataModule", "SFTDataModule"]
