#!/usr/bin/env bash
# Second README command: set everything up, then lint and run the tests.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k softmax -x`).
# Exits non-zero if the linter or any test fails (also when pytest collects no test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${EXPLAINER_VENV:-.venv}"

bash scripts/setup.sh

# Run both even if the linter fails, so one run shows every problem.
lint=0
echo "test: ruff check ."
"$VENV/bin/ruff" check . || lint=$?
echo "test: pytest"
tests=0
"$VENV/bin/pytest" "$@" || tests=$?

if ((lint || tests)); then
    echo "test: FAILED (ruff exit $lint, pytest exit $tests)" >&2
    exit 1
fi
# Nothing after pytest's summary on success: CI reads it as the closing line.
