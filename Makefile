# Developer commands for OpsPlatform; see README.md ("Quick start", "Development").
#
# Without DATABASE_URL / REDIS_URL the embedded PostgreSQL and Redis under var/ are started
# (python -m opsplatform.devtools.devservices); with them set, those servers are used and nothing is started.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Re-run pip only when a requirements file is newer than the last successful install.
STAMP := $(VENV)/.requirements.stamp
REQUIREMENTS := $(wildcard requirements/*.txt)
PYTEST_ARGS ?=
# pytest-xdist processes for `make test` (the suite keeps each worker on a database of its own).
TEST_WORKERS ?= 2

.PHONY: help venv services services-status clean-services migrate seed run test faults chromium lint format bench

help:
	@echo "make run             venv + services + migrate + demo data, then web, worker and beat"
	@echo "make test            the whole suite (PYTEST_ARGS='...' is passed to pytest)"
	@echo "make lint | format   ruff and import-linter / fix import order and formatting"
	@echo "make faults          fault drills: PostgreSQL and Redis restarted under load (tests/faults, minutes)"
	@echo "make bench           benchmarks (tests/bench)"
	@echo "make services        start the embedded PostgreSQL and Redis (unless *_URL is set)"
	@echo "make services-status what the embedded services are doing"
	@echo "make clean-services  stop the embedded PostgreSQL and Redis (data stays in var/)"

venv: $(STAMP)

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements/dev.txt
	@touch $@

services: venv
	$(PY) -m opsplatform.devtools.devservices up

services-status:
	@if [ -x $(PY) ]; then $(PY) -m opsplatform.devtools.devservices status; else echo "no virtualenv yet"; fi

clean-services:
	@if [ -x $(PY) ]; then $(PY) -m opsplatform.devtools.devservices down; else echo "no virtualenv, nothing to stop"; fi

# Running the app locally means plain http and the built-in development secret: DEBUG on, unless
# DEBUG is set in the environment, on the command line or in .env (then SECRET_KEY matters as in
# production).
ifeq ($(origin DEBUG)$(shell grep -sqE '^[[:space:]]*(export[[:space:]]+)?DEBUG[[:space:]]*=' .env && echo dotenv),undefined)
migrate seed run: export DEBUG := true
endif

migrate: services
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) -m opsplatform.devtools.runner

chromium:
	@scripts/ensure-chromium.sh

test: venv services chromium
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Private PostgreSQL and Redis servers of its own (started, stopped and killed by the tests), and
# the runner of `make run` against them; prints each round's figures.
faults: venv
	$(BIN)/pytest tests/faults -s -p no:cacheprovider -o addopts="" --strict-markers -ra $(PYTEST_ARGS)

# All of tests/bench, unless PYTEST_ARGS names files of its own (then only those: pytest given the
# folder as well would run every benchmark in it).
bench: venv services
	$(BIN)/pytest $(if $(filter tests/%,$(PYTEST_ARGS)),,tests/bench) -s -p no:cacheprovider -o addopts="" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .
