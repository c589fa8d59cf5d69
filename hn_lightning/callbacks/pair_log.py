"""Per-pair training log: the step, id, normalized weight and per-pair loss of every training pair, written
as a CSV (the source of an experiment's weight histograms). It is rewritten atomically with every
checkpoint (the rows of the steps that checkpoint holds) and at the end of training, so a run killed
after a checkpoint and resumed from it keeps the rows of the steps trained before the crash."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lightning.pytorch import Callback

from hn_lightning.io.atomic import atomic_write_text

COLUMNS = ("step", "id", "weight", "loss")


class PairLog(Callback):
    """Collects ``training_step``'s per-pair ``weights`` and ``losses`` (DPOModule) and writes them to
    ``path`` with every checkpoint and when training ends. On a resumed run the rows of the steps before
    the checkpoint are kept (read back from ``path``) and the later ones are trained and logged again."""

    def __init__(self, path: str):
        """
        Args:
            path: CSV file to write (columns step, id, weight, loss).
        """
        self.path = Path(path)
        self.rows: list[dict[str, object]] = []

    def on_train_start(self, trainer, pl_module) -> None:
        """Start from the rows of the steps before ``global_step`` (restored from the checkpoint by now; it is
        still 0 in ``on_fit_start``)."""
        self.rows = []
        if self.path.is_file() and trainer.global_step > 0:
            with open(self.path, newline="", encoding="utf-8") as handle:
                self.rows = [r for r in csv.DictReader(handle) if int(r["step"]) < trainer.global_step]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not isinstance(outputs, dict) or "weights" not in outputs:
            return
        step = int(batch.get("step_index", trainer.global_step)) if isinstance(batch, dict) else trainer.global_step
        for pair_id, weight, loss in zip(outputs["ids"], outputs["weights"].tolist(), outputs["losses"].tolist()):
            self.rows.append({"step": step, "id": pair_id, "weight": repr(float(weight)), "loss": repr(float(loss))})

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        """With each checkpoint: the rows of every step it holds (steps before ``global_step``)."""
        self._write(trainer, [r for r in self.rows if int(r["step"]) < trainer.global_step])

    def on_train_end(self, trainer, pl_module) -> None:
        self._write(trainer, self.rows)

    def _write(self, trainer, rows: list[dict[str, object]]) -> None:
        if trainer.global_rank != 0:
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, buffer.getvalue())
