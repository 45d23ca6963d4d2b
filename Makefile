# RIIM: `make run` sets up and starts the whole platform; `make test` sets up and runs the tests.
# Every setup step is skipped when its inputs are unchanged, so a second run needs no network.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
MANAGE := $(PY) manage.py
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# makemessages and compilemessages walk the whole tree: keep them out of third-party code.
I18N_IGNORE := --ignore .venv --ignore node_modules --ignore staticfiles --ignore var --ignore media
PYTEST_ARGS ?=
PYTEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: help setup system-packages venv python-packages node-packages compilemessages migrate collectstatic \
	run test lint messages bench clean-stamps

help:
	@echo "make run       set up, seed the demo on first run, start web + workers + beat on http://127.0.0.1:8000"
	@echo "make test      set up, then run the whole test suite"
	@echo "make lint      ruff, import contracts (lint-imports) and actionlint"
	@echo "make messages  refresh locale/{es,en}/LC_MESSAGES/django.po and djangojs.po from the code"
	@echo "make setup     only the setup steps"
	@echo "make bench     benchmarks on ../shared/data: train the compressed model, then load the analysis API"

setup: system-packages python-packages node-packages compilemessages migrate collectstatic

# Debian packages, installed only when something is missing (a second run asks nothing of apt).
system-packages:
	@missing=""; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
		|| missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || [ -x "$${CHROMEWEBDRIVER:-/nonexistent}/chromedriver" ] \
		|| missing="$$missing chromium-driver"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	python3 -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -q; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(PY):
	python3 -m venv $(VENV)

venv: $(PY)

# Reinstall only when a requirements file changed (the stamp holds their checksum).
python-packages: $(PY)
	@sum="$$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"; \
	if [ "$$(cat $(VENV)/.requirements.sha256 2>/dev/null)" != "$$sum" ]; then \
		$(PIP) install -q --upgrade pip; \
		$(PIP) install -q -r requirements-dev.txt; \
		echo "$$sum" > $(VENV)/.requirements.sha256; \
	fi

node-packages:
	@lock=package-lock.json; [ -f "$$lock" ] || lock=package.json; \
	sum="$$(sha256sum "$$lock" | cut -d' ' -f1)"; \
	if [ "$$(cat node_modules/.riim.sha256 2>/dev/null)" != "$$sum" ]; then \
		if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi; \
		echo "$$sum" > node_modules/.riim.sha256; \
	fi

compilemessages: python-packages
	@$(MANAGE) compilemessages $(I18N_IGNORE) -v 0

# The embedded database and broker live in the var folder, which a fresh clone does not have yet.
# createcachetable makes the database cache's table when CACHES uses it (the embedded default; with Redis
# it does nothing): a command rather than a migration, so it follows CACHES whenever that changes.
migrate: python-packages
	@mkdir -p "$${RIIM_VAR_DIR:-var}"
	@$(MANAGE) migrate --noinput -v 0
	@$(MANAGE) createcachetable

# The npm packages ship source maps, type declarations and Node builds the pages never load; of the
# large ones (ONNX Runtime Web, TF.js) only the builds listed in riim_site/vendor.py are collected.
COLLECTSTATIC_IGNORE := -i '*.map' -i '*.d.ts' -i '*.tsbuildinfo' -i '*.min.js.html' -i '*.node.js' -i '*.node.min.*' -i miniprogram
# collectstatic copies the front-end files: rerun it only when a source changed.
collectstatic: python-packages node-packages
	@mkdir -p var; \
	if [ ! -f var/.collectstatic ] || [ -n "$$(find static riim_site/vendor.py node_modules/.riim.sha256 -newer var/.collectstatic -print -quit)" ]; then \
		$(MANAGE) collectstatic --noinput -v 0 $(COLLECTSTATIC_IGNORE); \
		touch var/.collectstatic; \
	fi

run: setup
	@mkdir -p var; \
	if [ ! -f var/.seeded ]; then $(MANAGE) seed_demo && touch var/.seeded; fi
	@echo "RIIM on http://127.0.0.1:8000 (a process that dies is restarted; Ctrl-C stops web, workers and beat)"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PYTHONUNBUFFERED=1 $(PY) riim_site/supervisor.py Procfile

# The whole suite on every core (PYTEST_WORKERS=1 runs it in this process): --dist loadgroup keeps a
# module, the browser tests and the real-worker tests each on one worker (tests/conftest.py).
# The exit status of pytest is kept in var/pytest.status (make itself can only say 2).
test: setup
	@mkdir -p var; status=0; \
	if [ "$(PYTEST_WORKERS)" = 1 ]; then parallel=""; else parallel="-n $(PYTEST_WORKERS) --dist loadgroup"; fi; \
	$(PY) -m pytest $$parallel --durations=25 $(PYTEST_ARGS) || status=$$?; \
	echo "$$status" > var/pytest.status; exit "$$status"

lint: python-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/actionlint

# Benchmarks (not tests): they need ../shared/data and take minutes. wrk is the API's load generator.
BENCH_WORK ?= bench/out
SHARED_DATA ?= ../shared/data
bench: setup
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; }
	$(PY) bench/ml_bench.py --runs mobilenet_compressed --weights-dir $(SHARED_DATA)/keras/models \
		--data $(SHARED_DATA)/catsdogs --ood $(SHARED_DATA)/ood_dev --work $(BENCH_WORK) \
		--out bench/results/ml_bench_compression.md --note "ml/ at commit $$(git rev-parse --short HEAD)"
	$(PY) bench/api_bench.py --model $(BENCH_WORK)/mobilenet_compressed --manifest $(BENCH_WORK)/manifest.csv \
		--ood $(SHARED_DATA)/ood_dev

messages: python-packages
	$(MANAGE) makemessages -l es -l en $(I18N_IGNORE) --no-obsolete
	$(MANAGE) makemessages -d djangojs -l es -l en $(I18N_IGNORE) --no-obsolete

clean-stamps:
	rm -f $(VENV)/.requirements.sha256 node_modules/.riim.sha256 var/.collectstatic
