# The two commands a newcomer needs: `make run` and `make test` (see README.md).
# Everything they install is named here or in pyproject.toml, so a fresh machine needs only this repo.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
SIM_PORT ?= 8100
# Debian packages: Chromium for the browser tests, espeak-ng so the simulator speaks real words,
# Node.js for the front end's unit tests.
APT_PACKAGES := chromium espeak-ng nodejs
# The second test leg runs against the machine's real services when they answer.
PG_URL ?= postgres://postgres@127.0.0.1:5432/voice
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: setup run serve-production test lint typecheck format lock jstest pytest services-leg system-packages bench fuzz docs clean

setup: $(VENV)/.installed node_modules/.installed

# The JavaScript tools (biome, and tsc for the pure modules' JSDoc types), at the versions package-lock.json pins; the browser code itself
# has no build step and no runtime dependencies.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Recreated when the lock file changes or the venv's Python is too old for Django 6. The
# packages come from requirements/dev.txt (exact versions with hashes, from `make lock`); the
# project itself is installed on top, editable, without resolving anything again.
$(VENV)/.installed: requirements/dev.txt pyproject.toml scripts/find-python
	@set -e; \
	if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "$(VENV) uses a Python older than 3.12; recreating it"; rm -rf $(VENV); \
	fi; \
	if [ ! -x $(PY) ]; then \
		base=$$(scripts/find-python); \
		echo "Creating $(VENV) with $$base ($$($$base --version))"; \
		$$base -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --requirement requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	@touch $@

system-packages:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

run: export DEBUG ?= true
# The first run writes a local .env (DEBUG on, generated secrets) so every manage.py command
# works afterwards too; an existing .env is left as it is.
run: setup system-packages
	@$(PY) scripts/dev_env.py
	@$(PY) manage.py migrate --noinput
	@$(PY) manage.py voice_demo_user
	@PORT=$(PORT) HOST=$(HOST) SIM_PORT=$(SIM_PORT) scripts/serve

# The production web server (see README.md "Production"): WEB_CONCURRENCY uvicorn workers, one
# per core by default, on HOST:PORT. Run `manage.py voice_monitor` beside it.
serve-production: setup
	@HOST=$(HOST) PORT=$(PORT) scripts/serve-production

lint: setup typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	node_modules/.bin/biome check --error-on-warnings .
	node_modules/.bin/tsc -p jsconfig.json
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

# mypy with the Django and DRF plugins; what it checks, and how strictly, is in pyproject.toml.
typecheck: setup
	$(VENV)/bin/mypy

# The lock files, from pyproject.toml: requirements/base.txt (the app alone, for deployments)
# and requirements/dev.txt (with the simulator and the tools; what `make setup` installs). Run
# it after changing a dependency; `make lock UPGRADE=1` moves everything to the newest allowed.
COMPILE = $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links \
	$(if $(UPGRADE),--upgrade)

lock: setup
	$(COMPILE) --output-file requirements/base.txt pyproject.toml
	$(COMPILE) --extra dev --extra simulator --output-file requirements/dev.txt pyproject.toml

# Applies the formatters and the safe lint fixes that `make lint` checks for.
format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	node_modules/.bin/biome check --write .

pytest: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Every browser module must at least parse; the pure ones have unit tests.
jstest:
	@for module in $$(git ls-files '*/static/*.js'); do \
		node --experimental-default-type=module --no-warnings --check $$module || exit 1; \
	done
	node --test tests/js/

# The default leg (SQLite, in-memory channel layer), then the same suite on PostgreSQL and Redis.
test: setup system-packages lint jstest
	@echo "== test leg 1: SQLite + in-memory channel layer"
	$(VENV)/bin/pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory services-leg

services-leg: setup
	@if $(PY) scripts/services_answer.py "$(PG_URL)" "$(REDIS_TEST_URL)"; then \
		echo "== test leg 2: PostgreSQL + Redis channel layer"; \
		DATABASE_URL="$(PG_URL)" REDIS_URL="$(REDIS_TEST_URL)" $(VENV)/bin/pytest $(PYTEST_ARGS); \
	else \
		echo "== test leg 2 skipped: PostgreSQL or Redis does not answer on localhost"; \
	fi

BENCHMARKS := realtime_proxy status_fanout legacy_latency voice_to_voice speakable call_monitor conversation_search

# Each prints its figures and whether it met its goal; the exit status says if all did. Its
# errors and its servers' warnings stay on stderr: a benchmark that fails says why.
bench: setup system-packages
	@status=0; for name in $(BENCHMARKS); do \
		echo "=== bench/$$name.py"; $(PY) -m bench.$$name || status=1; \
	done; exit $$status

# The suite fuzzes every API operation on a small, repeatable budget (tests/fuzz); this digs
# deeper, with fresh cases each run: `make fuzz FUZZ_EXAMPLES=500`.
FUZZ_EXAMPLES ?= 150

fuzz: setup system-packages
	VOICE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) VOICE_FUZZ_RANDOM=true $(VENV)/bin/pytest tests/fuzz -q $(PYTEST_ARGS)

# docs/api.md's error table, from voice/errors.py (a test fails when they differ).
docs: setup
	$(PY) scripts/docs_error_table.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache
