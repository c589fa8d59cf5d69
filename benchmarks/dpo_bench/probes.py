"""Measurement helpers that run inside a benchmark worker subprocess: peak memory and step clock."""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: fall back to the high-water mark
        return _maxrss_bytes()


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


class MemoryProbe:
    """Peak memory of this process: CUDA allocator stats, or RSS relative to a pre-load baseline."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.baseline = _rss_bytes()
        self.train_peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()

    def start_training(self) -> None:
        if self.cuda or self._thread is not None:
            return

        def sample() -> None:
            while not self._stop.is_set():
                self.train_peak = max(self.train_peak, _rss_bytes())
                time.sleep(0.01)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def result(self) -> dict:
        gib = 2**30
        if self.cuda:
            import torch

            return {"memory_method": "torch.cuda.max_memory_allocated (whole subprocess)",
                    "peak_gib": round(torch.cuda.max_memory_allocated() / gib, 3),
                    "reserved_gib": round(torch.cuda.max_memory_reserved() / gib, 3)}
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return {"memory_method": "CPU RSS: ru_maxrss - RSS after imports (peak_gib); sampled RSS during training - same baseline (train_peak_gib)",
                "peak_gib": round((_maxrss_bytes() - self.baseline) / gib, 3),
                "train_peak_gib": round((max(self.train_peak, self.baseline) - self.baseline) / gib, 3),
                "baseline_rss_gib": round(self.baseline / gib, 3),
                "maxrss_gib": round(_maxrss_bytes() / gib, 3)}


class StepClock:
    """Marks the end of every optimizer step and the tokens fed to the policy in it."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.marks: list[float] = []
        self.step_tokens: list[int] = []
        self.step_positions: list[int] = []
        self.step_completion: list[int] = []
        self.step_pairs: list[int] = []
        self._tokens = self._positions = self._completion = self._pairs = 0

    def _now(self) -> float:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
        return time.perf_counter()

    def start(self) -> None:
        self.marks = [self._now()]

    def add_micro_batch(self, tokens: int, positions: int, completion: int, pairs: int) -> None:
        self._tokens += tokens
        self._positions += positions
        self._completion += completion
        self._pairs += pairs

    def step_end(self) -> None:
        self.marks.append(self._now())
        self.step_tokens.append(self._tokens)
        self.step_positions.append(self._positions)
        self.step_completion.append(self._completion)
        self.step_pairs.append(self._pairs)
        self._tokens = self._positions = self._completion = self._pairs = 0

    def summary(self, warmup: int) -> dict:
        times = [b - a for a, b in zip(self.marks, self.marks[1:])]
        if len(times) <= warmup:
            raise RuntimeError(f"only {len(times)} optimizer steps ran; need more than {warmup} warm-up steps")
        sel = slice(warmup, None)
        t = sum(times[sel])
        pairs, tokens = sum(self.step_pairs[sel]), sum(self.step_tokens[sel])
        positions, completion = sum(self.step_positions[sel]), sum(self.step_completion[sel])
        return {
            "step_times_s": [round(x, 4) for x in times],
            "measured_steps": len(times[sel]),
            "step_s": round(t / len(times[sel]), 4),
            "pairs_per_s": round(pairs / t, 4),
            "tokens_per_s": round(tokens / t, 2),
            "tokens_per_pair": round(tokens / pairs, 1),
            "completion_tokens_per_pair": round(completion / pairs, 1),
            "padding_fraction": round(1 - tokens / positions, 4),
            "pairs_measured": pairs,
        }


def _optimizer_kwargs(args) -> dict:
    return {"lr": args.lr, "weight_decay": 0.0, "fused": args.optim == "adamw_torch_fused"}


def _records(path: str) -> list[dict]:
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]

