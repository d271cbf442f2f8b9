# One-command demo and tests. Everything the project needs is installed from here.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint deps system-deps clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	touch $@

deps: $(VENV)/.installed system-deps

# Redis comes from Debian's package: a real server, no build step, same as production.
system-deps:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server >/dev/null; }

run: deps
	$(VENV)/bin/jointdispatch serve --host $(HOST) --port $(PORT)

test: deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -m "not browser" tests

bench: deps
	$(PY) -m bench.run

lint: deps
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var
