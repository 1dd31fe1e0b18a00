# Set-up and everyday commands. `make demo` and `make test` create .venv/ on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test ui lint bench lock clean

$(INSTALLED): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(INSTALLED)

## Build the demo lake (120 days of demo events ending yesterday) through Dagster.
demo: $(INSTALLED)
	$(BIN)/kt demo

## Run the whole test suite.
test: $(INSTALLED)
	$(BIN)/pytest

## Open the Dagster UI (web server + daemon) on the same KEEPTRUSTS_HOME.
ui: $(INSTALLED)
	$(BIN)/kt ui

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python -m bench.demo_throughput
	$(BIN)/python -m bench.export_speed
	$(BIN)/python -m bench.export_speed --distinct-text --formats csv --naive-max 0
	$(BIN)/python -m bench.report_speed

## Re-resolve requirements.lock from pyproject.toml (needs pip-tools in the venv).
lock: $(INSTALLED)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) var
