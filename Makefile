# Two commands: `make run` serves the product, `make test` runs the whole suite.
# Both work on a fresh machine with Python >= 3.11: they create .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements-dev.lock
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)

.PHONY: run test lint bench install clean vendor lock

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Exactly the locked versions, checked against their hashes; then our own code, editable.
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	$(BIN)/frontdesk serve --demo --with-worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/understanding.py
	$(BIN)/python bench/faq_matching.py
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/chat.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/api_faults.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/event_delivery.py
	$(BIN)/python bench/workspace_views.py
	$(BIN)/python bench/hostile_input.py
	$(BIN)/python bench/operations_overhead.py
	$(BIN)/python bench/calendar_sync.py
	$(BIN)/python bench/schemathesis_run.py

clean:
	rm -rf var .pytest_cache .ruff_cache

# socket.io-client for the widget and the workspace, pinned, from npm (the copy is committed:
# `make run` and `make test` need no network for it).
SOCKET_IO_CLIENT_VERSION = 4.8.1
vendor:
	rm -rf var/vendor && mkdir -p var/vendor
	cd var/vendor && npm pack socket.io-client@$(SOCKET_IO_CLIENT_VERSION) && tar xzf socket.io-client-$(SOCKET_IO_CLIENT_VERSION).tgz
	cp var/vendor/package/dist/socket.io.min.js var/vendor/package/LICENSE widget/vendor/socket.io-client/

# Upgrade every locked dependency to the newest versions pyproject.toml allows, with hashes:
# requirements.lock for the image, requirements-dev.lock for development, tests and CI.
COMPILE = $(BIN)/pip-compile --quiet --upgrade --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links
lock: install
	$(BIN)/pip install --quiet pip-tools
	$(COMPILE) -o requirements.lock pyproject.toml
	$(COMPILE) --extra dev -o requirements-dev.lock pyproject.toml
