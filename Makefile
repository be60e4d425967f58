# Two commands do all set-up on a fresh machine:
#   make quickstart   build a small dataset, train a tiny TRM on CPU, evaluate, solve, draw
#   make test         run the test suite
# Both create .venv on first use. PyTorch is pinned to the CPU build 2.13.0 here; any torch>=2.4 works.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: quickstart test lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

quickstart: $(STAMP)
	$(BIN)/trm quickstart --out runs/quickstart

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) runs build *.egg-info
