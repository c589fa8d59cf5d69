"""The speeds that size the testbed experiment (docs/testbed.md), with the load they were taken under.

    python benchmarks/testbed_speed.py eval --model runs/sft_testbed/hf_model --batch_sizes 16,32,64 --n 128
    python benchmarks/testbed_speed.py mine --model runs/sft_testbed/hf_model --problems 32
    python benchmarks/testbed_speed.py dpo --pairs runs/testbed_speed/mine/pairs/hardneg --model runs/sft_testbed/hf_model
    python benchmarks/testbed_speed.py sft --steps 6

* ``eval``: greedy generation with the calculator on the first ``--n`` problems of ``testbed:test`` (the
  ``sft-system`` prompt, as ``eval --prompt sft-system --calculator``) at each batch size (``--attn eager``:
  eager attention; with ``--controls`` also one run without the calculator (its overhead) and one with
  ``max_new_tokens=1`` (the prompt's prefill share));
* ``mine``: ``cli.py mine --config configs/mine_testbed.yaml`` on ``--problems`` train problems (K=4,
  calculator, verifier fine channel with reference): samples/s of sampling and of scoring;
* ``dpo``: ``cli.py fit`` of ``configs/dpo_demo.yaml`` on testbed pairs (the SFT model as policy and
  reference, LoRA, 4 pairs per step): s/step;
* ``sft``: ``cli.py fit`` of ``configs/sft_testbed.yaml`` for ``--steps`` steps: s/step.

Every measurement records wall seconds, the process CPU seconds (``process_time`` / children's rusage:
on a shared machine the CPU seconds of a one-thread run are close to its idle wall time) and ``uptime``
before and after. Results go to ``--out``/``speed_<what>.json``. For an idle re-run use the same commands
on an idle machine with the default threads (``OMP_NUM_THREADS`` unset: torch takes every core).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Clock:
    """Wall and CPU seconds of this process and its children between ``start`` and ``stop``."""

    def __enter__(self):
        self.load_before = uptime()
        self.wall, self.cpu, self.kids = time.perf_counter(), time.process_time(), _children_cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu + _children_cpu() - self.kids
        self.load_after = uptime()

    def as_dict(self) -> dict:
        return {"wall_s": round(self.wall, 2), "cpu_s": round(self.cpu, 2), "uptime_before": self.load_before,
                "uptime_after": self.load_after}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_eval(args) -> dict:
    import torch

    from hn_lightning.catalog import resolve_data_file
    from hn_lightning.evaluation.generate import GenerationConfig, generate
    from hn_lightning.evaluation.prompts import build_prompt
    from hn_lightning.io import iter_jsonl
    from hn_lightning.models import ModelConfig, load_for_inference, resolve_model_dir

    model_dir = resolve_model_dir(args.model)
    model, tok = load_for_inference(ModelConfig(name_or_path=str(model_dir), dtype="auto", attn_implementation=args.attn),
                                    model_dir)
    records = [r for _, r in iter_jsonl(resolve_data_file("testbed:test"))][: args.n]
    prompts = [build_prompt("sft-system", r["question"]) for r in records]
    prompt_tokens = sum(len(tok(p)["input_ids"]) for p in prompts)
    out = {"model": args.model, "n": len(prompts), "threads": torch.get_num_threads(), "attn": args.attn,
           "prompt_tokens": prompt_tokens, "runs": []}
    generate(model, tok, prompts[:4], GenerationConfig(max_new_tokens=8, batch_size=4, calculator=True))  # warm-up
    plan = [(bs, True, args.max_new_tokens) for bs in args.batch_sizes]
    if args.controls:  # without the calculator (its overhead), and the prompts' prefill alone
        plan += [(args.batch_sizes[0], False, args.max_new_tokens), (args.batch_sizes[0], True, 1)]
    for bs, calc, max_new in plan:
        with Clock() as clock:
            gens = generate(model, tok, prompts, GenerationConfig(max_new_tokens=max_new, batch_size=bs, calculator=calc))
        tokens = sum(g[0].num_tokens for g in gens)
        run = {"batch_size": bs, "calculator": calc, "max_new_tokens": max_new, "tokens": tokens, **clock.as_dict(),
               "problems_per_s": round(len(prompts) / clock.wall, 3), "problems_per_cpu_s": round(len(prompts) / clock.cpu, 3),
               "tokens_per_s": round(tokens / clock.wall, 1)}
        out["runs"].append(run)
        print(json.dumps(run), flush=True)
    return out


def bench_mine(args) -> dict:
    out_dir = Path(args.out) / "mine"
    cmd = [sys.executable, str(REPO / "cli.py"), "mine", "--config", str(REPO / "configs" / "mine_testbed.yaml"),
           "--out", str(out_dir), "--policy.name_or_path", args.model, "--problems.limit", str(args.problems),
           "--progress", "false"]
    with Clock() as clock:
        subprocess.run(cmd, check=True)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    funnel = json.loads((out_dir / "funnel.json").read_text())
    samples = args.problems * 4
    stages = {k: v.get("seconds") for k, v in manifest.get("stages", {}).items()}
    return {"problems": args.problems, "samples": samples, "stage_seconds": stages, **clock.as_dict(),
            "samples_per_s_sampling": round(samples / stages["candidates"], 3) if stages.get("candidates") else None,
            "samples_per_s_scoring": round(samples / stages["score"], 3) if stages.get("score") else None,
            "samples_per_s_all": round(samples / clock.wall, 3), "funnel": funnel}


def _fit(config: str, out_dir: Path, steps: int, overrides: list[str]) -> dict:
    """``cli.py fit`` for ``steps`` steps into ``out_dir``: the time of each step, the wall and CPU seconds."""
    import csv

    cmd = [sys.executable, str(REPO / "cli.py"), "fit", "--config", str(REPO / "configs" / config), *overrides,
           "--trainer.max_steps", str(steps), "--trainer.default_root_dir", str(out_dir),
           "--trainer.logger", json.dumps([{"class_path": "lightning.pytorch.loggers.CSVLogger",
                                             "init_args": {"save_dir": str(out_dir), "name": "csv"}}]),
           "--trainer.callbacks", "[]", "--trainer.enable_checkpointing", "false", "--export.out_dir", str(out_dir / "hf_model")]
    with Clock() as clock:
        subprocess.run(cmd, check=True)
    rows = list(csv.DictReader(open(sorted(out_dir.glob("csv/version_*/metrics.csv"))[-1])))
    times = [float(r["train/time"]) for r in rows if r.get("train/time")]
    tokens = [float(r["train/tokens"]) for r in rows if r.get("train/tokens")]
    step_s = [b - a for a, b in zip([0.0, *times], times)]
    return {"steps": steps, "step_seconds": [round(s, 2) for s in step_s], "tokens_per_step": round(tokens[-1] / len(tokens), 1),
            "s_per_step_after_first": round(sum(step_s[1:]) / max(1, len(step_s) - 1), 2) if len(step_s) > 1 else None,
            **clock.as_dict()}


def bench_dpo(args) -> dict:
    return _fit("dpo_demo.yaml", Path(args.out) / "dpo", args.steps,
                ["--model.init_args.model.name_or_path", args.model, "--data.init_args.train_files", json.dumps([args.pairs])])


def bench_sft(args) -> dict:
    return _fit("sft_testbed.yaml", Path(args.out) / "sft", args.steps, [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["eval", "mine", "dpo", "sft"])
    ap.add_argument("--model", default="runs/sft_testbed/hf_model")
    ap.add_argument("--n", type=int, default=128, help="eval: problems per run")
    ap.add_argument("--batch_sizes", type=lambda s: [int(x) for x in s.split(",")], default=[16, 32, 64])
    ap.add_argument("--max_new_tokens", type=int, default=256)
    ap.add_argument("--attn", default="auto", help="eval: attention implementation (auto = sdpa on a CPU; eager)")
    ap.add_argument("--controls", action="store_true", help="eval: also without the calculator, and prefill alone")
    ap.add_argument("--problems", type=int, default=32, help="mine: train problems (x4 samples)")
    ap.add_argument("--pairs", default="runs/testbed_speed/mine/pairs/hardneg", help="dpo: pairs folder or file")
    ap.add_argument("--steps", type=int, default=6, help="dpo, sft: optimizer steps")
    ap.add_argument("--out", default="runs/testbed_speed")
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    result = {"eval": bench_eval, "mine": bench_mine, "dpo": bench_dpo, "sft": bench_sft}[args.what](args)
    result["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    path = Path(args.out) / f"speed_{args.what}{'_' + args.attn if args.what == 'eval' else ''}.json"
    path.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "funnel"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
