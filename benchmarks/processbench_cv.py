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
from dataclasses import dataclass, field
from pathlib import Path

from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.first_error import locate
from hn_lightning.verifier.rules import RULES

__all__ = ["Context", "ablate", "assign_folds", "diff_predictions", "fold_f1", "nested_selection", "pays", "replay", "rule_report",
           "select_rules", "summary"]


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


@dataclass
class Context:
    """One split in one mode: the recorded entries, labels and folds of its records."""

    name: str
    mode: str
    ids: list[str]
    entries: list[dict]
    labels: list[int]
    folds: list[int]
    cache: dict = field(default_factory=dict)
    judged: dict[str, list[dict]] = field(default_factory=dict)
    """Per step judge: the entries with its scores (:func:`score_with_judges`)."""

    def preds(self, off: frozenset[str]) -> list[int]:
        """Predictions with the rules in ``off`` switched off (memoized)."""
        if off not in self.cache:
            self.cache[off] = replay(self.entries, off)
        return self.cache[off]

    def fold_f1(self, off: frozenset[str], use: list[int]) -> list[float]:
        per = fold_f1(self.labels, self.preds(off), self.folds, max(self.folds) + 1)
        return [per[j] for j in use]


def ablate(contexts: list[Context], rules: list[str], base: frozenset[str] = frozenset(),
           use: list[int] | None = None) -> dict[str, dict[str, dict]]:
    """Per rule of ``rules`` (on top of those already off in ``base``) and context where it applies: its
    F1 contribution on each fold of ``use`` (F1 with it - F1 without it), the mean, the records it moves."""
    out: dict[str, dict[str, dict]] = {}
    for name in rules:
        for c in contexts:
            if name not in applicable_rules(c.mode):
                continue
            use_c = use if use is not None else sorted(set(c.folds))
            ref, p = c.fold_f1(base, use_c), c.fold_f1(base | {name}, use_c)
            per = [a - b for a, b in zip(ref, p, strict=True)]
            moved = sum(x != y for x, y, g in zip(c.preds(base), c.preds(base | {name}), c.folds, strict=True) if g in use_c)
            out.setdefault(name, {})[c.name] = {"delta_folds": [round(x, 1) for x in per], "delta_mean": round(statistics.fmean(per), 2),
                                                "records_moved": moved}
    return out


MIN_POSITIVE_FOLDS = 3
"""A rule must raise F1 on at least this many (context, fold) cells ..."""
POSITIVE_TO_NEGATIVE = 2
"""... and on at least this many times as many cells as it lowers it."""


def pays(by_context: dict[str, dict]) -> bool:
    """A rule pays across folds: over every (context, fold) cell where it applies, switching it off lowers
    F1 on at least :data:`MIN_POSITIVE_FOLDS` cells and on :data:`POSITIVE_TO_NEGATIVE` times as many cells
    as it raises it, and the sum of its mean contributions is positive. A rule that moves one or two
    records (each in one fold) cannot pass: that is the size of what a rule written while reading the
    records fits by construction."""
    cells = [d for r in by_context.values() for d in r["delta_folds"]]
    pos, neg = sum(d > 0 for d in cells), sum(d < 0 for d in cells)
    return pos >= MIN_POSITIVE_FOLDS and pos >= POSITIVE_TO_NEGATIVE * neg and sum(r["delta_mean"] for r in by_context.values()) > 0


def select_rules(contexts: list[Context], rules: list[str], use: list[int], rounds: int = 2) -> tuple[frozenset[str], list[dict]]:
    """The rules to switch off, chosen on the folds ``use`` only: those that do not :func:`pays` are dropped
    (all at once, then again on the smaller table, up to ``rounds`` times). Returns them and each round's
    ablation."""
    off: frozenset[str] = frozenset()
    history = []
    for _ in range(rounds):
        res = ablate(contexts, [r for r in rules if r not in off], off, use)
        history.append(res)
        drop = {name for name, by in res.items() if not pays(by)}
        if not drop:
            break
        off |= drop
    return off, history


