#!/usr/bin/env bash
# First README command: set everything up, then run the main job.
# Safe to run twice; outputs go to output/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${EXPLAINER_VENV:-.venv}"

bash scripts/setup.sh
mkdir -p output
"$VENV/bin/explainer" trace --out output/trace.json
"$VENV/bin/explainer" render --movie --quality low
"$VENV/bin/explainer" report
"$VENV/bin/explainer" report --model smollm2 --sentence "The capital of France is" \
    --out output/report-smollm2.html
"$VENV/bin/explainer" verify
