"""ProcessBench (arXiv 2412.06559) through the MathVerifier's first-error step.

For each split (GSM8K, MATH) of the shipped dev half (``../shared/data/processbench``) every record's
steps are joined with blank lines into one prediction and scored by :class:`MathVerifier` with the
reference solution and gold answer of its GSM8K/MATH test problem (matched by the problem text).
The verifier's ``first_error_span`` is mapped back to the ProcessBench step that contains its start
(``-1`` when no error is found), so the splitter is measured too. Metrics (the paper's): accuracy on
erroneous records (exact index), accuracy on correct records (``-1``), F1 = their harmonic mean; plus
the confusion of true vs predicted positions, the error kinds found and samples/s.

Two passes per split: a **cold** pass with the reference (fresh caches in a temporary folder, or ``--cache_dir``) and a
**warm** pass in reference-free mode (``first_error_reference: false``) on the same caches; the
embeddings and NLI are the same in both modes, so the second pass times the warm cache.

A third mode, ``self_reference``, is reference-free too (no reference solution, no gold answer) but
lets a *solver* model write its own: ``--solver_samples`` names ``samples.jsonl`` files written by
``cli.py eval`` on the split's problems (``benchmarks/processbench_solver.sh`` runs it); each record's
problem is matched by its text, the solver's completion becomes the reference and its extracted answer
the gold (its LaTeX arithmetic read as plain text, ``--solver_reference plain``), and the verifier runs in
its with-reference mode. A solver solution that the reference-free rules flag is not used
(``--solver_check on``); records whose problem the solver did not answer or whose solver solution was
flagged fall back to the rules-only reference-free mode, without reference or gold. The check's time is
reported apart (``solver_check``); ``--fine_channel gated`` is refused in this mode (its gate reads
the answer check). The pass also reports the solver's own accuracy
(against the real gold, measurement only) and F1 on the records where it was right / wrong. Two trivial
baselines use only the answer check: ``-1`` when the final answer is right, else step index 0 (or
index 1, the second step: the issue's baseline, F1 44.4 / 35.9).

Honest measurement (:mod:`processbench_cv`, ``docs/verifier-rules.md``): ``--folds 5`` adds F1 per fold
(records grouped by problem) with mean +- sd beside the whole-dev number; ``--save_evidence`` records what
the first-error stage read for every record and ``--replay`` runs the rule table on it again without the
verifier's encoder (seconds); ``--ablate`` switches each rule off in turn (its F1 contribution per split,
mode and fold; per-record predictions in ``--out``), ``--select`` scores keeping only the rules that pay,
chosen on k-1 folds; ``--step_judge`` (repeatable with ``--replay``) chooses a step judge and its threshold
across folds; ``--diff A B`` lists the records whose prediction changed between two ``--out`` files.

    OMP_NUM_THREADS=1 python benchmarks/processbench.py --splits gsm8k math --fine_channel always \
        --save_evidence ev.json --folds 5 --out benchmarks/results/processbench.json
    python benchmarks/processbench.py --replay ev.json --folds 5 --ablate --select

This evaluates a verifier on test problems: nothing here trains on it. Tune only on the dev half, and judge
a choice on the folds it was not made on.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import processbench_cv as cv  # noqa: E402
from processbench_cv import _norm  # noqa: E402
from processbench_solver import (  # noqa: E402
    UNKNOWN_GOLD,
    check_solver,
    load_solver,
    solver_breakdown,
    usable_solver,
    warm_up,
    write_problems,
)

from hn_lightning.verifier import MathVerifier, VerifierConfig, VerifierInput  # noqa: E402
from hn_lightning.verifier.first_error import locate  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def load_split(split: str, data: Path, limit: int | None) -> list[dict]:
    """ProcessBench dev records with ``reference`` and ``gold`` from the matching test problem."""
    refs: dict[str, tuple[str, str]] = {}
    if split == "gsm8k":
        for line in open(data / "gsm8k" / "test.jsonl", encoding="utf-8"):
            r = json.loads(line)
            refs[_norm(r["question"])] = (r["answer"], r["answer"].split("####")[-1].strip())
    else:
        for line in open(data / "math" / "test.jsonl", encoding="utf-8"):
            r = json.loads(line)
            refs[_norm(r["problem"])] = (r["solution"], r["answer"])
    out = []
    for lineno, line in enumerate(open(data / "processbench" / f"{split}_dev.jsonl", encoding="utf-8"), 1):
        r = json.loads(line)
        key = _norm(r["problem"])
        if key not in refs:
            raise ValueError(f"{split}_dev.jsonl:{lineno}: no {split} test problem matches record {r['id']}")
        r["reference"], r["gold"] = refs[key]
        out.append(r)
    if limit and limit < len(out):  # evenly spaced, so both labels stay represented
        out = [out[i * len(out) // limit] for i in range(limit)]
    return out


def joined(steps: list[str]) -> tuple[str, list[int]]:
    """The steps joined with blank lines, and each step's start offset."""
    starts, pos = [], 0
    for s in steps:
        starts.append(pos)
        pos += len(s) + 2
    return "\n\n".join(steps), starts


