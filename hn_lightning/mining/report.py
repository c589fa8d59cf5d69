"""``report.md``: the funnel, what each threshold removes, the first errors of the hard negatives (kinds
and positions), on testbed problems their ground truth (:mod:`~hn_lightning.mining.truth`), the weight
histogram, example pairs, timings."""

from __future__ import annotations

from typing import Any

from hn_lightning.mining.config import MineConfig
from hn_lightning.mining.filters import DEGENERATE_RULES
from hn_lightning.mining.selection import CRITERIA
from hn_lightning.mining.truth import truth_section
from hn_lightning.reports.items import histogram_bins
from hn_lightning.reports.words import arm_overlap, overlap_sentence

__all__ = ["first_error_tables", "histogram", "render_report", "threshold_rows"]

_RULE_SETTINGS = {
    "empty": "completion blank",
    "truncated": "finish_reason = length (drop_truncated={drop_truncated})",
    "no_answer": "answer checker extracts nothing",
    "repetition": "repeated {repetition_ngram}-gram fraction >= {max_repeated_ngram_fraction} or a char run >= {max_char_run}",
    "nonsensical": "< {min_words} words, alnum < {min_alnum_fraction}, non-ASCII > {max_non_ascii_fraction}",
    "trivially_correct": "answer correct and all dims < {trivially_correct_max_dim}",
    "trivially_wrong": "wrongness > {trivially_wrong_min_wrongness} and absurdity > {trivially_wrong_min_absurdity}",
}
_CRITERION_SETTINGS = {
    "wrong_answer": "final answer wrong (require_wrong_answer={require_wrong_answer})",
    "wrongness_band": "{min_wrongness} <= wrongness <= {max_wrongness}",
    "verified_prefix": "first error located, >= {min_verified_steps} verified steps before it (rule={rule})",
    "elevated_dim": "max({dims}) >= {min_elevated} (rule=dimensions only)",
    "confident": "confidence >= {min_confidence} (missing: {missing_confidence})",
    "close": "(rule=dimensions only) near miss (rel. tol. {near_miss_rel_tol}) or reference coverage >= {min_reference_coverage}, "
             "<= {max_missed_steps} missed steps, s_sem <= {max_sem_for_alignment}",
}


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "-"


def threshold_rows(funnel: dict[str, Any], cfg: MineConfig) -> list[tuple[str, str, int, int, int, int]]:
    """``(rule, setting, removed in sequence, stage input, fails alone, total input)`` per rule/criterion."""
    f, fc, sc = funnel, vars(cfg.filters), vars(cfg.selection)
    rows = []
    for rule in DEGENERATE_RULES:
        st = f["degenerate"]
        rows.append((f"degenerate/{rule}", _RULE_SETTINGS[rule].format(**fc), st["removed_by"][rule], st["input"],
                     st["fails_alone"][rule], f["input"]))
    for name in ("trivially_correct", "trivially_wrong"):
        st = f[name]
        rows.append((name, _RULE_SETTINGS[name].format(**fc), st["removed"], st["input"], st["fails_alone"][name], f["input"]))
    for crit in CRITERIA:
        st = f["selection"]
        rows.append((f"select/{crit}", _CRITERION_SETTINGS[crit].format(dims=", ".join(cfg.selection.elevated_dims), **sc),
                     st["removed_by"][crit], st["input"], st["fails_alone"][crit], f["input"]))
    return rows


def histogram(values: list[float], bins: int = 10, width: int = 40) -> list[str]:
    """A text histogram (one line per bin: range, count, bar)."""
    rows = histogram_bins(values, bins)
    if not rows:
        return ["(no values)"]
    top = max(c for _, _, c in rows)
    return [f"{lo:6.3f}-{hi:6.3f} | {c:5d} {'#' * round(width * c / top) if top else ''}" for lo, hi, c in rows]


