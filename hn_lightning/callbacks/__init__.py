"""Lightning callbacks: GSM8K/MATH evaluation, throughput/MFU/memory, progress, Hugging Face export."""

from hn_lightning.callbacks.evaluation import MathEvalCallback
from hn_lightning.callbacks.export import HFExport, export_policy
from hn_lightning.callbacks.progress import StepProgressBar
from hn_lightning.callbacks.step_timer import StepTimer
from hn_lightning.callbacks.throughput import MemoryMonitor, TokenThroughput

__all__ = ["HFExport", "MathEvalCallback", "MemoryMonitor", "StepProgressBar", "StepTimer", "TokenThroughput", "export_policy"]
