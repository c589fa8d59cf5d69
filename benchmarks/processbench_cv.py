"""Cross-validation by problem, rule ablation and replay for ``benchmarks/processbench.py``.

The verifier's first-error stage reads an :class:`~hn_lightning.verifier.evidence.Evidence` per record;
``processbench.py`` records it once (with the encoder and NLI) and everything here replays the rule table on
it, in milliseconds per record:

* **folds** (:func:`assign_folds`): the records of a split grouped by problem (records of one problem share
  a fold), the groups dealt to ``k`` folds in a fixed hashed order, balancing the record counts;
* **cross-validated F1** (:func:`fold_f1`): F1 on each fold; a fixed rule set is judged by the mean and
  the spread across folds, a choice (a threshold, which rules to keep) by its F1 on the folds it was
  *not* made on (:func:`nested_selection`);
* **ablation** (:func:`ablate`): each rule switched off in turn; its contribution per fold is
  F1(all) - F1(all but it).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
from collections.abc import Callable
from pathlib import Path

from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.first_error import locate
from hn_lightning.verifier.rules import RULES

__all__ = ["ablate", "assign_folds", "diff_predictions", "fold_f1", "nested_selection", "replay", "select_rules", "summary"]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def assign_folds(problems: list[str], k: int) -> list[int]:
    """Fold of each record (``problems[i]``: its problem text); one problem's records share a fold."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(problems):
        groups.setdefault(_norm(p), []).append(i)
    order = sorted(groups, key=lambda p: hashlib.sha1(p.encode("utf-8")).hexdigest())
    sizes, out = [0] * k, [0] * len(problems)
    for p in order:
        f = min(range(k), key=lambda j: (sizes[j], j))
        for i in groups[p]:
            out[i] = f
        sizes[f] += len(groups[p])
    return out


def f1(labels: list[int], preds: list[int]) -> float:
    """ProcessBench F1 (x100): harmonic mean of the accuracy on erroneous records (exact step) and on
    correct ones (``-1``); ``nan`` when one of the two groups is empty."""
    err = [p == y for y, p in zip(labels, preds, strict=True) if y >= 0]
    cor = [p == -1 for y, p in zip(labels, preds, strict=True) if y < 0]
    if not err or not cor:
        return math.nan
    a, c = sum(err) / len(err), sum(cor) / len(cor)
    return 100 * 2 * a * c / (a + c) if a + c else 0.0


def fold_f1(labels: list[int], preds: list[int], folds: list[int], k: int) -> list[float]:
    """F1 on each fold."""
    return [f1([y for y, g in zip(labels, folds, strict=True) if g == j], [p for p, g in zip(preds, folds, strict=True) if g == j])
            for j in range(k)]


def summary(labels: list[int], preds: list[int], folds: list[int], k: int) -> dict:
    """Whole-dev F1 and the mean +- sd of the per-fold F1."""
    per = fold_f1(labels, preds, folds, k)
    return {"whole": round(f1(labels, preds), 1), "folds": [round(x, 1) for x in per],
            "mean": round(statistics.fmean(per), 1), "sd": round(statistics.stdev(per), 1) if k > 1 else 0.0}


def to_step(start: int | None, pb_starts: list[int]) -> int:
    """The ProcessBench step holding character ``start`` of the joined steps (``-1``: none)."""
    if start is None:
        return -1
    return max(0, sum(1 for s in pb_starts if s <= start) - 1)


def replay(entries: list[dict], disabled: frozenset[str] = frozenset(), transform: Callable[[Evidence], Evidence] | None = None) -> list[int]:
    """Predicted ProcessBench steps of recorded ``entries`` (``{"evidence": Evidence, "pb_starts": [...]}``)
    with the rules in ``disabled`` off (``transform``: an edit of each evidence first, e.g. a judge threshold)."""
    out = []
    for e in entries:
        ev = e["evidence"] if transform is None else transform(e["evidence"])
        fe = locate(ev, disabled)
        out.append(-1 if fe.index is None else to_step(ev.starts[fe.index], e["pb_starts"]))
    return out