def to_step(span: list[int] | None, starts: list[int]) -> int:
    """The ProcessBench step holding the first character of ``span`` (``-1`` for no span)."""
    if span is None:
        return -1
    return max(0, bisect.bisect_right(starts, span[0]) - 1)


def metrics(labels: list[int], preds: list[int]) -> dict:
    err = [(y, p) for y, p in zip(labels, preds, strict=True) if y >= 0]
    cor = [(y, p) for y, p in zip(labels, preds, strict=True) if y < 0]
    a_err = sum(y == p for y, p in err) / max(1, len(err))
    a_cor = sum(p == -1 for _, p in cor) / max(1, len(cor))
    f1 = 2 * a_err * a_cor / (a_err + a_cor) if a_err + a_cor else 0.0
    where = Counter("exact" if p == y else "missed" if p < 0 else "early" if p < y else "late" for y, p in err)
    return {"n_erroneous": len(err), "n_correct": len(cor), "acc_erroneous": round(100 * a_err, 1),
            "acc_correct": round(100 * a_cor, 1), "f1": round(100 * f1, 1), "erroneous_outcome": dict(where)}


def confusion(labels: list[int], preds: list[int], top: int = 4) -> dict[str, dict[str, int]]:
    """``{true: {predicted: count}}`` with positions ``-1, 0 .. top-1, f"{top}+"``."""
    def b(x: int) -> str:
        return str(x) if x < top else f"{top}+"
    out: dict[str, dict[str, int]] = {}
    for y, p in zip(labels, preds, strict=True):
        out.setdefault(b(y), {}).setdefault(b(p), 0)
        out[b(y)][b(p)] += 1
    return out


def run_pass(verifier: MathVerifier, records: list[dict], batch_size: int, source: str = "truth") -> tuple[list, float]:
    """Score ``records`` in batches of ``batch_size``; reference and gold come from ``source``: ``truth``
    (the matched test problem's), ``solver`` (the solver's completion and extracted answer) or ``none``
    (no reference, :data:`UNKNOWN_GOLD`). Returns ``(result, evidence)`` pairs and the wall seconds."""
    def ref_gold(r: dict) -> tuple[str, str | list[str]]:
        if source == "solver":
            return r["solver"]["completion"], r["solver"]["extracted"]
        return ("", UNKNOWN_GOLD) if source == "none" else (r["reference"], r["gold"])

    t0 = time.perf_counter()
    results = []
    for i in range(0, len(records), batch_size):
        chunk = records[i:i + batch_size]
        inputs = [VerifierInput(id=r["id"], question=r["problem"], reference=ref, gold=gold, prediction=joined(r["steps"])[0])
                  for r, (ref, gold) in ((r, ref_gold(r)) for r in chunk)]
        results += verifier.score_batch_with_evidence(inputs)
    return results, time.perf_counter() - t0


