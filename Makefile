# Two entry points: `make run` (the dashboard on the bundled data) and `make test` (every test).
# Each sets up .venv from requirements.txt first, so both work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test lint format data clean chromium java bench

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# The Spark engine (requirements-spark.txt), for the query layer's tests on Spark local mode: only `make test`
# installs it (its own stamp, so `make run` never pulls PySpark).
$(BIN)/.installed-spark: $(BIN)/.installed requirements-spark.txt
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	touch $@

# What only the tests need (requirements-test.txt: a local S3 server for the store on an object store).
$(BIN)/.installed-test: $(BIN)/.installed-spark requirements-test.txt
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

# The page (dashboard.py) behind its security headers: serve.py wraps it (README, "Running it for a team").
run: $(BIN)/.installed
	$(BIN)/streamlit run serve.py --server.port $(PORT)

test: $(BIN)/.installed-test java chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	TIMELINE_TEST_REQUIRE_SPARK=1 $(BIN)/python -m pytest

# The browser tests drive Debian's Chromium with Playwright (a browser download does not work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Spark needs Java 17 or later: Debian's OpenJDK is installed when no java is found (like chromium above).
java:
	@command -v java >/dev/null 2>&1 || { \
		echo "No java found: Spark (the query layer's tests) needs Java 17 or later; installing openjdk-17-jre-headless"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless; }
	@major=$$(java -version 2>&1 | sed -nE '1s/.*version "(1\.)?([0-9]+).*/\2/p'); \
	[ "$${major:-0}" -ge 17 ] || { \
		echo "Spark needs Java 17 or later; found: $$(java -version 2>&1 | head -n 1)." \
			"On Debian: apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }

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
