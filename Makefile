# deskbase: `make run` serves the demo, `make test` runs the whole suite.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format install stop clean reset load

run: install
	$(BIN)/deskbase up

test: install lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/mypy src
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

install: $(STAMP)

$(STAMP): pyproject.toml
	@python=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The load test to saturation against a running server (docs/performance.md):
#   make load LOAD_URL=http://127.0.0.1:8000 LOAD_LABEL=with-limiter
# It needs locust, the optional group `load` (installed here, not by `make install`).
LOAD_URL ?= http://127.0.0.1:8000
LOAD_LABEL ?= run
LOAD_STEPS ?= 8,16,32,64,128,256
load: install
	$(BIN)/python -m pip install --quiet -e '.[dev,load]'
	$(BIN)/python bench/load/run.py --url $(LOAD_URL) --label $(LOAD_LABEL) --steps $(LOAD_STEPS) \
		--output bench/results/load-$(LOAD_LABEL).json

# Stops the embedded PostgreSQL if it is running; keeps the data.
stop: install
	$(BIN)/deskbase pg stop

# Deletes every piece of local data (database, attachments, logs, secret key): the var
# directory (DESKBASE_VAR_DIR when set) and, when the database was relocated out of it
# (a checkout the server's user cannot enter), the relocated directory.
reset: install
	-$(BIN)/deskbase pg stop
	@var=$$($(BIN)/python -c 'from deskbase import config; print(config.var_dir())') || exit 1; \
	if [ -L "$$var/pg" ]; then \
		moved=$$(dirname "$$(readlink -f "$$var/pg")"); \
		case "$$moved" in /var/lib/deskbase/?*) echo "deleting $$moved"; rm -rf "$$moved";; esac; \
	fi; \
	echo "deleting $$var"; rm -rf "$$var"

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
