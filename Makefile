# Incident Hub: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SANDBOX_PORT ?= 8001
SANDBOX_SMTP_PORT ?= 8025
WEB_PORT := $(PORT)
export WEB_PORT SANDBOX_PORT SANDBOX_SMTP_PORT
SANDBOX := DJANGO_SETTINGS_MODULE=incidents_site.settings_sandbox

.PHONY: run test lint format setup clean check-deploy

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

# Django's deployment checklist on the production settings; any warning fails. The secret and the hosts come
# from the environment as in production; when unset, a throwaway secret (never stored) and an example host.
check-deploy: $(VENV)/.installed
	@if [ -z "$$DJANGO_SECRET_KEY" ]; then \
	  echo "DJANGO_SECRET_KEY is not set: using a throwaway secret for this check only"; \
	  DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
	fi; \
	if [ -z "$$DJANGO_ALLOWED_HOSTS" ]; then \
	  echo "DJANGO_ALLOWED_HOSTS is not set: checking with incident-hub.example.com"; \
	  DJANGO_ALLOWED_HOSTS=incident-hub.example.com; \
	fi; \
	DJANGO_SECRET_KEY="$$DJANGO_SECRET_KEY" DJANGO_ALLOWED_HOSTS="$$DJANGO_ALLOWED_HOSTS" \
	  DJANGO_SETTINGS_MODULE=incidents_site.settings_production \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/ staticfiles/ .pytest_cache/
