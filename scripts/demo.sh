#!/usr/bin/env bash
# First README command: set everything up, then run the main job.
# Safe to run twice; outputs go to output/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${EXPLAINER_VENV:-.venv}"

bash scripts/setup.sh
mkdir -p output/weights
# Train the default model again (under 2 minutes) and show what it learned.
"$VENV/bin/explainer" train --preset default --out output/weights/default.safetensors
if cmp -s output/weights/default.safetensors explainer/data/weights/default.safetensors
then echo "the same bytes as the shipped explainer/data/weights/default.safetensors"
else echo "note: not byte-identical to the shipped weights: this CPU's NumPy and OpenBLAS kernels round differently (README, Training: Deterministic)"
fi
"$VENV/bin/explainer" generate --preset default --sentence "When you play game of thrones"
"$VENV/bin/explainer" generate --preset default --sentence "You win or you die"
"$VENV/bin/explainer" generate --preset next-word --prompt "when you"
"$VENV/bin/explainer" trace --out output/trace.json
"$VENV/bin/explainer" render --movie   # 720p: every number at least 12 px tall
"$VENV/bin/explainer" report
"$VENV/bin/explainer" report --lang zh --out output/report-zh.html  # 中文
"$VENV/bin/explainer" report --model smollm2 --sentence "The capital of France is" \
    --out output/report-smollm2.html
"$VENV/bin/explainer" verify
