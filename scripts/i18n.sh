#!/usr/bin/env bash
# The Chinese catalog: extract the marked messages (babel.cfg), merge them into
# explainer/locale/zh/LC_MESSAGES/explainer.po, compile explainer.mo.
# Then translate the new empty or fuzzy entries of the .po, and run this again:
# tests/test_i18n.py fails while a message lacks its translation or the .mo is old.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYBABEL="${EXPLAINER_VENV:-.venv}/bin/pybabel"
LOCALE=explainer/locale
"$PYBABEL" extract -F babel.cfg -k N_ --sort-by-file --no-location --no-wrap \
    --project explainer --copyright-holder "explainer contributors" \
    --omit-header -o "$LOCALE/explainer.pot" . 2>&1 | { grep -v '^extracting' || true; }
if [[ ! -f "$LOCALE/zh/LC_MESSAGES/explainer.po" ]]; then
    "$PYBABEL" init -D explainer -l zh -i "$LOCALE/explainer.pot" -d "$LOCALE"
fi
"$PYBABEL" update -D explainer -l zh -i "$LOCALE/explainer.pot" -d "$LOCALE" \
    --no-wrap --ignore-obsolete --init-missing
"$PYBABEL" compile --statistics -D explainer -l zh -d "$LOCALE"
