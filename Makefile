# tui-desk: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DEB_PACKAGES := dovecot-imapd dovecot-lmtpd

.PHONY: run demo test lint system-deps venv bench clean

run: venv  ## set up and start tui-desk on demo data (no account, no network needed)
	$(VENV)/bin/tui-desk demo

demo: run

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "tui-desk needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demo]'
	touch $@

system-deps:  ## Debian packages the test mail host needs (Dovecot)
	@if command -v dovecot >/dev/null 2>&1 && test -x /usr/lib/dovecot/lmtp; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else \
	  echo "The tests need Dovecot: run as root 'apt-get install $(DEB_PACKAGES)'"; exit 1; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "The tests need Dovecot (2.3) with imapd and lmtpd; install them with your package manager"; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_PACKAGES)

lint: venv
	$(VENV)/bin/ruff check tui_desk tests benchmarks
	$(VENV)/bin/lint-imports

test: system-deps venv lint  ## set up everything and run the whole test suite
	$(VENV)/bin/pytest -q

bench: venv
	$(PY) benchmarks/sync.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
