# The two commands: `make demo` and `make test`. Everything installs into .venv.
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

.PHONY: venv demo test dev bench lint format clean

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

dev: venv
	@mkdir -p $(DAGSTER_HOME)
	@test -d $(LANDING)/sites || $(BIN)/trialpipe generate --out $(LANDING) --restricted-out $(RESTRICTED) --seed 2026 --defects 0.01
	TRIALPIPE_LANDING=$(abspath $(LANDING)) $(BIN)/python -m pipelines.partitions
	TRIALPIPE_LANDING=$(abspath $(LANDING)) TRIALPIPE_WAREHOUSE=$(abspath $(WAREHOUSE)) \
	  $(BIN)/dagster dev -w workspace.yaml

bench: venv
	$(BIN)/python -m benchmarks.run

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(DATA)
