# Every command a developer needs. `make test` builds its own virtualenvs from pinned requirements.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 (the Lambda runtime's) from pyenv when present, else whatever python3.13 or python3 is on PATH.
PYTHON ?= $(or $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13)),$(shell command -v python3.13),python3)
VENV := .venv
TOOLS_VENV := .venv-tools
# checkov in a virtualenv of its own too: installed beside boto3, it downgrades it.
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
SAM := $(TOOLS_VENV)/bin/sam
PIP_FLAGS := --disable-pip-version-check
# A first install takes a minute or two: pip's "Collecting <package>" lines show it moving, one a package, short enough
# for a CI log (its errors, on stderr, all show). `set -o pipefail` keeps pip's exit status.
PIP_PROGRESS := | { grep --line-buffered '^Collecting ' || true; }
# `sam build` runs the python3.13 workflow with the python3.13 it finds on PATH.
SAM_ENV := PATH="$(dir $(PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}

.PHONY: help test test-unit pytest lint format typecheck checkov build validate deploy clean browser run demo redrive bench invoke

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/dev.txt layers/shared/requirements.txt
	@echo "Installing $(VENV) from requirements/dev.txt (once, about a minute and a half)..."
	$(PYTHON) -m venv $(VENV)
	set -o pipefail; $(BIN)/pip install $(PIP_FLAGS) -r requirements/dev.txt $(PIP_PROGRESS)
	touch $@

$(TOOLS_VENV)/.installed: requirements/tools.txt
	@echo "Installing the SAM CLI into $(TOOLS_VENV) from requirements/tools.txt (once, about a minute)..."
	$(PYTHON) -m venv $(TOOLS_VENV)
	set -o pipefail; $(TOOLS_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/tools.txt $(PIP_PROGRESS)
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@echo "Installing checkov into $(CHECKOV_VENV) from requirements/checkov.txt (once, about a minute)..."
	$(PYTHON) -m venv $(CHECKOV_VENV)
	set -o pipefail; $(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/checkov.txt $(PIP_PROGRESS)
	touch $@

test: lint typecheck checkov browser pytest build ## Run every check and test, then validate and build the template (what CI runs; ~5-6 min on 2 cores)

# The stack tests mostly wait on a local stack's schedules: more processes than cores, whole files each (a file's stack
# is shared by its tests), in the order tests/conftest.py gives (the stack files first, the permissions test last).
PYTEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

pytest: $(VENV)/.installed ## Run the test suite only (tests/unit, tests/integration, tests/stack), on PYTEST_WORKERS processes (~4 min)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-unit: $(VENV)/.installed ## Run the pure tests only (tests/unit: no moto, no network, seconds)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(VENV)/.installed ## Lint and check formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed ## Type-check the shared package
	$(BIN)/mypy

checkov: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## checkov on the template as SAM translates it; any failed check fails
	$(BIN)/python scripts/sam_translate.py .aws-sam/translated.json
	$(CHECKOV_VENV)/bin/checkov --file .aws-sam/translated.json --framework cloudformation --skip-download --compact --quiet

validate: $(TOOLS_VENV)/.installed ## sam validate
	$(SAM_ENV) $(SAM) validate

build: validate ## sam validate, then sam build (arm64 wheels, no Docker needed; ~10 s once the SAM CLI is installed)
	$(SAM_ENV) $(SAM) build

deploy: build ## sam deploy --guided (needs AWS credentials)
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided

browser: ## Install Debian's chromium and chromium-driver for the browser test, if missing and possible (root, apt-get)
	@bash scripts/ensure-browser.sh

run: $(VENV)/.installed ## Run the whole stack locally on http://127.0.0.1:3000, no Docker, no AWS account (first time ~1.5 min); LOGS=json: whole JSON logs
	$(BIN)/python -m local run $(if $(filter json,$(LOGS)),--json-logs)

demo: $(VENV)/.installed ## Start the local stack, sign up Tim, show the webhook it sends, stop
	$(BIN)/python -m local demo

redrive: $(VENV)/.installed ## Replay the dead-letter queue: the running local stack, or STACK=<name> (deployed)
	$(BIN)/python -m local redrive $(if $(STACK),--stack $(STACK))

invoke: $(VENV)/.installed ## One function, once, on one event, no Docker: FUNCTION=<Signup|Notifier|Retry|Admin|Authorizer>Function EVENT=events/<file>.json (ls events/)
	$(BIN)/python -m local invoke $(FUNCTION) --event $(EVENT)

clean: ## Remove the virtualenvs and build output
	rm -rf $(VENV) $(TOOLS_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# The benchmark's own extras (matplotlib for docs/benchmarks.png), never installed by `make test`.
$(VENV)/.bench-installed: $(VENV)/.installed requirements/bench.txt
	set -o pipefail; $(BIN)/pip install $(PIP_FLAGS) -r requirements/bench.txt $(PIP_PROGRESS)
	touch $@

bench: $(VENV)/.bench-installed ## Benchmark on the local stack, write docs/benchmarks.{md,json,png} (~5 min on 2 cores; ARGS="--only slow_receiver")
	@test -d .aws-sam/build || $(MAKE) build || echo "sam build failed: built sizes will read 'not built'"
	$(BIN)/python -m bench $(ARGS)