def _mode_pass(mode: str, cfg_kwargs: dict, records: list[dict], batch_size: int,
               solver_style: str = "plain", flagged: set[str] | frozenset = frozenset()) -> tuple[list, float, dict]:
    """One verifier over ``records`` in ``mode``. self_reference: the records whose solver gave an
    answer (and whose problem is not in ``flagged``) are scored with the solver's solution as the
    reference; the others by a reference-free verifier that sees neither reference nor gold."""
    if mode != "self_reference":
        verifier = MathVerifier(VerifierConfig(**cfg_kwargs, first_error_reference=mode == "with_reference"))
        warm_up(verifier)
        results, secs = run_pass(verifier, records, batch_size)
        return results, secs, verifier.cache_stats()
    answered = [i for i, r in enumerate(records) if usable_solver(r, flagged)]
    rest = [i for i in range(len(records)) if i not in set(answered)]
    results: list = [None] * len(records)
    secs, stats = 0.0, Counter()
    for idx, ref in ((answered, True), (rest, False)):
        if not idx:
            continue
        verifier = MathVerifier(VerifierConfig(**cfg_kwargs, first_error_reference=ref,
                                               reference_plain_math=ref and solver_style == "plain"))
        warm_up(verifier)
        part, t = run_pass(verifier, [records[i] for i in idx], batch_size, source="solver" if ref else "none")
        for i, res in zip(idx, part, strict=True):
            results[i] = res
        secs += t
        stats.update(verifier.cache_stats())
    return results, secs, dict(stats)


def cache_state(stats: dict) -> str:
    """``warm`` when the pass computed no embedding and no NLI pair, ``cold`` when it computed more
    than it read from the caches, else ``mixed``."""
    computed = stats.get("sentences_encoded", 0) + stats.get("nli_pairs_computed", 0)
    reused = stats.get("embedding_hits", 0) + stats.get("nli_hits", 0)
    return "warm" if computed == 0 else "cold" if computed > reused else "mixed"


def mode_report(records: list[dict], preds: list[int], kinds: list[str | None]) -> dict:
    """Metrics, confusion, the error kinds found and the per-record predictions of one pass."""
    labels = [r["label"] for r in records]
    return {**metrics(labels, preds), "confusion_true_vs_pred": confusion(labels, preds),
            "kinds_on_erroneous": dict(Counter(k for k, y in zip(kinds, labels, strict=True) if y >= 0)),
            "kinds_exact": dict(Counter(k for k, y, p in zip(kinds, labels, preds, strict=True) if y >= 0 and p == y)),
            "kinds_false_alarms": dict(Counter(k for k, y, p in zip(kinds, labels, preds, strict=True) if y < 0 and p >= 0)),
            "predicted_steps": dict(zip((r["id"] for r in records), preds, strict=True))}


def baselines(records: list[dict], answer_correct: list[bool]) -> dict:
    """The trivial baselines from the answer check alone: ``-1`` when it is right, else step 0 (or 1)."""
    labels = [r["label"] for r in records]
    return {f"baseline_answer_then_step_{k}": metrics(labels, [-1 if a else min(k, len(r["steps"]) - 1)
                                                              for a, r in zip(answer_correct, records, strict=True)])
            for k in (0, 1)}


def evaluate(split: str, records: list[dict], fine_channel: str, batch_size: int, cache_dir: str | None = None,
             modes: tuple[str, ...] = ("with_reference", "reference_free"), solver_style: str = "plain",
             solver_check: bool = True, encoder_precision: str = "fp32", step_judge: dict | None = None,
             entries: dict | None = None) -> dict:
    """Every mode of ``modes`` on one split; ``entries`` (when given) receives, per mode, each record's
    evidence and ProcessBench step offsets (what :mod:`processbench_cv` replays)."""
    out: dict = {"split": split, "records": len(records), "fine_channel": fine_channel,
                 "labels": {r["id"]: r["label"] for r in records}}
    if "self_reference" in modes and fine_channel == "gated":
        raise ValueError("self_reference: fine_channel gated reads the answer check, which this mode does not have; use always or never")
    with tempfile.TemporaryDirectory() as tmp:
        cache = cache_dir or tmp
        cfg_kwargs = {"fine_channel": fine_channel, "cache_dir": cache, "encoder_precision": encoder_precision}
        if step_judge is not None:
            cfg_kwargs["step_judge"] = step_judge or None  # {}: the rules alone
        for mode in ("with_reference", "reference_free", "self_reference"):
            if mode not in modes:
                continue
            flagged: set[str] = set()
            if mode == "self_reference" and solver_check:
                flagged, check_secs, check_stats = check_solver(records, cfg_kwargs, batch_size)
            pairs, secs, stats = _mode_pass(mode, cfg_kwargs, records, batch_size, solver_style, flagged)
            results = [res for res, _ in pairs]
            preds = [to_step(res.first_error_span, joined(r["steps"])[1]) for r, res in zip(records, results, strict=True)]
            out[mode] = {**mode_report(records, preds, [res.first_error_kind for res in results]),
                         "seconds": round(secs, 2), "samples_per_s": round(len(records) / secs, 2),
                         "cache_stats": stats, "cache": cache_state(stats)}
            if entries is not None:
                entries[mode] = [{"pb_starts": joined(r["steps"])[1], "evidence": ev} for r, (_, ev) in zip(records, pairs, strict=True)]
            if mode == "self_reference":
                out[mode]["solver"] = solver_breakdown(records, [r["label"] for r in records], preds, flagged)
                if solver_check:
                    out[mode]["solver_check"] = {"seconds": round(check_secs, 2), "cache_stats": check_stats,
                                                 "cache": cache_state(check_stats)}
            if mode == "with_reference":
                out.update(baselines(records, [res.answer_correct for res in results]))
    return out