def first_error_tables(hard_pairs: list[dict[str, Any]]) -> list[str]:
    """Markdown tables: error kinds and first-error positions (step index and ``step / n_steps``) of
    the rejected sides of the hard-negative pairs."""
    scores = [p.get("scores", {}).get("rejected") or {} for p in hard_pairs]
    kinds: dict[str, int] = {}
    pos: dict[str, int] = {}
    rel = [0] * 5
    for s in scores:
        k, i, n = s.get("first_error_kind"), s.get("first_error_step"), s.get("n_pred_steps") or 0
        kinds[str(k)] = kinds.get(str(k), 0) + 1
        key = "none" if i is None else (str(i + 1) if i < 9 else "10+")
        pos[key] = pos.get(key, 0) + 1
        if i is not None and n > 0:
            rel[min(4, int(5 * i / n))] += 1
    total = len(scores)
    out = ["| error kind | pairs | % |", "| --- | ---: | ---: |"]
    out += [f"| {k} | {v} | {_pct(v, total)} |" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])]
    order = sorted(pos, key=lambda k: (k == "none", k == "10+", int(k) if k.isdigit() else 0))
    out += ["", "| first wrong step (1-based) | pairs |", "| --- | ---: |", *[f"| {k} | {pos[k]} |" for k in order]]
    out += ["", "| first error at step / n_steps | pairs |", "| --- | ---: |",
            *[f"| {i / 5:.1f}-{(i + 1) / 5:.1f} | {c} |" for i, c in enumerate(rel)]]
    return out


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + f" [... {len(text) - n} more chars]"


def _example(pair: dict[str, Any], n: int) -> list[str]:
    s = pair.get("scores", {}).get("rejected") or {}
    dims = ", ".join(f"{k}={s[k]:.2f}" for k in ("s_sem", "s_struct", "s_order", "s_logic", "s_sym", "s_ans") if s.get(k) is not None)
    if s.get("first_error_step") is not None:
        dims += f"; first error: step {s['first_error_step'] + 1} of {s.get('n_pred_steps')} ({s.get('first_error_kind')})"
    conf = f"{s['confidence']:.2f}" if s.get("confidence") is not None else "-"
    ppl = f"{s['ppl']:.2f}" if s.get("ppl") is not None else "-"
    lines = [f"#### `{pair['id']}`", "",
             f"w_raw **{pair['w_raw']:.3f}**; wrongness {s.get('wrongness', 0):.3f}, absurdity {s.get('absurdity', 0):.3f}, "
             f"confidence {conf}, ppl {ppl}; {dims}; chosen from {pair['meta']['chosen_source']}", ""]
    flags = s.get("flags") or []
    if flags:
        lines += ["Verifier flags: " + "; ".join(flags[:4]), ""]
    lines += ["Prompt:", "```text", _cut(pair["prompt"], n), "```", "Chosen:", "```text", _cut(pair["chosen"], n), "```",
              "Rejected:", "```text", _cut(pair["rejected"], n), "```", ""]
    return lines


