"""MathVerifier throughput on 2 CPU cores: fast channel alone and fast + fine, cold and warm cache.

Data: GSM8K-length solutions (the GPT-3 samples of shared/data/sampled_solutions; 4 solutions per
question, so questions and reference steps repeat as they do when a policy is sampled k times).

Protocol, per setting (``fine_channel`` = never | always | gated):

* **cold**: a fresh, empty cache folder; a new MathVerifier; the encoder weights and the answer
  checker are loaded and warmed up first (on texts outside the data), so the timing is scoring only.
* **warm**: a *new* MathVerifier on the same cache folder (a later run of the pipeline): every
  embedding and NLI probability comes from sqlite.

The 2-core box is shared with other jobs, so every setting is run ``--repeats`` times (interleaved)
and the median and the best run are reported together with the 1-minute load average. The CPU time
of the process is reported too (``samples_per_cpu_s``: samples per second of CPU time used by this
process, all its threads together); unlike wall-clock throughput it hardly depends on the other jobs
when the encoder runs one thread (with two threads, the time spent spinning at OpenMP barriers while
the other thread is descheduled counts as CPU time too).

Encoder: ``--encoder_threads auto`` (the default of :class:`MiniLMEncoder`: one thread or all of
torch's threads per forward batch, whichever is faster at the moment), ``torch`` (torch's setting,
the behaviour before the adaptive choice) or a number; ``--encoder_precision fp32|bf16`` (``VerifierConfig.encoder_precision``;
the packaged NLI heads take the bf16 features too).

    HF_HUB_OFFLINE=1 python benchmarks/verifier_speed.py --questions 200 --batch_size 64
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hn_lightning.verifier import MathVerifier, MiniLMEncoder, VerifierConfig, VerifierInput  # noqa: E402
from hn_lightning.verifier.gpt3_samples import load_samples, machine  # noqa: E402


def _run(inputs: list[VerifierInput], cfg: VerifierConfig, encoder: MiniLMEncoder, batch_size: int) -> dict:
    verifier = MathVerifier(cfg, encoder=encoder)
    # warm up the answer checker (sympy/LaTeX parser import) and the NLI head load, off the clock
    verifier.answers.score("The answer is 3.", "3", "What is 1+2?")
    if cfg.fine_channel != "never":
        verifier.nli  # noqa: B018 - loads the head
    verifier.reset_stats()
    t0, c0 = time.perf_counter(), time.process_time()
    results = []
    for i in range(0, len(inputs), batch_size):
        results.extend(verifier.score_batch(inputs[i:i + batch_size]))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    stages = {}
    for key in ("steps", "answer", "embed", "semantic", "embed_conditions", "alignment", "symbolic", "logic_plan", "nli", "logic",
                "step_judge", "first_error"):
        vals = [r.timing_ms[key] for r in results if key in r.timing_ms]
        if vals:
            stages[key] = round(statistics.fmean(vals), 3)
    return {
        "samples": len(results),
        "seconds": round(elapsed, 2),
        "samples_per_s": round(len(results) / elapsed, 1),
        "cpu_seconds": round(cpu, 2),
        "samples_per_cpu_s": round(len(results) / cpu, 1),
        "fine_channel_runs": sum(r.fine_channel_run for r in results),
        "mean_stage_ms_per_sample": stages,
        "cache": verifier.cache_stats(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=200, help="questions (x4 samples each)")
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--settings", default="never,always,gated")
    ap.add_argument("--repeats", type=int, default=3, help="the box is shared: repeat and report median and best")
    ap.add_argument("--encoder_threads", default="auto", help="auto | torch | N (see the module doc)")
    ap.add_argument("--encoder_precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "verifier_speed.json")
    args = ap.parse_args(argv)

    inputs, _ = load_samples(args.questions)
    threads = {"auto": "auto", "torch": None}.get(args.encoder_threads) if args.encoder_threads in ("auto", "torch") \
        else int(args.encoder_threads)
    encoder = MiniLMEncoder(batch_size=64, num_threads=threads, precision=args.encoder_precision)
    encoder.encode(["warm-up sentence that is not in the data"])  # load weights off the clock
    report = {"command": "python benchmarks/verifier_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine_start": machine(), "samples": len(inputs),
              "batch_size": args.batch_size,
              "encoder": {"fingerprint": encoder.fingerprint, "num_threads": args.encoder_threads,
                          "precision": args.encoder_precision, "forward_batch": encoder.batch_size},
              "runs": {}}
    for rep in range(args.repeats):
        for setting in args.settings.split(","):
            with tempfile.TemporaryDirectory(prefix="verifier-bench-") as cache:
                cfg = VerifierConfig(fine_channel=setting, cache_dir=cache)
                load_before = os.getloadavg()[0]
                cold = _run(inputs, cfg, encoder, args.batch_size)
                warm = _run(inputs, cfg, encoder, args.batch_size)
                cold["loadavg_1min_before"] = round(load_before, 2)
                warm["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
            report["runs"].setdefault(setting, []).append({"cold": cold, "warm": warm})
            print(f"[{rep + 1}/{args.repeats}] {setting:>6}: cold {cold['samples_per_s']:7.1f} samples/s "
                  f"({cold['samples_per_cpu_s']:.1f}/cpu-s)   "
                  f"warm {warm['samples_per_s']:7.1f} samples/s   fine runs {cold['fine_channel_runs']}/{cold['samples']}   "
                  f"load {load_before:.1f}", flush=True)
    report["summary"] = {
        setting: {
            **{f"{phase}_samples_per_s_{stat}": fn([r[phase]["samples_per_s"] for r in runs])
               for phase in ("cold", "warm") for stat, fn in (("median", statistics.median), ("best", max))},
            "cold_samples_per_cpu_s_median": statistics.median([r["cold"]["samples_per_cpu_s"] for r in runs]),
            "cold_loadavg_1min_before": [r["cold"]["loadavg_1min_before"] for r in runs],
        }
        for setting, runs in report["runs"].items()
    }
    report["machine_end"] = machine()
    report["encoder"]["forward_batches_by_thread_count"] = {str(k): v for k, v in sorted(encoder.threads.batches.items())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
