# Everyday entry points: the test suites, the local Kafka broker they run against, and simrun
# against that broker. `make help` lists the targets. BOOTSTRAP names the broker (default
# localhost:9092); SCENARIO names the scenario of `create-topics` and `run`.

BOOTSTRAP ?= localhost:9092
SCENARIO ?= scenarios/black-friday.yaml
export BOOTSTRAP

CARGO ?= cargo
KAFKA := scripts/kafka-local.sh

# The release binary, built once by cargo (which does nothing when it is up to date) and then
# called directly. CARGO_TARGET_DIR moves it, as it moves every cargo build.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
SIMRUN := $(TARGET_DIR)/release/simrun

SMOKE_SCENARIO := scenarios/smoke.yaml
SMOKE_REPORT := $(TARGET_DIR)/smoke-report.json

.PHONY: help kafka-up kafka-down kafka-status kafka-logs kafka-clean build \
	create-topics list-topics topics run smoke unit-test integration-test test \
	bench bench-micro

help:
	@echo "targets:"
	@echo "  kafka-up          start a local Kafka broker unless one answers on $(BOOTSTRAP)"
	@echo "  kafka-down        stop the broker that kafka-up started"
	@echo "  kafka-status      tell whether a broker answers on $(BOOTSTRAP)"
	@echo "  kafka-logs        show the end of the local broker's log"
	@echo "  kafka-clean       stop the local broker and wipe its data and logs"
	@echo "  build             build the release binary, $(SIMRUN)"
	@echo "  create-topics     create the topics of SCENARIO (default $(SCENARIO))"
	@echo "  list-topics       list every topic on $(BOOTSTRAP)"
	@echo "  topics            create-topics, then list-topics"
	@echo "  run               run SCENARIO against $(BOOTSTRAP)"
	@echo "  smoke             broker up if needed, then run $(SMOKE_SCENARIO) and verify it"
	@echo "  unit-test         cargo test: no broker needed"
	@echo "  integration-test  the tests against the broker on $(BOOTSTRAP), which must run"
	@echo "  test              unit-test, then integration-test; a broker started for them is"
	@echo "                    stopped afterwards"
	@echo "  bench             the end-to-end benchmark of docs/performance.md (about 10 minutes);"
	@echo "                    a broker started for it is stopped afterwards. BENCH_ARGS adds"
	@echo "                    options of bench/run.py, e.g. BENCH_ARGS='--only generation'"
	@echo "  bench-micro       cargo bench: the criterion micro-benchmarks of the hot paths"

kafka-up:
	@$(KAFKA) up

kafka-down:
	@$(KAFKA) down

kafka-status:
	@$(KAFKA) status

kafka-logs:
	@$(KAFKA) logs

kafka-clean:
	@$(KAFKA) clean

build:
	$(CARGO) build --release --bin simrun

create-topics: build
	$(SIMRUN) topics create $(SCENARIO) -b $(BOOTSTRAP)

list-topics: build
	$(SIMRUN) topics list -b $(BOOTSTRAP)

topics: create-topics list-topics

run: build
	$(SIMRUN) run $(SCENARIO) -b $(BOOTSTRAP)

# The quickest end-to-end check: five seconds of traffic through all three steps, then every
# verify check on what landed, against the run's report.
smoke: kafka-up build
	$(SIMRUN) topics create $(SMOKE_SCENARIO) -b $(BOOTSTRAP)
	$(SIMRUN) run $(SMOKE_SCENARIO) -b $(BOOTSTRAP) --report $(SMOKE_REPORT)
	$(SIMRUN) verify $(SMOKE_SCENARIO) -b $(BOOTSTRAP) --report $(SMOKE_REPORT)

unit-test:
	$(CARGO) test

# Needs a broker on BOOTSTRAP (`make kafka-up`); without one the tests fail, they never skip.
integration-test:
	$(CARGO) test --features integration-tests --test integration

# The unit tests need no broker. One is started for the integration tests only when none
# answers, and stopped again afterwards, pass or fail.
test: unit-test
	$(KAFKA) with-broker $(MAKE) --no-print-directory integration-test

# The end-to-end benchmark (docs/performance.md): generation, delivery against Kafka's own
# ProducerPerformance, pacing and memory, each beside its target. Like `test`, it starts a broker
# only when none answers and stops it again afterwards. Nothing in CI runs it.
bench:
	$(KAFKA) with-broker python3 bench/run.py $(BENCH_ARGS)

bench-micro:
	$(CARGO) bench --bench hot_paths
