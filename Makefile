# Two entry points: `make run` (the dashboard on the bundled data) and `make test` (every test).
# Each sets up .venv from requirements.txt first, so both work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test lint format data clean chromium bench

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# The page (dashboard.py) behind its security headers: serve.py wraps it (README, "Running it for a team").
run: $(BIN)/.installed
	$(BIN)/streamlit run serve.py --server.port $(PORT)

test: $(BIN)/.installed chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# The browser tests drive Debian's Chromium with Playwright (a browser download does not work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Speed and size against the naive peer at 100k and 1M events; writes bench/RESULTS.md (~5 min).
bench: $(BIN)/.installed chromium
	$(BIN)/python -m bench.run

# Rebuild the bundled dataset's stored version from its reviewed CSV.
data: $(BIN)/.installed
	$(BIN)/python -m timeline.bundled

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
