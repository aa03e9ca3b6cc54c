# Everyday tasks. `make` alone runs the tests; CI runs .ci/run, which covers all of these.
PY ?= .venv/bin/python
BIN := $(dir $(PY))

.PHONY: test lint docs bench install

test:
	$(PY) -m pytest

lint:
	$(BIN)ruff check
	$(BIN)ruff format --check
	$(BIN)mypy stemrenal
	$(BIN)cog --check README.md docs/cli-reference.md

docs:
	$(BIN)cog -r README.md docs/cli-reference.md

bench:
	$(PY) benchmarks/bench.py --sizes 3,1000,10000 --repeat 3 --pair-repeat 11 --startup-repeat 11

install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'
