"""The self_reference mode of ``benchmarks/processbench.py``: a solver model's solutions stand in for the
missing references (loaded from ``cli.py eval`` samples), checked by the reference-free rules first."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from processbench_cv import _norm

from hn_lightning.verifier import MathVerifier, VerifierConfig, VerifierInput

__all__ = ["UNKNOWN_GOLD", "check_solver", "load_solver", "solver_breakdown", "usable_solver", "warm_up", "write_problems"]


def load_solver(paths: list[Path]) -> dict[str, dict]:
    """``{normalized question: sample}`` from ``cli.py eval`` samples files (the first sample of a
    question wins; a sample without an extracted answer is kept, it means "no answer")."""
    out: dict[str, dict] = {}
    for path in paths:
        for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
            try:
                r = json.loads(line)
                key, completion = _norm(r["question"]), r["completion"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a `cli.py eval` sample ({exc})") from None
            out.setdefault(key, {"completion": completion, "extracted": r.get("extracted"),
                                 "correct": r.get("correct")})
    return out


def write_problems(split: str, records: list[dict], out_dir: Path) -> Path:
    """The split's distinct problems as ``{id, question, answer}`` JSONL, the input of ``cli.py eval``
    for a solver (``answer`` is the real gold: the eval scores the solver with it; the verifier never
    sees it in self_reference mode)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path, seen, lines = out_dir / f"{split}_problems.jsonl", set(), []
    for r in records:
        key = _norm(r["problem"])
        if key not in seen:
            seen.add(key)
            gold = r["gold"] if isinstance(r["gold"], str) else r["gold"][0]
            lines.append(json.dumps({"id": r["id"], "question": r["problem"], "answer": gold}))
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


UNKNOWN_GOLD = "?"
"""The gold of a reference-free pass that must not see the truth (self_reference's fallback records):
a placeholder, since the reference-free first-error stage reads no answer (``fine_channel: gated``, whose
gate does, is refused in that mode)."""


def warm_up(verifier: MathVerifier) -> None:
    """Load the encoder and the NLI heads (one-time start-up, not part of the per-sample speed); the
    warm-up sample shares no text with the benchmark records, so their cache stays cold."""
    verifier.score(VerifierInput(id="warm-up", question="Tom has 3 apples and buys 2. How many?",
                                 reference="3 + 2 = 5\n#### 5", gold="5", prediction="He has 3 + 2 = 5 apples. The answer is 5."))
    verifier.reset_stats()


def check_solver(records: list[dict], cfg_kwargs: dict, batch_size: int) -> tuple[set[str], float, dict]:
    """Score each distinct solver solution reference-free (the rules alone: slips, numbers from nowhere,
    ...). Returns the normalized problems whose solution has a first error found (not used as a
    reference: one the verifier itself finds wrong would mislead it), the wall seconds and the cache
    stats of this check."""
    rows = list({_norm(r["problem"]): r for r in records if r.get("solver") and r["solver"]["extracted"]}.values())
    verifier = MathVerifier(VerifierConfig(**{**cfg_kwargs, "step_judge": None}, first_error_reference=False))
    warm_up(verifier)
    t0 = time.perf_counter()
    flagged: set[str] = set()
    for i in range(0, len(rows), batch_size):
        chunk = rows[i:i + batch_size]
        results = verifier.score_batch([VerifierInput(id=f"solver-{r['id']}", question=r["problem"], reference="",
                                                      gold=UNKNOWN_GOLD, prediction=r["solver"]["completion"])
                                        for r in chunk])
        flagged |= {_norm(r["problem"]) for r, res in zip(chunk, results, strict=True) if res.first_error_step is not None}
    return flagged, time.perf_counter() - t0, verifier.cache_stats()


def usable_solver(r: dict, flagged: set[str] | frozenset = frozenset()) -> bool:
    """The record's solver gave an answer and its solution was not flagged by :func:`check_solver`."""
    s = r.get("solver")
    return bool(s and s["extracted"] and _norm(r["problem"]) not in flagged)


def solver_breakdown(records: list[dict], labels: list[int], preds: list[int], flagged: set[str]) -> dict:
    """The solver's accuracy on the records' problems (against the real gold: measurement only) and
    the metrics on the records whose problem it solved / got wrong / whose solution was flagged / did
    not answer (F1 is ``None`` in a group with records of one label only)."""
    groups: dict[str, list[int]] = {"solver_right": [], "solver_wrong": [], "solver_flagged": [], "no_solver_answer": []}
    for i, r in enumerate(records):
        s = r.get("solver")
        key = ("no_solver_answer" if not s or not s["extracted"] else "solver_flagged" if _norm(r["problem"]) in flagged
               else "solver_right" if s["correct"] else "solver_wrong")
        groups[key].append(i)
    problems = {_norm(r["problem"]): r["solver"] for r in records if r.get("solver")}
    right = sum(1 for s in problems.values() if s["correct"])
    marked = Counter(bool(s["correct"]) for key, s in problems.items() if key in flagged)
    out: dict = {"problems": len(problems), "solver_accuracy": round(100 * right / max(1, len(problems)), 1),
                 "solver_solutions_flagged": {"right": marked[True], "wrong": marked[False]}}
    for key, idx in groups.items():
        m = _metrics([labels[i] for i in idx], [preds[i] for i in idx]) if idx else {}
        if m and not (m["n_erroneous"] and m["n_correct"]):
            m["f1"] = None  # one label only: no harmonic mean to take
        out[key] = {"records": len(idx), **m}
    return out




def _metrics(labels: list[int], preds: list[int]) -> dict:
    from processbench import metrics

    return metrics(labels, preds)
