# Two commands on a fresh clone: `make run` (install, create the database with demo data,
# serve on http://127.0.0.1:5000) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test install translations extract-messages clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The .mo files are committed, so that `pip install` from a clone has the Vietnamese interface;
# a test fails when one is older than its .po.
translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d lms/translations

# Refresh the catalogs after changing user-facing strings, then translate the new entries.
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o lms/translations/messages.pot lms courses scorm
	$(BIN)/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching --width 100

run: install
	HOCVU_ENV=$${HOCVU_ENV:-development} $(BIN)/hocvu init --demo
	HOCVU_ENV=$${HOCVU_ENV:-development} $(BIN)/hocvu run --host $(HOST) --port $(PORT)

test: install
	@scripts/ensure-test-tools
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
