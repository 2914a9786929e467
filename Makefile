# Everyday entry points: the test suites and the local Kafka broker they run against.
# `make help` lists the targets. BOOTSTRAP names the broker (default localhost:9092).

BOOTSTRAP ?= localhost:9092
export BOOTSTRAP

CARGO ?= cargo
KAFKA := scripts/kafka-local.sh

.PHONY: help kafka-up kafka-down kafka-status kafka-logs kafka-clean \
	unit-test integration-test test

help:
	@echo "targets:"
	@echo "  kafka-up          start a local Kafka broker unless one answers on $(BOOTSTRAP)"
	@echo "  kafka-down        stop the broker that kafka-up started"
	@echo "  kafka-status      tell whether a broker answers on $(BOOTSTRAP)"
	@echo "  kafka-logs        show the end of the local broker's log"
	@echo "  kafka-clean       stop the local broker and wipe its data and logs"
	@echo "  unit-test         cargo test"
	@echo "  integration-test  ensure a broker, then cargo test --test integration"
	@echo "  test              unit-test, then integration-test, against a broker; one started"
	@echo "                    for them is stopped afterwards"

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

unit-test:
	$(CARGO) test

integration-test: kafka-up
	$(CARGO) test --test integration

# Starts a broker only when none answers, and stops it again afterwards, pass or fail. It is
# started before the unit tests too, since plain `cargo test` also builds and runs tests/.
test:
	@started=no; \
	if ! $(KAFKA) status >/dev/null; then \
		$(KAFKA) up || exit 1; \
		started=yes; \
	fi; \
	status=0; \
	{ $(MAKE) --no-print-directory unit-test && \
		$(MAKE) --no-print-directory integration-test; } || status=$$?; \
	if [ $$started = yes ]; then $(KAFKA) down; fi; \
	exit $$status
