PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
PORT ?= 8501

.PHONY: run demo test lint bench bench-browser screenshots venv clean bench-pg

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/python -m lib init
	$(BIN)/python -m lib serve --server.port $(PORT)

demo: $(STAMP)
	$(BIN)/python -m lib demo --if-empty
	$(BIN)/python -m lib serve --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.members --keep
	$(BIN)/python -m bench.speed13
	@# issue 17 (pgbench): metrics --json and every page bundle byte for byte on both engines, where PostgreSQL is installed
	@# and PostgreSQL at 10,000,000 meetings (pgscale: ~7 min to build and ~4 to load the first time; kept after)
	@if $(BIN)/python -c "from tests.pgcluster import bindir; raise SystemExit(bindir() is None)"; then \
		$(BIN)/python -m bench.pgequal --keep --out bench/RESULTS.md && \
		$(BIN)/python -m bench.pgscale --keep --sqlite; fi

# pgscale: PostgreSQL at 10,000,000 meetings (issue 17): a cluster of its own in /tmp/pgscale, kept between runs
# (~7 min to build the demo and ~4 min to load it the first time; the timings then take a few minutes).
bench-pg: $(STAMP)
	$(BIN)/python -m bench.pgscale --keep $(BENCH_ARGS)

# Every page in headless Chromium (/usr/bin/chromium) beside a bare Streamlit page, idle CPU, 20 sessions at once.
bench-browser: $(STAMP)
	$(BIN)/python -m bench.browser $(BENCH_ARGS)

# every page at 1440, 1920 and 390 px (phone): <page>-<width>.png, the older unsuffixed files removed
screenshots: $(STAMP)
	rm -f tests/e2e/screenshots/*.png
	$(BIN)/python -m pytest -q -p no:randomly tests/e2e/test_screenshots.py
	mkdir -p docs/screenshots
	rm -f docs/screenshots/*.png
	cp tests/e2e/screenshots/*-1440.png tests/e2e/screenshots/*-1920.png tests/e2e/screenshots/*-390.png docs/screenshots/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