def _print_mode(split: str, mode: str, m: dict) -> None:
    speed = f"| {m['samples_per_s']:.2f}/s ({m['cache']}) " if "samples_per_s" in m else ""
    print(f"{split:6s} {mode:15s} err {m['acc_erroneous']:5.1f} cor {m['acc_correct']:5.1f} F1 {m['f1']:5.1f} "
          f"{speed}| {m['erroneous_outcome']} | kinds {m['kinds_on_erroneous']}")
    if "solver" in m:
        print(f"{split:6s} {mode:15s} solver {m['solver']}")


def _replay_split(split: str, saved: dict, records: list[dict]) -> dict:
    """A split's report from recorded evidence (no encoder, no NLI): the rule table as it is now."""
    out: dict = {"split": split, "records": len(records), "replayed": True, "labels": {r["id"]: r["label"] for r in records}}
    for mode, entries in saved["modes"].items():
        fes = [locate(e["evidence"]) for e in entries]
        preds = [-1 if fe.index is None else cv.to_step(e["evidence"].starts[fe.index], e["pb_starts"]) for fe, e in zip(fes, entries, strict=True)]
        out[mode] = mode_report(records, preds, [fe.kind for fe in fes])
        if mode == "with_reference":
            out.update(baselines(records, [bool(e["evidence"].answer_correct) for e in entries]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", nargs="+", default=["gsm8k", "math"], choices=["gsm8k", "math"])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder (gsm8k/, math/, processbench/)")
    ap.add_argument("--fine_channel", default="always", choices=["gated", "always", "never"])
    ap.add_argument("--limit", type=int, default=None, help="first N records per split (quick runs)")
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--encoder_precision", default="fp32", choices=["fp32", "bf16"],
                    help="VerifierConfig.encoder_precision (bf16: about 2x faster cold on CPUs with native bf16)")
    ap.add_argument("--cache_dir", default=None, help="keep the verifier caches here (default: a fresh temporary folder: cold)")
    ap.add_argument("--modes", nargs="+", default=["with_reference", "reference_free"],
                    choices=["with_reference", "reference_free", "self_reference"])
    ap.add_argument("--solver_samples", type=Path, nargs="+", default=[],
                    help="samples.jsonl files of `cli.py eval` on the split's problems (mode self_reference)")
    ap.add_argument("--solver_reference", default="plain", choices=["plain", "raw"],
                    help="self_reference: the solver's LaTeX arithmetic read as plain text (plain: VerifierConfig.reference_plain_math) or as written (raw)")
    ap.add_argument("--solver_check", default="on", choices=["on", "off"],
                    help="self_reference: do not use a solver solution that the rules alone flag (on)")
    ap.add_argument("--write_problems", type=Path, default=None,
                    help="only write each split's distinct problems to DIR/<split>_problems.jsonl (the solver's input) and stop")
    ap.add_argument("--step_judge", action="append", default=[],
                    help="VerifierConfig.step_judge as JSON ({class_path, init_args}; none: the rules alone; default: the "
                         "config's default judge); with --replay and --folds it may be given several times: the judge and its "
                         "threshold are chosen across folds")
    ap.add_argument("--folds", type=int, default=0, help="k-fold cross-validation by problem: F1 per fold, mean +- sd")
    ap.add_argument("--ablate", action="store_true", help="switch each rule off in turn: its F1 contribution per fold")
    ap.add_argument("--select", action="store_true", help="with --folds: rules kept only where they pay, chosen on k-1 folds, F1 on the k-th")
    ap.add_argument("--save_evidence", type=Path, default=None, help="write every record's first-error evidence here (for --replay)")
    ap.add_argument("--replay", type=Path, default=None, help="read the evidence of --save_evidence instead of running the verifier")
    ap.add_argument("--predictions", type=Path, default=None, help="cross-validate the predictions of an --out file (another code version) instead")
    ap.add_argument("--diff", type=Path, nargs=2, default=None, metavar=("A", "B"), help="list the records whose prediction differs between two --out files")
    args = ap.parse_args(argv)
    if args.diff:
        print("\n".join(cv.diff_predictions(*args.diff)) or "no record differs")
        return 0
    if args.write_problems:
        for split in args.splits:
            print(write_problems(split, load_split(split, args.data, args.limit), args.write_problems))
        return 0
    if "self_reference" in args.modes and not args.solver_samples:
        ap.error("--modes self_reference needs --solver_samples (see benchmarks/processbench_solver.sh)")
    if (args.ablate or args.select) and not args.folds:
        ap.error("--ablate and --select need --folds K")
    solver = load_solver(args.solver_samples) if args.solver_samples else {}
    saved = cv.load_evidence(args.replay) if args.replay else {}
    judge_specs = [{} if j == "none" else json.loads(j) for j in args.step_judge]
    if len(judge_specs) > 1 and not (args.replay and args.folds):
        ap.error("several --step_judge need --replay and --folds")
    judge_spec = judge_specs[0] if judge_specs else None
    if saved and judge_specs:
        cv.score_with_judges(saved, [j for j in judge_specs if j])
    given = json.loads(args.predictions.read_text(encoding="utf-8")) if args.predictions else None
    report = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "splits": []}
    evidence: dict = {}
    contexts: list = []
    for split in args.splits:
        records = load_split(split, args.data, args.limit)
        for r in records:
            r["solver"] = solver.get(_norm(r["problem"]))
        entries: dict = {}
        if given is not None:
            res = next(s for s in given["splits"] if s["split"] == split)
        elif args.replay:
            entries = saved[split]["modes"]
            res = _replay_split(split, saved[split], records)
        else:
            res = evaluate(split, records, args.fine_channel, args.batch_size, args.cache_dir, tuple(args.modes),
                           args.solver_reference, args.solver_check == "on", args.encoder_precision,
                           judge_spec, entries)
        evidence[split] = {"modes": entries}
        report["splits"].append(res)
        modes = [m for m in ("with_reference", "reference_free", "self_reference") if m in res]
        for mode in modes:
            _print_mode(split, mode, res[mode])
        for b in ("baseline_answer_then_step_0", "baseline_answer_then_step_1") if "with_reference" in res else ():
            print(f"{split:6s} {b}: F1 {res[b]['f1']} (err {res[b]['acc_erroneous']}, cor {res[b]['acc_correct']})")
        if args.folds:
            res["cv"] = cv.cv_lines(split, records, res, modes, args.folds)
            judged = (saved[split].get("judged") if args.replay
                      else {cv.judge_name(judge_spec): entries} if judge_spec else None)
            contexts += (cv.make_contexts(split, records, entries, args.folds, judged)
                         if (args.ablate or args.select or judge_spec) else [])
    if contexts and (args.ablate or args.select):
        report["rules"] = cv.rule_report(contexts, args.folds, args.ablate, args.select)
    if contexts and judge_spec and contexts[0].judged:
        report["step_judge"] = cv.judge_report(contexts, args.folds)
    if args.save_evidence and not args.replay:
        cv.save_evidence(args.save_evidence, evidence)
    if args.out:
        write_json(args.out, report)
    return 0


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
