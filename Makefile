# kbroker: `make serve` runs a broker on 127.0.0.1:9092, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: serve test soak bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	touch $@

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test,bench]'
	touch $@

serve: $(VENV)/.runtime
	$(BIN)/kbroker --host 127.0.0.1 --port 9092 --data-dir data

system-deps:
	@command -v kcat >/dev/null 2>&1 || ./.ci/install-system-deps

test: $(VENV)/.test system-deps
	$(BIN)/pytest -q

soak: $(VENV)/.test system-deps
	$(BIN)/pytest -q -m slow

bench: $(VENV)/.bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data *.egg-info