def nested_selection(contexts: list[Context], rules: list[str], k: int) -> dict:
    """Honest F1 of :func:`select_rules`: for each fold, the rules chosen on the other folds, F1 on it,
    per context."""
    out: dict = {"dropped_per_fold": {}, "contexts": {c.name: [] for c in contexts}}
    for j in range(k):
        off, _ = select_rules(contexts, rules, [g for g in range(k) if g != j])
        out["dropped_per_fold"][j] = sorted(off)
        for c in contexts:
            out["contexts"][c.name].append(round(c.fold_f1(off, [j])[0], 1))
    for name, per in list(out["contexts"].items()):
        out["contexts"][name] = {"folds": per, "mean": round(statistics.fmean(per), 1), "sd": round(statistics.stdev(per), 1)}
    return out


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


def cv_lines(split: str, records: list[dict], res: dict, modes: list[str], k: int) -> dict:
    """Print and return, per mode, the cross-validated F1 of the predictions in ``res``."""
    labels, ids = [r["label"] for r in records], [r["id"] for r in records]
    folds = assign_folds([r["problem"] for r in records], k)
    out: dict = {"k": k, "folds": dict(zip(ids, folds, strict=True))}
    for mode in modes:
        s = summary(labels, [res[mode]["predicted_steps"][i] for i in ids], folds, k)
        out[mode] = s
        print(f"{split:6s} {mode:15s} F1 whole {s['whole']:5.1f} | CV {s['mean']:5.1f} +- {s['sd']:4.1f} (folds {s['folds']})")
    return out


def make_contexts(split: str, records: list[dict], entries: dict, k: int, judged: dict | None = None) -> list[Context]:
    """One :class:`Context` per mode of ``entries`` (``judged``: ``{judge: {mode: entries}}``)."""
    labels, ids = [r["label"] for r in records], [r["id"] for r in records]
    folds = assign_folds([r["problem"] for r in records], k)
    return [Context(f"{split}/{mode}", mode, ids, entries[mode], labels, folds,
                    judged={n: by_mode[mode] for n, by_mode in (judged or {}).items()})
            for mode in ("with_reference", "reference_free") if mode in entries]


def rule_report(contexts: list[Context], k: int, do_ablate: bool, do_select: bool) -> dict:
    """Print and return the ablation of every rule (per context and fold) and, with ``do_select``, the
    nested estimate of keeping only the rules that pay and the rules that does drop on all folds."""
    rules = [r.name for r in RULES]
    out: dict = {}
    if do_ablate:
        abl = ablate(contexts, rules)
        print("ablation: rule | per context: F1 lost without it (mean over folds; per fold) records moved | pays")
        for name in sorted(abl, key=lambda n: -sum(r["delta_mean"] for r in abl[n].values())):
            cells = "  ".join(f"{c}: {r['delta_mean']:+.2f} {r['delta_folds']} {r['records_moved']}" for c, r in abl[name].items()
                              if r["records_moved"])
            print(f"  {name:26s} {'pays' if pays(abl[name]) else 'no  '} {cells}")
        out["ablation"] = abl
        for c in contexts:
            out.setdefault("predicted_without", {})[c.name] = {
                name: dict(zip(c.ids, c.preds(frozenset({name})), strict=True)) for name in rules if name in abl and c.name in abl[name]}
    if do_select:
        nested = nested_selection(contexts, rules, k)
        off, history = select_rules(contexts, rules, list(range(k)))
        nested["dropped_on_all_folds"] = sorted(off)
        nested["pruned_table"] = {c.name: summary(c.labels, c.preds(off), c.folds, k) for c in contexts}
        for c in contexts:
            n, pr = nested["contexts"][c.name], nested["pruned_table"][c.name]
            print(f"{c.name:22s} keep-where-it-pays chosen on k-1 folds: CV {n['mean']:5.1f} +- {n['sd']:4.1f} {n['folds']} | "
                  f"chosen on all folds: whole {pr['whole']:5.1f}, CV {pr['mean']:5.1f} +- {pr['sd']:4.1f}")
        print(f"dropped (chosen on all folds): {sorted(off)}")
        print("dropped per held-out fold: " + "; ".join(f"{j}: {len(v)}" for j, v in nested["dropped_per_fold"].items()))
        out["selection"] = nested
    return out


