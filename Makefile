# Two commands: `make run` serves the product, `make test` runs the whole suite.
# Both work on a fresh machine with Python >= 3.11: they create .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench install clean vendor

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
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
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/chat.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/event_delivery.py
	$(BIN)/python bench/workspace_views.py

clean:
	rm -rf var .pytest_cache .ruff_cache

# socket.io-client for the widget and the workspace, pinned, from npm (the copy is committed:
# `make run` and `make test` need no network for it).
SOCKET_IO_CLIENT_VERSION = 4.8.1
vendor:
	rm -rf var/vendor && mkdir -p var/vendor
	cd var/vendor && npm pack socket.io-client@$(SOCKET_IO_CLIENT_VERSION) && tar xzf socket.io-client-$(SOCKET_IO_CLIENT_VERSION).tgz
	cp var/vendor/package/dist/socket.io.min.js var/vendor/package/LICENSE widget/vendor/socket.io-client/
