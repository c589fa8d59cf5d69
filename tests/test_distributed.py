"""Two processes on the CPU (gloo), launched through the CLI as a user would
(``--config configs/strategy/ddp.yaml --trainer.devices 2``), against one process with the same global batch.

* DPO with verifier weights: the same first (and second) optimizer update, parameters to float tolerance,
  the same logged weight statistics, loss and reward accuracy (gathered over ranks), and a 2-rank
  reference precompute that fills a cache identical to the 1-rank one;
* SFT: the same first update (2 ranks x 1 micro-batch = 1 process x 2 accumulated micro-batches);
* ``kill -9`` of one rank mid-run: the survivor exits with one clear line (exit code 3), and resuming both
  ranks from the last checkpoint reproduces the uninterrupted run's per-step losses and weight statistics.

tiny-qwen2, float32, SGD (whose update is proportional to the gradient, so a wrong reduction shows).
"""

from __future__ import annotations

import json
import sqlite3

import pytest
import torch

from hn_lightning.config_tools import retarget, write_config
from tests.cli_utils import REPO, losses_by_step, metrics, run_cli, run_cli_raw

DDP = ["--config", str(REPO / "configs" / "strategy" / "ddp.yaml"), "--trainer.devices", "2"]
SGD = {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.5}}


def _config(tmp_path, kind: str, name: str, finetuning: str, data: dict, trainer: dict, module: dict | None = None):
    model = {"name_or_path": "tiny-qwen2", "dtype": "float32", "finetuning": finetuning}
    cfg = retarget(REPO / "configs" / f"{kind}_demo.yaml", tmp_path / name / "run", model, data, trainer)
    cfg["model"]["init_args"].update({"optimizer": SGD, **(module or {})})
    cfg["model"]["init_args"].pop("scheduler", None)
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    return write_config(cfg, tmp_path / name / "cfg.yaml"), tmp_path / name / "run"


def _trainable(ckpt) -> dict[str, torch.Tensor]:
    return torch.load(ckpt, weights_only=True, map_location="cpu")["state_dict"]


def _assert_same_params(a, b):
    pa, pb = _trainable(a), _trainable(b)
    assert pa.keys() == pb.keys() and pa
    for k in pa:
        torch.testing.assert_close(pa[k], pb[k], rtol=1e-5, atol=1e-6, msg=k)


def _cache(folder) -> list[tuple[str, float]]:
    [db] = list(folder.glob("*.sqlite"))
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT key, logp FROM logps ORDER BY key").fetchall()


def _pairs(tmp_path, n: int = 16):
    """``n`` shipped pairs with distinct raw weights (so a rank-local normalization would show)."""
    rows = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")][:n]
    for i, row in enumerate(rows):
        row["w_raw"] = 0.5 + (7 * i % 11) / 3
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


STEP_KEYS = ("train/loss", "train/loss_unweighted", "train/rewards/accuracy", "train/rewards/accuracy_weighted",
             "train/rewards/margins", "weights/mean", "weights/std", "weights/min", "weights/max", "weights/ess",
             "weights/frac_clipped")


def test_dpo_two_ranks_equal_one_process_and_fill_the_same_cache(tmp_path):
    pairs = _pairs(tmp_path)
    runs = {}
    for name, devices, accumulate in (("one", [], 2), ("two", DDP, 1)):  # 2 pairs per micro-batch, 4 per step
        data = {"train_files": [str(pairs)], "max_length": 256, "micro_batch_size": 2, "shuffle": False}
        trainer = {"max_steps": 2, "accumulate_grad_batches": accumulate}
        reference = {"reference": {"mode": "auto", "precompute": True, "cache_dir": str(tmp_path / name / "cache")}}
        cfg, run = _config(tmp_path, "dpo", name, "full", data, trainer, reference)
        run_cli(["fit", "--config", str(cfg), *devices, "--trainer.callbacks.init_args.every_n_train_steps=1",
                 "--export.out_dir=null"], cwd=tmp_path / name, timeout=900)
        runs[name] = run
    one, two = runs["one"], runs["two"]
    for step in (1, 2):  # parameters after the first and the second optimizer update
        _assert_same_params(one / "checkpoints" / f"epoch=0-step={step}.ckpt", two / "checkpoints" / f"epoch=0-step={step}.ckpt")
    rows = {name: {int(r["step"]): r for r in metrics(run) if r.get("train/loss")} for name, run in runs.items()}
    assert sorted(rows["one"]) == sorted(rows["two"]) == [0, 1]
    for step in (0, 1):
        for key in STEP_KEYS:
            assert float(rows["two"][step][key]) == pytest.approx(float(rows["one"][step][key]), rel=1e-5, abs=1e-6), (step, key)
    assert float(rows["one"][1]["train/rewards/accuracy"]) > 0  # after one update the rewards separate
    assert float(rows["one"][0]["weights/std"]) > 0.05  # the weights are not uniform
    # the 2-rank precompute (each rank half of the batches, values exchanged) = the 1-rank cache, every pair
    cache_one, cache_two = _cache(tmp_path / "one" / "cache"), _cache(tmp_path / "two" / "cache")
    assert [k for k, _ in cache_one] == [k for k, _ in cache_two] and len(cache_one) == 2 * 16
    torch.testing.assert_close(torch.tensor([v for _, v in cache_two]), torch.tensor([v for _, v in cache_one]), rtol=1e-6, atol=1e-5)


