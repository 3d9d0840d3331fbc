# Incident Hub: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SANDBOX_PORT ?= 8001
WEB_PORT := $(PORT)
export WEB_PORT SANDBOX_PORT
SANDBOX := DJANGO_SETTINGS_MODULE=incidents_site.settings_sandbox

.PHONY: run test lint format setup clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_legacy_customers
	$(SANDBOX) $(BIN)/python manage.py migrate --noinput -v 0
	$(SANDBOX) $(BIN)/python manage.py seed_sandbox

run: setup
	@$(BIN)/python manage.py ensure_demo_access
	$(BIN)/honcho start -f Procfile

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/ staticfiles/ .pytest_cache/
