# Weight Decay, Verified: the README quotes these targets.
#   make book     create .venv, install requirements.txt, build the HTML book into _build/html
#   make test     lint, unit tests, nbval (strict) over every notebook, strict book build
#   make refresh  re-execute every notebook in place (the only way stored outputs change)
#   make bench    run the benchmark scripts (measurements; they never fail a build)

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
# Every command below runs with the virtual environment first on PATH, so that Jupyter
# kernels started by nbval and jupyter-book are the environment's Python.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
# Keras 3 runs on its PyTorch backend in this book (no TensorFlow).
export KERAS_BACKEND := torch

NOTEBOOKS := $(shell find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort)
LINTED    := src tests benchmarks book

.PHONY: book test lint refresh bench clean venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	@# build matplotlib's font cache now, not during a notebook run (it logs to stderr)
	$(BIN)/python -c "import matplotlib.pyplot"
	@touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going
	@echo "Book built: open _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

test: lint
	$(BIN)/python -m pytest tests src book --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

refresh: $(STAMP)
	$(BIN)/ruff format book
	$(BIN)/python tests/nbtools.py refresh $(NOTEBOOKS)

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || true; done

clean:
	rm -rf _build