def judge_name(spec: dict) -> str:
    """A short name of a judge spec (its class and init_args)."""
    args = ",".join(f"{k}={v}" for k, v in sorted((spec.get("init_args") or {}).items()))
    return f"{str(spec['class_path']).rsplit('.', 1)[-1]}({args})"


def score_with_judges(evidence: dict, specs: list[dict]) -> None:
    """Each judge's scores on recorded evidence (``--replay`` with ``--step_judge``: the judge reads the
    recorded steps), as ``evidence[split]["judged"][name][mode]`` entries."""
    from dataclasses import replace

    from hn_lightning.verifier.judges import JudgeInput, build_judge

    for spec in specs:
        judge = build_judge(spec)
        for split in evidence.values():
            for mode, entries in split["modes"].items():
                evs = [e["evidence"] for e in entries]
                scores = judge.score([JudgeInput(ev.question, ev.steps, ev.reference) for ev in evs])
                split.setdefault("judged", {}).setdefault(judge_name(spec), {})[mode] = [
                    {**e, "evidence": replace(ev, judge=sc, judge_threshold=judge.threshold)}
                    for e, ev, sc in zip(entries, evs, scores, strict=True)]


THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The judge thresholds tried (:func:`judge_report`)."""


def _with_threshold(tau: float) -> Callable[[Evidence], Evidence]:
    from dataclasses import replace

    return lambda ev: replace(ev, judge_threshold=tau)


def judge_report(contexts: list[Context], k: int, grid: tuple[float, ...] = THRESHOLDS) -> dict:
    """The step judges across folds. Per held-out fold, the (judge, threshold) that maximizes the mean F1
    over the contexts on the other folds, and the F1 it gives on the held-out fold; the judges alone (every
    other rule off) and with the rules. Prints and returns both, and the choice made on all folds."""
    from hn_lightning.verifier.rules import rule_names

    alone = frozenset(rule_names()) - {"step_judge"}
    names = sorted(contexts[0].judged)
    out: dict = {}
    for label, off in (("rules + judge", frozenset()), ("judge alone", alone)):
        preds = {(c.name, n, tau): replay(c.judged[n], off, _with_threshold(tau)) for c in contexts for n in names for tau in grid}
        per_fold = {key: fold_f1(contexts_by[key[0]].labels, p, contexts_by[key[0]].folds, k)
                    for contexts_by in [{c.name: c for c in contexts}] for key, p in preds.items()}

        def score(choice: tuple[str, float], use: list[int], per_fold: dict = per_fold) -> float:
            return statistics.fmean(statistics.fmean(per_fold[(c.name, *choice)][j] for j in use) for c in contexts)

        choices = [(n, t) for n in names for t in grid]
        per = {c.name: [] for c in contexts}
        chosen = []
        for j in range(k):
            best = max(choices, key=lambda ch: score(ch, [g for g in range(k) if g != j]))
            chosen.append(best)
            for c in contexts:
                per[c.name].append(per_fold[(c.name, *best)][j])
        best = max(choices, key=lambda ch: score(ch, list(range(k))))
        res = {"chosen_per_fold": [list(ch) for ch in chosen], "chosen_all_folds": list(best), "contexts": {}}
        print(f"{label}: (judge, threshold) chosen on k-1 folds: {chosen}; on all folds: {best}")
        for c in contexts:
            whole = summary(c.labels, preds[(c.name, *best)], c.folds, k)
            r = {"cv_mean": round(statistics.fmean(per[c.name]), 1), "cv_sd": round(statistics.stdev(per[c.name]), 1),
                 "cv_folds": [round(x, 1) for x in per[c.name]], "chosen_all_folds": whole}
            res["contexts"][c.name] = r
            print(f"  {c.name:22s} chosen on k-1 folds: CV {r['cv_mean']:5.1f} +- {r['cv_sd']:4.1f} {r['cv_folds']} | "
                  f"chosen on all folds: whole {whole['whole']:5.1f}, CV {whole['mean']:5.1f} +- {whole['sd']:4.1f}")
        out[label] = res
    return out
