# dynvit-cosim: the two commands a new user needs are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

.PHONY: setup run test test-slow bench regress-update clean help

help:
	@echo "make run    - set up (if needed) and run the default scenario"
	@echo "make test   - set up (if needed) and run the test suite"
	@echo "make test-slow - the slow tests (all models on all presets; CI runs them too)"
	@echo "make bench  - run the benchmarks under benchmarks/"
	@echo "make setup  - install system packages, .venv, torch (CPU) and the project"

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/cosim run --force

test: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q

test-slow: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist load -q -m slow

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf runs build .pytest_cache
