"""Throughput, MFU and memory logging.

:class:`TokenThroughput` is Lightning's ``ThroughputMonitor`` with the batch-size and length functions
of our batches preset (non-padding tokens, not padded positions), so it can be named in YAML without
code. It logs ``tokens_per_sec`` and, when the device's peak FLOP/s is known (CUDA GPUs) or given as
``peak_tflops``, ``mfu`` from the module's ``flops_per_batch``.
"""

from __future__ import annotations

import resource
import sys
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ThroughputMonitor


def batch_rows(batch: dict[str, Any]) -> int:
    """Rows (packed rows or preference sequences) in a batch."""
    return int(batch["input_ids"].shape[0])


def batch_tokens(batch: dict[str, Any]) -> int:
    """Non-padding tokens in a batch."""
    return int(batch["num_tokens"])


class TokenThroughput(ThroughputMonitor):
    """``ThroughputMonitor`` counting non-padding tokens; logs ``*/tokens_per_sec``, ``*/mfu`` etc."""

    def __init__(self, window_size: int = 5, peak_tflops: float | None = None, separator: str = "/"):
        """
        Args:
            window_size: number of batches the rates are averaged over.
            peak_tflops: peak FLOP/s of the device in TFLOP/s, for MFU where Lightning does not know it
                (CPUs); null keeps Lightning's table (CUDA GPUs, by dtype).
            separator: between the stage prefix and the metric name.
        """
        super().__init__(batch_size_fn=batch_rows, length_fn=batch_tokens, window_size=window_size, separator=separator)
        self.peak_tflops = peak_tflops

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if self.peak_tflops:
            self.available_flops = int(self.peak_tflops * 1e12)
            for throughput in self._throughputs.values():
                throughput.available_flops = self.available_flops

    # Lightning calls what length_fn counts "items"; ours are non-padding tokens, and rows are "samples".
    _RENAME = {"items_per_sec": "tokens_per_sec", "samples_per_sec": "rows_per_sec", "lengths": "tokens", "samples": "rows"}

    def _compute(self, trainer: Trainer, iter_num: int | None = None) -> None:
        if not trainer._logger_connector.should_update_logs:
            return
        stage = trainer.state.stage
        throughput = self._throughputs[stage]
        metrics = {}
        for key, value in throughput.compute().items():
            head, _, tail = key.rpartition(throughput.separator)
            tail = self._RENAME.get(tail, tail)
            metrics[f"{stage.value}{throughput.separator}{head + throughput.separator if head else ''}{tail}"] = value
        trainer._logger_connector.log_metrics(metrics, step=iter_num)


def peak_memory_gib(device: torch.device) -> float:
    """Peak allocated accelerator memory, or the process's peak RSS on CPU, in GiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (2**30 if sys.platform == "darwin" else 2**20)


class MemoryMonitor(Callback):
    """Logs ``memory/peak_gib`` (CUDA peak allocated, or peak RSS on CPU) every ``every_n_steps``."""

    def __init__(self, every_n_steps: int = 10):
        """
        Args:
            every_n_steps: logging interval in optimizer steps.
        """
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if trainer.global_step % self.every_n_steps == 0:
            pl_module.log("memory/peak_gib", peak_memory_gib(pl_module.device), on_step=True, batch_size=1)