def test_sft_two_ranks_equal_one_process_with_accumulation(tmp_path):
    sft = tmp_path / "sft.jsonl"
    rows = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")][:24]
    sft.write_text("".join(json.dumps({"question": r["prompt"], "solution": r["chosen"]}) + "\n" for r in rows))
    ckpts = {}
    for name, devices, accumulate in (("one", [], 2), ("two", DDP, 1)):  # 2 rows per micro-batch, 4 per step
        data = {"train_files": [str(sft)], "max_examples": None, "max_length": 96, "val_fraction": 0.0, "batch_size": 2}
        trainer = {"max_steps": 1, "accumulate_grad_batches": accumulate, "limit_val_batches": 0, "val_check_interval": None}
        cfg, run = _config(tmp_path, "sft", name, "full", data, trainer)
        run_cli(["fit", "--config", str(cfg), *devices, "--trainer.callbacks.init_args.every_n_train_steps=1",
                 "--export.out_dir=null"], cwd=tmp_path / name, timeout=900)
        ckpts[name] = run / "checkpoints" / "epoch=0-step=1.ckpt"
    _assert_same_params(ckpts["one"], ckpts["two"])


def test_killed_rank_fails_the_survivor_and_resume_reproduces_the_run(tmp_path):
    pairs = _pairs(tmp_path, 24)
    data = {"train_files": [str(pairs)], "max_length": 256, "micro_batch_size": 2, "shuffle_buffer": 8}
    trainer = {"max_steps": 6, "accumulate_grad_batches": 1}
    args = [*DDP, "--trainer.callbacks.init_args.every_n_train_steps=2", "--export.out_dir=null"]
    cfg_a, run_a = _config(tmp_path, "dpo", "a", "lora", data, trainer)
    run_cli(["fit", "--config", str(cfg_a), *args], cwd=tmp_path / "a", timeout=900)
    straight = {k: losses_by_step(run_a, k) for k in ("train/loss", "weights/mean", "weights/std")}
    assert sorted(straight["train/loss"]) == list(range(6))

    cfg_b, run_b = _config(tmp_path, "dpo", "b", "lora", data, trainer)
    killed = run_cli_raw(["fit", "--config", str(cfg_b), *args], cwd=tmp_path / "b", timeout=900,
                         env={"HN_FAULT": "fit.step@5", "HN_FAULT_RANK": "1"})  # rank 1 dies in step 5
    assert "[fault] killed at fit.step" in killed.stderr
    assert killed.returncode == 3, killed.stderr[-3000:]  # rank 0 (this process) noticed and stopped
    assert "error: rank 0: another rank died or stopped answering" in killed.stderr
    assert "Traceback" not in killed.stderr
    last = run_b / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True, map_location="cpu")["global_step"] == 4
    run_cli(["fit", "--config", str(cfg_b), *args, "--ckpt_path", str(last)], cwd=tmp_path / "b", timeout=900)
    for key, want in straight.items():
        got = losses_by_step(run_b, key)
        assert sorted(got) == sorted(want), key
        for step in want:  # every step trained on the same pairs with the same weights: none twice, none skipped
            assert got[step] == pytest.approx(want[step], rel=1e-5, abs=1e-6), (key, step)
