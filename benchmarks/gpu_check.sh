#!/usr/bin/env bash
# One-call GPU check: does this box run the product, and how fast? (issue 17)
#
#   bash benchmarks/gpu_check.sh [--dry-run] [OUT_DIR]
#
# OUT_DIR defaults to $OUT, else runs/gpu_check. It writes OUT_DIR/gpu_check.json and gpu_check.md (the
# summary), OUT_DIR/dpo_throughput.{json,md}, OUT_DIR/pytest.xml and logs under OUT_DIR/work.
#
# Steps: (1) which packages import and which GPU; (2) the test subset for the paths a GPU run uses
# (packing equality, log-probs, samplers incl. the continuous-batching engine, the DPO module incl. QLoRA
# with bitsandbytes); most of these tests pin accelerator=cpu, so (3) and (4) are what exercise CUDA:
# (3) DPO throughput on a random-init Qwen2.5-1.5B-shaped model (no weights to carry), full fine-tune,
# bf16-true, SDPA on CUDA: ours padded, ours packed, and TRL's DPOTrainer when TRL imports (otherwise
# skipped, and the summary says so; TRL_PATH=<folder> adds a --target install of TRL); (4) the sampler
# engines (HF generate vs continuous batching, benchmarks/sampler_engines.py) on the same model and 40
# GSM8K test prompts, greedy and K=4 sampled.
# Target: under 8 minutes on one H100/H200.
#
# --dry-run: the same steps on CPU with tiny sizes (a couple of minutes); CI runs it
# (tests/test_gpu_check.py).
#
# From a fresh checkout on a typical CUDA image (torch, lightning, transformers, peft, accelerate,
# sentence-transformers, torchmetrics, matplotlib, triton present), the missing wheels (~47 MB) are listed
# in benchmarks/gpu_wheels.txt. Download them on a machine with PyPI access and install them on the box:
#   pip download --no-deps -r benchmarks/gpu_wheels.txt -d gpu_wheels/
#   pip install --no-deps gpu_wheels/*.whl          # on the GPU box
set -uo pipefail

DRY_RUN=0
OUT_DIR="${OUT:-runs/gpu_check}"
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) OUT_DIR="$arg" ;;
  esac
done

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python}"
mkdir -p "$OUT_DIR/work"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
WORK="$OUT_DIR/work"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
cd "$REPO"
T0=$(date +%s)
step() { echo "[gpu_check $(( $(date +%s) - T0 ))s] $*"; }

# 1. environment: what imports, which device ------------------------------------------------------------
step "environment -> $WORK/env.json"
"$PY" - "$WORK/env.json" <<'EOF'
import importlib, json, platform, sys
mods = ["torch", "lightning", "transformers", "peft", "accelerate", "jsonargparse", "gguf", "math_verify",
        "bitsandbytes", "trl", "datasets", "liger_kernel", "flash_attn", "triton"]
env = {"python": platform.python_version(), "packages": {}}
for m in mods:
    try:
        env["packages"][m] = getattr(importlib.import_module(m), "__version__", "?")
    except Exception as err:
        env["packages"][m] = None
        env.setdefault("import_errors", {})[m] = f"{type(err).__name__}: {err}"[:200]
