# The two set-up commands of the README, and the benchmark suite.
#   make run    install everything, build the demo database, print the overview
#   make test   install the test needs too, then run the whole test suite
#   make bench  run benchmarks/ (not part of make test) and write benchmarks/RESULTS.md
#
# uv comes from PyPI when it is missing; `python3 -m uv` works even when pip's script folder
# is not on PATH. The environment is .venv, created from uv.lock (--frozen: never re-resolved).

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.PHONY: run test bench uv clean

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --break-system-packages uv

run: uv
	$(UV) sync --frozen
	$(UV) run --frozen shanhai demo

test: uv
	$(UV) sync --frozen --group test
	$(UV) run --frozen pytest

bench: uv
	$(UV) sync --frozen --group test
	$(UV) run --frozen python -m benchmarks

clean:
	rm -rf .venv .pytest_cache shanhai.duckdb shanhai.duckdb.wal
