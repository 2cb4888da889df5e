# The two set-up commands of the README, and the benchmark suite.
#   make run    install everything, build the demo database, print the overview
#   make test   install the test needs too, then run the whole test suite
#   make bench  run benchmarks/ (not part of make test) and write benchmarks/RESULTS.md
#
# uv comes from PyPI when it is missing; `python3 -m uv` works even when pip's script folder
# is not on PATH. The environment is .venv, created from uv.lock (--frozen: never re-resolved).
# Bytecode is compiled at install (--compile-bytecode, as pip does; uv does not by default) and for
# src/ (compileall): where PYTHONDONTWRITEBYTECODE is set, as on the machine we measure on, Python
# would otherwise compile ~400 modules from source in every process (1.3-1.6 CPU s per CLI command,
# per server start, per benchmark child).
# The tests also run the evaluation on PySpark (tests/engine), which needs a Java 17+ runtime:
# `make test` installs Debian's openjdk-17-jre-headless when no such `java` is on PATH.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.PHONY: run test bench uv java sysdeps clean

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --break-system-packages uv

java:
	@java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || \
		(apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless)

# Debian packages the briefings and the browser tests need: Chinese fonts for WeasyPrint's PDF,
# pdftoppm to render PDF pages in tests, chromium (+ driver) for Playwright (no `playwright install`).
sysdeps:
	@missing=""; \
	fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || missing="$$missing fonts-noto-cjk"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium chromium-driver"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		(apt-get update && apt-get install -y --no-install-recommends $$missing) || \
		(sudo apt-get update && sudo apt-get install -y --no-install-recommends $$missing); \
	fi

COMPILE = $(UV) run --frozen python -m compileall -q src >/dev/null

run: uv sysdeps
	$(UV) sync --frozen --compile-bytecode
	$(COMPILE)
	$(UV) run --frozen shanhai demo
	$(UV) run --frozen shanhai serve

test: uv java sysdeps
	$(UV) sync --frozen --group test --compile-bytecode
	$(COMPILE)
	$(UV) run --frozen pytest

bench: uv sysdeps
	@command -v wrk >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends wrk) || \
		(sudo apt-get update && sudo apt-get install -y --no-install-recommends wrk)
	$(UV) sync --frozen --group test --group bench --compile-bytecode
	$(COMPILE)
	$(UV) run --frozen python -m benchmarks

clean:
	rm -rf .venv .pytest_cache shanhai.duckdb shanhai.duckdb.wal
