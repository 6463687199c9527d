# Shortcuts. The README's two commands are `bash scripts/demo.sh` and
# `bash scripts/test.sh` (make itself is not on every fresh Debian machine);
# these targets only call the same scripts.
VENV := $(if $(EXPLAINER_VENV),$(EXPLAINER_VENV),.venv)

.PHONY: setup demo test lint format clean

setup:
	bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Removes outputs and caches; never .venv/ nor the set-up stamp.
clean:
	find output -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf media build dist .pytest_cache .ruff_cache .hypothesis
	find . \( -path ./.venv -o -path ./.git \) -prune -o \
		\( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +
