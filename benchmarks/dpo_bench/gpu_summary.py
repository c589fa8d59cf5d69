"""Summary of ``benchmarks/gpu_check.sh``: environment, test results and DPO throughput in one JSON and
one Markdown file (``gpu_check.json``, ``gpu_check.md`` in the output folder)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path


def test_counts(junit: Path) -> dict:
    """Counts from a pytest JUnit XML file (``{}`` when it is missing)."""
    if not junit.is_file():
        return {}
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    keys = ("tests", "failures", "errors", "skipped", "time")
    counts = {k: float(suite.get(k, 0)) if k == "time" else int(suite.get(k, 0)) for k in keys}
    failed = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None]
    skipped = [f"{case.get('name')}: {case.find('skipped').get('message', '')}"[:200] for case in suite.iter("testcase")
               if case.find("skipped") is not None]
    return {**counts, "failed": failed, "skipped_reasons": skipped}


def throughput_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    doc = json.loads(path.read_text())
    keep = ("framework", "finetuning", "packing", "pairs_per_s", "tokens_per_s", "padding_fraction", "peak_gib",
            "step_s", "precision", "skipped", "error")
    return [{k: r[k] for k in keep if k in r} for r in doc["invocations"][-1]["rows"]]


def ratio(rows: list[dict], a: str, b: str, key: str) -> float | None:
    ra = next((r for r in rows if r.get("framework") == a and key in r), None)
    rb = next((r for r in rows if r.get("framework") == b and key in r), None)
    return round(ra[key] / rb[key], 3) if ra and rb and rb[key] else None


def sampler_section(path: Path, exit_code: int | None) -> dict:
    """Rows of ``benchmarks/sampler_engines.py`` (engine, mode, wall s, tokens, tokens/s, speed vs hf)."""
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    return {"exit_code": exit_code, "rows": rows,
            "cb_over_hf_tokens_per_s": {r["mode"]: r.get("speed_vs_hf") for r in rows if r["engine"] == "cb"}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    for name in ("--out", "--tests", "--tokenizer", "--shape"):
        p.add_argument(name, required=True)
    for name in ("--dry_run", "--tests_rc", "--model_rc", "--bench_rc", "--seconds"):
        p.add_argument(name, type=int, required=True)
    p.add_argument("--sampler_rc", type=int, default=None, help="exit code of benchmarks/sampler_engines.py (absent: not run)")
    args = p.parse_args()
    out = Path(args.out)
    env = json.loads((out / "work" / "env.json").read_text()) if (out / "work" / "env.json").is_file() else {}
    rows = throughput_rows(out / "dpo_throughput.json")
    trl_row = next((r for r in rows if r.get("framework") == "trl"), {})
    summary = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "dry_run": bool(args.dry_run),
        "seconds": args.seconds,
        "device": env.get("gpu") or "CPU (no CUDA)",
        "environment": env,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "tests": {"command": f"pytest {args.tests}", "exit_code": args.tests_rc, "tokenizer": args.tokenizer,
                  **test_counts(out / "pytest.xml")},
        "throughput": {"model": f"random-init {args.shape}", "model_exit_code": args.model_rc, "exit_code": args.bench_rc,
                       "rows": rows,
                       "packed_over_padded_pairs_per_s": ratio(rows, "ours-packed", "ours", "pairs_per_s"),
                       "packed_over_padded_peak": ratio(rows, "ours-packed", "ours", "peak_gib"),
                       "ours_over_trl_pairs_per_s": ratio(rows, "ours", "trl", "pairs_per_s"),
                       "ours_over_trl_peak": ratio(rows, "ours", "trl", "peak_gib"),
                       "packed_over_trl_pairs_per_s": ratio(rows, "ours-packed", "trl", "pairs_per_s"),
                       "trl": trl_row.get("skipped") or trl_row.get("error") or "ran"},
        "sampler": sampler_section(out / "sampler_engines.json", args.sampler_rc),
        "ok": args.tests_rc == 0 and args.model_rc == 0 and args.bench_rc == 0 and args.sampler_rc in (None, 0),
    }
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
    t, th = summary["tests"], summary["throughput"]
    md = [f"# GPU check{' (dry run, CPU sizes)' if args.dry_run else ''}: {'OK' if summary['ok'] else 'FAILED'}", "",
          f"{summary['date']}, {summary['device']}, {args.seconds} s, load average {summary['loadavg']}.", "",
          "Packages: " + ", ".join(f"{k} {v or 'missing'}" for k, v in env.get("packages", {}).items()) + ".", "",
          f"## Tests (exit {t['exit_code']})", "", f"`{t['command']}`: {t.get('tests', '?')} tests, "
          f"{t.get('failures', '?')} failed, {t.get('errors', '?')} errors, {t.get('skipped', '?')} skipped "
          f"({t.get('time', 0):.0f} s). Tokenizer: {t['tokenizer']}.", ""]
    md += [f"- failed: `{name}`" for name in t.get("failed", [])]
    md += ["", f"## DPO throughput, {th['model']} (exit {th['exit_code']})", "",
           "| framework | finetuning | pairs/s | non-pad tok/s | padding | peak GiB | step s | note |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        note = r.get("skipped") or (r.get("error") or "")[:120]
        cells = [r.get("framework"), r.get("finetuning"), r.get("pairs_per_s"), r.get("tokens_per_s"),
                 f"{100 * r['padding_fraction']:.1f}%" if "padding_fraction" in r else None, r.get("peak_gib"), r.get("step_s"), note]
        md.append("| " + " | ".join("-" if c in (None, "") else str(c) for c in cells) + " |")
    md += ["", f"packed / padded pairs/s: {th['packed_over_padded_pairs_per_s']}, peak: {th['packed_over_padded_peak']}; "
           f"ours / TRL pairs/s: {th['ours_over_trl_pairs_per_s']}, peak: {th['ours_over_trl_peak']}; TRL: {th['trl']}.",
           ""]
    sm = summary["sampler"]
    md += [f"## Sampler engines, random-init {args.shape} (exit {sm['exit_code']})", "",
           "| mode | engine | wall s | tokens | tokens/s | vs hf |", "|---|---|---:|---:|---:|---:|"]
    md += [f"| {r['mode']} | {r['engine']} | {r['seconds']} | {r['tokens']} | {r['tokens_per_s']} | {r.get('speed_vs_hf')} |"
           for r in sm["rows"]]
    md += ["", "Full tables: `dpo_throughput.md`, `sampler_engines.md`; logs: `work/`."]
    (out / "gpu_check.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
