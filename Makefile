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

.PHONY: setup run test lint jstest pytest services-leg system-packages bench fuzz clean

setup: $(VENV)/.installed

# Recreated when pyproject.toml changes or the venv's Python is too old for Django 6.
$(VENV)/.installed: pyproject.toml scripts/find-python
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
	$(PY) -m pip install --quiet --editable '.[dev]'
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

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

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

BENCHMARKS := realtime_proxy status_fanout legacy_latency speakable call_monitor

# Each prints its figures and whether it met its goal; the exit status says if all did.
bench: setup system-packages
	@status=0; for name in $(BENCHMARKS); do \
		echo "=== bench/$$name.py"; $(PY) -m bench.$$name 2>/dev/null || status=1; \
	done; exit $$status

# The suite fuzzes every API operation on a small, repeatable budget (tests/fuzz); this digs
# deeper, with fresh cases each run: `make fuzz FUZZ_EXAMPLES=500`.
FUZZ_EXAMPLES ?= 150

fuzz: setup system-packages
	VOICE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) VOICE_FUZZ_RANDOM=true $(VENV)/bin/pytest tests/fuzz -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
