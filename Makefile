# One-command demo and tests. Everything the project needs is installed from here.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run run-ha test bench lint deps ha-deps sumo-deps system-deps browser-deps apt clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	touch $@

# The SUMO evaluation and its tests need Eclipse SUMO from PyPI (the .[sumo] extra); the demo does not.
$(VENV)/.sumo-installed: $(VENV)/.installed
	$(PIP) install -q -e '.[test,sumo]'
	touch $@

sumo-deps: $(VENV)/.sumo-installed

deps: $(VENV)/.installed system-deps

# Redis comes from Debian's package: a real server, no build step, same as production.
# So does the MQTT broker the home alarm devices' gateways publish to (mosquitto, with its
# mosquitto_passwd for the per-gateway password file and mosquitto_pub for the documented demo).
system-deps:
	@command -v redis-server >/dev/null || $(MAKE) --no-print-directory apt PACKAGES=redis-server
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] && command -v mosquitto_pub >/dev/null || \
	  $(MAKE) --no-print-directory apt PACKAGES="mosquitto mosquitto-clients"

# The fault-tolerant topology puts Debian's HAProxy in front of the app nodes.
ha-deps:
	@command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || $(MAKE) --no-print-directory apt PACKAGES=haproxy

# The browser tests drive Debian's Chromium (never a downloaded browser); a CJK font so the
# Chinese labels render in screenshots.
browser-deps:
	@command -v chromium >/dev/null && [ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || \
	  $(MAKE) --no-print-directory apt PACKAGES="chromium fonts-wqy-zenhei"

apt:
	@echo "installing $(PACKAGES) (Debian packages)"
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PACKAGES) >/dev/null

run: deps
	$(VENV)/bin/jointdispatch serve --host $(HOST) --port $(PORT)

# 3 sentinels, a primary and 2 replicas, 2 app nodes behind HAProxy, all on this machine.
run-ha: deps ha-deps
	$(VENV)/bin/jointdispatch cluster up --port $(PORT)

test: deps sumo-deps browser-deps ha-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q tests

# wrk generates the HTTP load in C, so the client does not steal the server's CPU.
bench: deps sumo-deps
	@command -v wrk >/dev/null || $(MAKE) --no-print-directory apt PACKAGES=wrk
	$(PY) -m bench.run

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var
