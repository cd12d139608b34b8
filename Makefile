# Two commands on a fresh clone: `make run` (install, create the database with demo data,
# serve on http://127.0.0.1:5000) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PO := $(wildcard lms/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test install translations extract-messages clean

install: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

translations: $(MO)

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
	rm -rf $(VENV) build *.egg-info .pytest_cache $(MO)