def applicable_rules(mode: str) -> list[str]:
    """Rules that can act in ``mode`` (``with_reference`` / ``reference_free``)."""
    ref = "with" if mode == "with_reference" else "without"
    return [r.name for r in RULES if r.when.reference in ("any", ref)]


def ablate(entries: list[dict], labels: list[int], folds: list[int], k: int, rules: list[str],
           base: frozenset[str] = frozenset(), cache: dict | None = None) -> dict[str, dict]:
    """Per rule of ``rules`` (on top of the rules already off in ``base``): the predictions without it and
    its contribution per fold (F1 with it - F1 without it)."""
    cache = {} if cache is None else cache

    def preds(off: frozenset[str]) -> list[int]:
        if off not in cache:
            cache[off] = replay(entries, off)
        return cache[off]

    ref = fold_f1(labels, preds(base), folds, k)
    out = {}
    for name in rules:
        p = preds(base | {name})
        per = [a - b for a, b in zip(ref, fold_f1(labels, p, folds, k), strict=True)]
        moved = [i for i, (x, y) in enumerate(zip(preds(base), p, strict=True)) if x != y]
        out[name] = {"delta_folds": [round(x, 1) for x in per], "delta_mean": round(statistics.fmean(per), 2),
                     "delta_whole": round(f1(labels, preds(base)) - f1(labels, p), 2),
                     "records_moved": len(moved), "predicted_without": p}
    return out


def pays(delta_folds: list[float], min_folds: int | None = None) -> bool:
    """A rule pays across folds: switching it off lowers F1 on average and on at least ``min_folds`` folds
    (default: more than half), and raises it on none by more than it lowers it on average."""
    need = len(delta_folds) // 2 + 1 if min_folds is None else min_folds
    mean = statistics.fmean(delta_folds)
    return mean > 0 and sum(d > 0 for d in delta_folds) >= need and min(delta_folds) > -mean


def select_rules(entries: list[dict], labels: list[int], folds: list[int], use_folds: list[int], rules: list[str],
                 cache: dict | None = None, rounds: int = 3) -> frozenset[str]:
    """The rules to switch off, chosen on the folds ``use_folds`` only: rules that do not :func:`pays` are
    dropped (all at once, then again on the smaller table, up to ``rounds`` times)."""
    cache = {} if cache is None else cache
    keep = [j in use_folds for j in folds]
    sub = [e for e, m in zip(entries, keep, strict=True) if m]
    sub_labels = [y for y, m in zip(labels, keep, strict=True) if m]
    remap = {f: n for n, f in enumerate(use_folds)}
    sub_folds = [remap[g] for g, m in zip(folds, keep, strict=True) if m]
    sub_cache: dict = cache.setdefault(tuple(use_folds), {})
    off: frozenset[str] = frozenset()
    for _ in range(rounds):
        res = ablate(sub, sub_labels, sub_folds, len(use_folds), [r for r in rules if r not in off], off, sub_cache)
        drop = {name for name, r in res.items() if not pays(r["delta_folds"])}
        if not drop:
            break
        off |= drop
    return off


def nested_selection(entries: list[dict], labels: list[int], folds: list[int], k: int, rules: list[str]) -> dict:
    """Honest F1 of the selection procedure: for each fold, rules chosen by :func:`select_rules` on the
    other folds, F1 on it; and the rules the procedure drops on all folds."""
    per, dropped = [], {}
    for j in range(k):
        off = select_rules(entries, labels, folds, [g for g in range(k) if g != j], rules)
        dropped[j] = sorted(off)
        idx = [i for i, g in enumerate(folds) if g == j]
        preds = replay([entries[i] for i in idx], off)
        per.append(f1([labels[i] for i in idx], preds))
    return {"folds": [round(x, 1) for x in per], "mean": round(statistics.fmean(per), 1),
            "sd": round(statistics.stdev(per), 1), "dropped_per_fold": dropped}


