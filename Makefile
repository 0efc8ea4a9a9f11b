# Two commands: `make run` (serve) and `make test` (the suite). Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint bench migrate token clean chromium wrk

$(RUNTIME): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(RUNTIME)
	$(PY) run.py serve

migrate: $(RUNTIME)
	$(PY) run.py migrate

test: $(DEV) chromium
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest

# The browser tests drive Debian's chromium, the bench loads servers with wrk: both installed
# from Debian's packages when missing (scripts/install-debian-package).
chromium:
	@test -x $(CHROMIUM) || scripts/install-debian-package chromium

wrk:
	@command -v wrk >/dev/null || scripts/install-debian-package wrk

lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

bench: $(DEV) wrk
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
