# Two commands do all the set-up: `make run` (the bot) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench drills clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/autodevhub serve

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n auto -p no:cacheprovider

# fault drills alone (they also run in `make test`); PostgreSQL not needed
drills: $(BIN)/.installed
	$(BIN)/pytest tests/drills -p no:cacheprovider -rxX

# benchmarks (not tests): each prints a table; figures and commands in BENCHMARKS.md
bench: $(BIN)/.installed
	$(BIN)/python -m bench.storage_scale
	$(BIN)/python -m bench.ack_path
	$(BIN)/python -m bench.stacks
	$(BIN)/python -m bench.generation_load
	$(BIN)/python -m bench.backup_load
	$(BIN)/python -m bench.live_cards
	$(BIN)/python -m bench.indexes
	$(BIN)/python -m bench.indexes --database postgresql
	$(BIN)/python -m bench.ready_move
	$(BIN)/python -m bench.exchange
	$(BIN)/python -m bench.replicas

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache
