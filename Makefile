# The two commands: `make demo` and `make test`. Everything installs into .venv.
# Also: `make lint` (ruff, mypy, import contracts; CI runs it before the tests) and `make check`
# (the fast tier: every test but the end-to-end, PostgreSQL and Chromium ones).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
LANDING ?= $(DATA)/landing
RESTRICTED ?= $(DATA)/restricted
WAREHOUSE ?= $(DATA)/warehouse
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/$(DATA)/dagster_home

.PHONY: venv demo test check dev bench lint format clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: venv
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/trialpipe generate --out $(LANDING) --restricted-out $(RESTRICTED) --seed 2026 --defects 0.01
	$(BIN)/trialpipe run --landing $(LANDING) --warehouse $(WAREHOUSE)

test: venv
	$(BIN)/python -m pytest -n 2 --dist loadfile

check: venv
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not e2e and not postgres and not chromium"

# The UI and the daemon (sensor, schedule): `dg dev`, which Dagster 1.13 recommends over `dagster dev`,
# on workspace.yaml, so the code location is `pipelines.definitions` as for `dagster sensor start -w
# workspace.yaml` and deploy/. register-sites also writes a minimal dagster.yaml into a DAGSTER_HOME
# without one. Extra options: `make dev DEV_ARGS="--port 3001"`.
dev: venv
	@mkdir -p $(DAGSTER_HOME)
	@test -d $(LANDING)/sites || $(BIN)/trialpipe generate --out $(LANDING) --restricted-out $(RESTRICTED) --seed 2026 --defects 0.01
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/trialpipe register-sites --landing $(LANDING)
	TRIALPIPE_LANDING=$(abspath $(LANDING)) TRIALPIPE_WAREHOUSE=$(abspath $(WAREHOUSE)) \
	  $(BIN)/dg dev -w workspace.yaml $(DEV_ARGS)

bench: venv
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: venv
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(DATA)
