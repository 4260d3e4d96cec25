# storywire task runner: CI calls these targets unchanged (.ci/run -> make test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BROKER_PORT ?= 19092
BROKER_DIR ?= .run/broker
# Reinstall when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install demo test lint unit integration fuzz soak broker-start broker-stop sample bench bench-kafka bench-live clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

## install also puts Debian's chromium in place for the report's browser test (Playwright drives it, nothing is
## downloaded by Playwright); without root or apt-get, or when apt-get fails, a note says the test will skip.
install: $(STAMP)
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update && apt-get install -y --no-install-recommends chromium) \
		|| echo "note: installing chromium failed: tests/integration/test_report_browser.py will skip"; \
	else echo "note: chromium is not installed (needs root and apt-get): tests/integration/test_report_browser.py will skip"; fi; }

## demo: fresh local broker, replay the bundled sample to Kafka and JSONL files, print the stories
demo: install
	$(BIN)/python deploy/local_broker.py stop --state-dir $(BROKER_DIR)
	$(BIN)/python deploy/local_broker.py start --port $(BROKER_PORT) --state-dir $(BROKER_DIR)
	$(BIN)/storywire demo --sink kafka://127.0.0.1:$(BROKER_PORT) --sink file://out/demo
	@echo "The broker keeps running on 127.0.0.1:$(BROKER_PORT) for consumers (README), e.g. $(if $(filter-out 19092,$(BROKER_PORT)),STORYWIRE_BROKER=kafka://127.0.0.1:$(BROKER_PORT) )storywire tail stories; stop it with: make broker-stop$(if $(filter-out .run/broker,$(BROKER_DIR)), BROKER_DIR=$(BROKER_DIR))"

## test: lint, type-check, then the whole suite (fixtures start and stop the broker and HTTP servers). Four
## workers even on two cores: most integration tests wait on a broker or a server, and the waits overlap.
TEST_WORKERS ?= 4
test: install lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## unit: the fast loop: no broker, no servers, no benchmark tests
unit: install
	$(BIN)/python -m pytest -m "not integration and not slow"

integration: install
	$(BIN)/python -m pytest -m integration

## fuzz: the property-based tests with the long hypothesis profile (thousands of examples each, random seeds;
## failures kept in .run/hypothesis and tried first next time). `make test` runs them with the short fixed budget.
FUZZ_WORKERS ?= 2
fuzz: install
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -n $(FUZZ_WORKERS) -m fuzz tests/fuzz

## soak: storywire run polling a loopback site into the local broker and files for SOAK_MINUTES, storywire replay
## looping beside it; samples the run's RSS and open fds and says whether they stay flat (docs/operations.md)
SOAK_MINUTES ?= 10
soak: install
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

broker-start: install
	$(BIN)/python deploy/local_broker.py start --port $(BROKER_PORT) --state-dir $(BROKER_DIR)

broker-stop:
	$(BIN)/python deploy/local_broker.py stop --state-dir $(BROKER_DIR)

## sample: rebuild pipelines/bundled/storywire-sample.warc.gz from the readable sources in sample/
sample: install
	$(BIN)/python sample/build_sample.py

## bench: story quality on NewsCluster (held-out half) and the fit behind the joining rule
bench: install
	$(BIN)/python bench/story_fit.py
	$(BIN)/python bench/stories.py

## bench-live: the live poller (engine) on 2,000 feeds answering 304, next to bare conditional GETs
bench-live: install
	$(BIN)/python bench/live_poll.py --workers 1
	$(BIN)/python bench/live_poll.py --workers 8
	$(BIN)/python bench/http_fetch.py
	$(BIN)/python bench/poll_core.py

## bench-kafka: the Beam Kafka sink next to bare kafka-python, on a local broker of its own
bench-kafka: install
	$(BIN)/python bench/kafka_sink.py

clean:
	rm -rf out .run .pytest_cache .mypy_cache .ruff_cache
