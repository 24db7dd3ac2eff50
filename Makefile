PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
PORT ?= 8501

.PHONY: run demo test lint bench bench-browser screenshots venv clean

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/python -m lib init
	$(BIN)/streamlit run app.py --server.port $(PORT)

demo: $(STAMP)
	$(BIN)/python -m lib demo --if-empty
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

# Every page in headless Chromium (/usr/bin/chromium) beside a bare Streamlit page, idle CPU, 20 sessions at once.
bench-browser: $(STAMP)
	$(BIN)/python -m bench.browser $(BENCH_ARGS)

screenshots: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e/test_screenshots.py
	mkdir -p docs/screenshots
	cp tests/e2e/screenshots/*.png docs/screenshots/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