import torch
env["cuda"] = torch.cuda.is_available()
if env["cuda"]:
    env["gpu"] = torch.cuda.get_device_name(0)
    env["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    env["cuda_version"] = torch.version.cuda
json.dump(env, open(sys.argv[1], "w"), indent=2)
print(json.dumps({k: v for k, v in env.items() if k != "import_errors"}))
EOF

# the tests' tiny model needs the Qwen2 tokenizer (read from a 86 MB weight package); without it, use an
# isolated cache seeded with a small trained BPE tokenizer (ChatML template) and say so in the summary
TOKENIZER_NOTE="Qwen2 tokenizer"
if ! "$PY" -c "from hn_lightning.models.tiny import qwen2_tokenizer_dir; qwen2_tokenizer_dir()" >/dev/null 2>&1; then
  export HN_LIGHTNING_CACHE="$WORK/cache"
  "$PY" - "$HN_LIGHTNING_CACHE/tokenizers/qwen2" <<'EOF'
import sys
sys.path.insert(0, "benchmarks")
from dpo_bench.random_model import trained_bpe_tokenizer
trained_bpe_tokenizer().save_pretrained(sys.argv[1])
EOF
  TOKENIZER_NOTE="substitute byte-level BPE tokenizer (the Qwen2 tokenizer package is not installed)"
fi
step "tokenizer for the tests: $TOKENIZER_NOTE"

# 2. tests -------------------------------------------------------------------------------------------------
if [ "$DRY_RUN" = 1 ]; then
  TESTS=(tests/test_dpo_packing.py tests/test_cb_engine.py -k "layout or boundary or wider or greedy_equals_hf")
else
  TESTS=(tests/test_dpo_packing.py tests/test_logprobs.py tests/test_eval_generate.py tests/test_cb_engine.py
         tests/test_dpo_module.py -k "not resume and not 8x1")   # packing, log-probs, samplers, DPO incl. QLoRA
fi
step "pytest ${TESTS[*]}"
"$PY" -m pytest -q -p no:cacheprovider --junitxml="$OUT_DIR/pytest.xml" "${TESTS[@]}" > "$WORK/pytest.log" 2>&1
TESTS_RC=$?
tail -n 3 "$WORK/pytest.log"

# 3. DPO throughput: ours padded vs packed vs TRL on a random-init model ----------------------------------
if [ "$DRY_RUN" = 1 ]; then
  SHAPE=tiny; MODEL_DTYPE=float32; TIMEOUT=900
  BENCH=(--dtype float32 --finetuning lora --micro_batch_size 4 --accumulate 1 --max_length 512 --warmup_steps 1 --steps 1)
else
  SHAPE=qwen2.5-1.5b; MODEL_DTYPE=bfloat16; TIMEOUT=300
  BENCH=(--dtype bfloat16 --finetuning full --micro_batch_size 4 --accumulate 4 --max_length 1024 --warmup_steps 2 --steps 5)
fi
MODEL_DIR="$WORK/random-$SHAPE"
step "random-init $SHAPE model -> $MODEL_DIR"
"$PY" benchmarks/dpo_bench/random_model.py --shape "$SHAPE" --dtype "$MODEL_DTYPE" --out "$MODEL_DIR" > "$WORK/random_model.log" 2>&1
MODEL_RC=$?
tail -n 1 "$WORK/random_model.log"
TRL_PATH="${TRL_PATH:-}"
step "DPO throughput (ours, ours-packed, trl)"
"$PY" benchmarks/dpo_throughput.py --model "$MODEL_DIR" "${BENCH[@]}" --frameworks ours,ours-packed,trl \
  --trl_path "$TRL_PATH" --timeout "$TIMEOUT" --out "$OUT_DIR/dpo_throughput" --workdir "$WORK/dpo_throughput" \
  --note "benchmarks/gpu_check.sh$([ "$DRY_RUN" = 1 ] && echo ' --dry-run')" > "$WORK/dpo_throughput.log" 2>&1
BENCH_RC=$?
tail -n 8 "$WORK/dpo_throughput.log"

# 4. sampler engines: HF generate vs continuous batching (paged KV cache) on the same model -----------------
if [ "$DRY_RUN" = 1 ]; then
  SAMPLER=(--prompts 3 --max_new_tokens 6 --samples 2 --cb_max_requests 4)
else
  SAMPLER=(--prompts 40 --max_new_tokens 256 --samples 4 --batch_size 40 --cb_max_requests 160)
fi
step "sampler engines (hf, cb)"
timeout "$TIMEOUT" "$PY" benchmarks/sampler_engines.py --model "$MODEL_DIR" --dtype "$MODEL_DTYPE" "${SAMPLER[@]}" \
  --engines hf,cb --out "$OUT_DIR/sampler_engines" > "$WORK/sampler_engines.log" 2>&1
SAMPLER_RC=$?
tail -n 6 "$WORK/sampler_engines.log"

# 5. summary ----------------------------------------------------------------------------------------------
step "summary -> $OUT_DIR/gpu_check.{json,md}"
"$PY" benchmarks/dpo_bench/gpu_summary.py --out "$OUT_DIR" --dry_run "$DRY_RUN" --tests_rc "$TESTS_RC" \
  --model_rc "$MODEL_RC" --bench_rc "$BENCH_RC" --sampler_rc "$SAMPLER_RC" --tests "${TESTS[*]}" --tokenizer "$TOKENIZER_NOTE" \
  --shape "$SHAPE" --seconds "$(( $(date +%s) - T0 ))"
SUMMARY_RC=$?
step "done"
[ "$TESTS_RC" = 0 ] && [ "$MODEL_RC" = 0 ] && [ "$BENCH_RC" = 0 ] && [ "$SAMPLER_RC" = 0 ] && [ "$SUMMARY_RC" = 0 ]