def diff_predictions(a: Path, b: Path) -> list[str]:
    """Records whose predicted step differs between two ``processbench.py --out`` files, as lines
    ``split mode id: a -> b (label y)``."""
    ja, jb = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    out = []
    for sa in ja["splits"]:
        sb = next((s for s in jb["splits"] if s["split"] == sa["split"]), None)
        for mode in ("with_reference", "reference_free", "self_reference"):
            if sb is None or mode not in sa or mode not in sb:
                continue
            pa, pbb, labels = sa[mode]["predicted_steps"], sb[mode]["predicted_steps"], sa.get("labels", {})
            for rid in pa:
                if rid in pbb and pa[rid] != pbb[rid]:
                    out.append(f"{sa['split']} {mode} {rid}: {pa[rid]} -> {pbb[rid]} (label {labels.get(rid, '?')})")
    return out


def save_evidence(path: Path, evidence: dict) -> None:
    """``{split: {"modes": {mode: [entry]}}}`` as JSON (evidence as dicts)."""
    data = {split: {"modes": {mode: [{"pb_starts": e["pb_starts"], "evidence": e["evidence"].to_dict()} for e in entries]
                              for mode, entries in v["modes"].items()}} for split, v in evidence.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_evidence(path: Path) -> dict:
    """What :func:`save_evidence` wrote, with :class:`Evidence` objects."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for v in data.values():
        for entries in v["modes"].values():
            for e in entries:
                e["evidence"] = Evidence.from_dict(e["evidence"])
    return data


def report_split(split: str, records: list[dict], res: dict, entries: dict, modes: list[str], k: int,
                 do_ablate: bool = False, do_select: bool = False) -> dict:
    """Print and return, per mode: the cross-validated F1 of the predictions in ``res``; with ``do_ablate``
    each rule's contribution per fold (needs ``entries``, the recorded evidence); with ``do_select`` the
    nested estimate of keeping only rules that pay."""
    labels, ids = [r["label"] for r in records], [r["id"] for r in records]
    folds = assign_folds([r["problem"] for r in records], k)
    out: dict = {"k": k, "folds": dict(zip(ids, folds, strict=True))}
    for mode in modes:
        preds = [res[mode]["predicted_steps"][i] for i in ids]
        s = summary(labels, preds, folds, k)
        out[mode] = {"f1": s}
        print(f"{split:6s} {mode:15s} F1 whole {s['whole']:5.1f} | CV {s['mean']:5.1f} +- {s['sd']:4.1f} (folds {s['folds']})")
        if not (do_ablate or do_select) or mode not in entries:
            continue
        rules = applicable_rules("with_reference" if mode != "reference_free" else "reference_free")
        if do_ablate:
            abl = ablate(entries[mode], labels, folds, k, rules)
            print(f"{split:6s} {mode:15s} ablation: rule | F1 lost without it (whole; mean over folds; per fold) | records moved | pays")
            for name, r in sorted(abl.items(), key=lambda kv: -kv[1]["delta_mean"]):
                print(f"    {name:26s} {r['delta_whole']:+6.2f} {r['delta_mean']:+6.2f} {r['delta_folds']} {r['records_moved']:3d} "
                      f"{'yes' if pays(r['delta_folds']) else 'no'}")
                r["predicted_without"] = dict(zip(ids, r["predicted_without"], strict=True))
                r["pays"] = pays(r["delta_folds"])
            out[mode]["ablation"] = abl
        if do_select:
            nested = nested_selection(entries[mode], labels, folds, k, rules)
            off = select_rules(entries[mode], labels, folds, list(range(k)), rules)
            nested["dropped_on_all_folds"] = sorted(off)
            print(f"{split:6s} {mode:15s} keep-where-it-pays, chosen on k-1 folds: CV {nested['mean']:5.1f} +- {nested['sd']:4.1f} "
                  f"(folds {nested['folds']}); chosen on all folds, it drops {sorted(off)}")
            out[mode]["selection"] = nested
    return out
