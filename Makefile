# Weight Decay, Verified: the README quotes these targets.
#   make book     create .venv, install requirements.txt, build the HTML book into _build/html
#   make check    the inner loop: lint, unit tests, doctests, notebook hygiene, ledger and
#                 translation checks (no notebook executed, no build, no browser)
#   make test     everything: make check's tests, strict book build, browser test, and every
#                 notebook executed again on two numerical paths and compared by meaning
#   make lab      open the notebooks in JupyterLab, from this environment (.venv)
#   make refresh  re-execute every notebook in place (the only way stored outputs change);
#                 NB=book/x.ipynb for one
#   make bench    run the benchmark scripts (measurements; they never fail a build)
#   make mutants  mutation testing of decaylab's core (about 12 min on 2 cores; prints the survivors
#                 and the README's per-module score table)
#   make translations  after changing a chapter: update the Chinese catalogues in locales/
#                 (new messages empty, changed ones fuzzy) and the Chinese font subsets

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
# Every command below runs with the virtual environment first on PATH, so that Jupyter
# kernels started by the tests and the build are the environment's Python.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

LINTED    := src tests benchmarks book
# `make refresh NB=book/lr_decay.ipynb` re-executes one notebook; without NB, all of them.
NB        ?=

.PHONY: book check test lint refresh bench clean venv mutants translations lab

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	@# build matplotlib's font cache now, not during a notebook run (it logs to stderr)
	$(BIN)/python -c "import matplotlib.pyplot"
	@touch $@

book: $(STAMP)
	$(BIN)/python -m decaylab_book.nbtools build
	@echo "Book built: open _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

# The inner loop: the tests not marked notebooks, build or browser (pyproject.toml).
check: lint
	$(BIN)/python -m pytest tests src -p no:cacheprovider -m "not notebooks and not build and not browser" -q

# One pytest run over the unit tests, doctests, hygiene and perturbation tests, the strict
# build, the browser test, and tests/test_outputs.py: every notebook executed again on the
# machine's own kernels and on a second numerical path (PyTorch's non-vectorized kernels, one
# thread: decaylab_book.nbtools.SECOND_PATH) and compared with its stored outputs by meaning
# (decaylab_book.meaning): verdicts, words and counts exactly, training summaries within the
# tolerance each cell declares (sized by decaylab_book.tolerances from measured spreads).
# The single-threaded notebook runs go to two background processes beside the build and the
# browser test (tests/background.py), so the two cores work at once.
test: lint
	$(BIN)/python -m pytest tests src -p no:cacheprovider

# Mutation testing of decaylab's core modules with their unit tests (slow; not part of
# `make test`): prints every surviving mutant, then the score.
# Every mutant of the modules in pyproject.toml's [tool.mutmut], against their fast unit tests:
# two test runs side by side (2 cores), each with one torch thread (OMP_NUM_THREADS=1: a
# parallel region waits for a thread that the other run's process may be holding). Prints the
# mutants that were not killed, then the table of README.md's "Mutation score".
mutants: $(STAMP)
	rm -rf mutants
	-OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results
	$(BIN)/python -m decaylab_book.mutation_score

# The notebooks in JupyterLab, with the book's pinned environment as their kernel.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=book

refresh: $(STAMP)
	$(BIN)/ruff format book
	$(BIN)/python -m decaylab_book.nbtools refresh $(NB)

# Extract every message of both editions, merge into locales/zh_CN/LC_MESSAGES/*.po with
# sphinx-intl, regenerate the CJK font subsets, and list what is left to translate.
translations: $(STAMP)
	$(BIN)/python -m decaylab_book.translations update

# The test tiers' times last: they run `make check` and `make test`.
bench: $(STAMP)
	@for script in $(filter-out benchmarks/test_tiers.py,$(wildcard benchmarks/*.py)) benchmarks/test_tiers.py; do \
		echo "== $$script"; $(BIN)/python $$script || true; done

clean:
	rm -rf _build mutants