def render_report(cfg: MineConfig, funnel: dict[str, Any], hard_pairs: list[dict[str, Any]],
                  manifest: dict[str, Any], truth: dict[str, Any] | None = None,
                  random_pairs: list[dict[str, Any]] | None = None) -> str:
    """The Markdown report (``truth``: the content of ``truth.json``, for testbed problems; ``random_pairs``:
    the random arm's pairs, for how many it shares with the hard-negative arm)."""
    f = funnel
    n = f["input"]
    out = [f"# Hard-negative mining report: `{cfg.out}`", ""]
    out += [f"Policy `{cfg.policy.name_or_path}`, candidates `{cfg.candidates.mode}`"
            + (f" (K={cfg.candidates.sampling.num_samples}, T={cfg.candidates.sampling.temperature}, "
               f"top-p={cfg.candidates.sampling.top_p}, max_new_tokens={cfg.candidates.sampling.max_new_tokens})"
               if cfg.candidates.mode == "sample" else "")
            + f", seed {cfg.seed}; {f['problems']} problems, {f['input']} samples "
            f"({f['input_correct']} with a correct final answer, {_pct(f['input_correct'], n)}).", ""]
    out += ["## Funnel", "", "| stage | samples | % of input |", "| --- | ---: | ---: |"]
    rows = [("candidates", n), ("after degenerate removal", f["after_degenerate"]),
            ("after trivially-correct removal", f["after_trivially_correct"]),
            ("after trivially-wrong removal", f["after_trivially_wrong"]),
            ("selected hard negatives", f["hard_negatives"])]
    if "paired" in f:
        rows.append(("paired (hard-negative arm)", f["paired"]))
    out += [f"| {name} | {v} | {_pct(v, n)} |" for name, v in rows]
    ok = all(f["identities"].values())
    out += ["", f"Identities ({'all hold' if ok else 'VIOLATED'}): " + "; ".join(f["identities"]), ""]
    out += ["## What each threshold removes", "",
            "*In sequence*: samples removed by this rule and no earlier one (these add up to the funnel). "
            "*Alone*: samples of the stage's input that fail the rule, whatever else they fail.", "",
            "| rule | setting | removed in sequence | % of stage input | fails alone | % of stage input |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for rule, setting, seq, stage_in, alone, _total in threshold_rows(f, cfg):
        out.append(f"| {rule} | {setting} | {seq} | {_pct(seq, stage_in)} | {alone} | {_pct(alone, stage_in)} |")
    if "arms" in f:
        a = f["arms"]
        out += ["", "## Arms", "", "| arm | pairs | weights | folder |", "| --- | ---: | --- | --- |",
                f"| hard negatives | {a.get('hardneg', 0)} | verifier `w_raw` | `pairs/hardneg` |"]
        if "random" in a:
            short = a.get("random_shortfall", 0)
            out.append(f"| random-uniform | {a['random']} | 1.0 | `pairs/random`"
                       + (f" ({short} short: too few wrong samples with a chosen option)" if short else "") + " |")
        if "shuffled" in a:
            out.append(f"| shuffled weights | {a['shuffled']} | permuted `w_raw` | `pairs/shuffled` |")
        if random_pairs:
            out += ["", overlap_sentence(arm_overlap(hard_pairs, random_pairs))]
    if "pairing" in f:
        p = f["pairing"]
        out += ["", f"Chosen side of the hard-negative pairs: {p['chosen_policy']} policy samples, "
                f"{p['chosen_reference']} reference solutions; {p['no_chosen']} hard negatives had no chosen, "
                f"{p['over_cap']} were over the per-problem cap; {p['problems_with_pairs']} problems have pairs."]
    out += ["", "## First errors of the hard negatives", "",
            "Where the verifier locates the first wrong step of each paired hard negative, and its kind "
            "(`hn_lightning.verifier.first_error`); the nearer the end, the harder the negative.", ""]
    out += first_error_tables(hard_pairs) if hard_pairs else ["(no hard-negative pairs)"]
    if truth is not None:
        out += ["", *truth_section(truth)]
    weights = [p["w_raw"] for p in hard_pairs]
    out += ["", "## w_raw of the hard-negative pairs", ""]
    if weights:
        mean = sum(weights) / len(weights)
        out.append(f"n={len(weights)}, mean {mean:.3f}, min {min(weights):.3f}, max {max(weights):.3f}")
    out += ["", "```text", *histogram(weights, cfg.report.histogram_bins), "```", ""]
    stages = manifest.get("stages", {})
    if stages:
        out += ["## Timing", "", "| stage | seconds | counts |", "| --- | ---: | --- |"]
        for name, st in stages.items():
            counts = ", ".join(f"{k}={v}" for k, v in (st.get("counts") or {}).items() if not isinstance(v, (dict, list)))
            out.append(f"| {name} | {st.get('seconds', 0):.1f} | {counts} |")
        out.append("")
    if hard_pairs and cfg.report.examples > 0:
        out += ["## Example pairs", ""]
        step = max(1, len(hard_pairs) // cfg.report.examples)
        for pair in hard_pairs[::step][: cfg.report.examples]:
            out += _example(pair, cfg.report.max_example_chars)
    return "\n".join(out) + "\n"
