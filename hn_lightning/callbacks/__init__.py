"""Lightning callbacks: throughput/MFU/memory, Hugging Face export (and, in later modules, evaluation)."""

from hn_lightning.callbacks.export import HFExport, export_policy
from hn_lightning.callbacks.progress import StepProgressBar
from hn_lightning.callbacks.throughput import MemoryMonitor, TokenThroughput

__all__ = ["HFExport", "MemoryMonitor", "StepProgressBar", "TokenThroughput", "export_policy"]
