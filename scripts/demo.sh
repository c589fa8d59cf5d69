#!/usr/bin/env bash
# Set up (idempotent) and run the end-to-end demo on the embedded default model
# (Qwen2.5-Coder-0.5B-Instruct) on CPU. Outputs go under runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
python cli.py demo "$@"
