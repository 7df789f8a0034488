# kbroker: `make serve` runs a broker on 127.0.0.1:9092, `make test` runs every test.
#
# Test tiers (by directory):
#   make unit  the fast tier, well under 30 s: kproto/tests (the codec), storage/tests (the log
#              engine), broker/tests (coordinator tables; handler tests speaking kproto frames to
#              an in-process broker on port 0, broker/tests/handlers/). No subprocess, no client
#              library, no system tool. Run it while working.
#   make test  everything, under 15 min: the fast tier, then compat_tests/ (kafka-python,
#              confluent-kafka, aiokafka, kcat and kafkajs against broker processes, the fuzz
#              test). CI (.ci/run) runs this.
#              compat_tests/cluster/ runs clusters of broker processes on a local ZooKeeper
#              (system-deps installs Debian's; without it those tests skip, saying why).
#   make soak  only the slow soak tests (@pytest.mark.slow), which both tiers leave out.
# `make cluster` runs ZooKeeper and three brokers for development (cluster mode).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q
# A plain path entry for the editable install (no import hook to load at start-up),
# and bytecode written up front: start-up is half as long when Python need not
# compile every module (some environments set PYTHONDONTWRITEBYTECODE).
EDITABLE := --config-settings editable_mode=compat -e
COMPILE  := $(BIN)/python -m compileall -q kproto storage broker bench >/dev/null
KAFKAJS  := compat_tests/kafkajs
UNIT     := kproto/tests storage/tests broker/tests

.PHONY: serve cluster unit test soak bench bench-scale system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(PIP) install $(EDITABLE) .
	$(COMPILE)
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) install $(EDITABLE) '.[test]'
	$(COMPILE)
	touch $@

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(PIP) install $(EDITABLE) '.[test,bench]'
	$(COMPILE)
	touch $@

serve: $(VENV)/.runtime
	$(COMPILE)
	$(BIN)/kbroker --host 127.0.0.1 --port 9092 --data-dir data

# A local development cluster: ZooKeeper and 3 brokers on 9092-9094 (data in ./kbroker-cluster).
cluster: $(VENV)/.test system-deps
	$(COMPILE)
	$(BIN)/kbroker cluster --brokers 3 --data-dir kbroker-cluster

system-deps:
	@{ command -v kcat && test -e /usr/share/java/zookeeper.jar && command -v chromium && command -v chromedriver; } \
		>/dev/null 2>&1 || ./.ci/install-system-deps

# kafkajs for compat_tests/test_kafkajs.py, reinstalled when the lock file changes;
# without node and npm nothing is installed and those tests skip.
$(KAFKAJS)/node_modules: $(KAFKAJS)/package-lock.json
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		npm ci --silent --prefix $(KAFKAJS) && touch $@ || { rm -rf $@; exit 1; }; \
	fi

unit: $(VENV)/.test
	$(BIN)/pytest -q $(UNIT)

test: $(VENV)/.test system-deps $(KAFKAJS)/node_modules
	$(BIN)/pytest -q

soak: $(VENV)/.test system-deps
	$(BIN)/pytest -q -m slow

bench: $(VENV)/.bench
	$(COMPILE)
	$(BIN)/python -m bench

# 10,000 partitions, 1,000 connections, 100,000 topics created and deleted (bench/scale.py)
bench-scale: $(VENV)/.bench
	$(COMPILE)
	$(BIN)/python -m bench.scale

clean:
	rm -rf $(VENV) data kbroker-cluster *.egg-info
