# gosc-harvest — every target sets up what it needs (virtualenv + pinned packages from uv.lock).
#   make demo   run the whole pipeline on the bundled demo partner network
#   make test   run the test suite (offline; servers on 127.0.0.1 only)
#   make bench  benchmarks (ratios measured side by side in one run)

PYTHON   ?= python3
VENV     := .venv
BOOT     := .uv-bootstrap
UV       := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV       := $(BOOT)/bin/uv
endif
SYNCED   := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# compile bytecode at install, not on every first import (PYTHONDONTWRITEBYTECODE is set here)
export UV_COMPILE_BYTECODE := 1

.PHONY: all venv build lint demo test bench bench-quick sources-check airflow airflow-stop clean distclean

all: test

# A fresh machine has no uv: install it into a private bootstrap venv (no system changes).
$(BOOT)/bin/uv:
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/python -m pip install --quiet --disable-pip-version-check uv

$(SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --python $(PYTHON)
	@touch $@

venv: $(SYNCED)

# The project's own modules to bytecode (uv compiles the installed packages only): where
# PYTHONDONTWRITEBYTECODE is set, every process (each harvest, parse worker, Airflow task) would
# otherwise compile them from source at start.
build: $(SYNCED)
	@$(VENV)/bin/python -m compileall -q harvest dags plugins bench

demo: $(SYNCED) build
	$(VENV)/bin/harvest demo

sources-check: $(SYNCED) build
	$(VENV)/bin/harvest sources check

# the house style and the tests (the layer contracts are a test: tests/test_structure.py)
lint: $(SYNCED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(SYNCED) build lint
	$(VENV)/bin/python -m pytest

bench: $(SYNCED) build
	$(VENV)/bin/python -m bench

bench-quick: $(SYNCED) build
	$(VENV)/bin/python -m bench --quick

airflow: $(SYNCED) build
	scripts/airflow-stack.sh start

airflow-stop:
	scripts/airflow-stack.sh stop

clean:
	rm -rf data .pytest_cache bench/results

distclean: clean
	rm -rf $(VENV) $(BOOT)
