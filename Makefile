# Two commands do all set-up on a fresh Debian/Ubuntu machine with Python 3.11+ and make:
#   make demo   - python3-venv if missing, virtualenv, install, run the demo (no servers)
#   make test   - also installs what the tests start (mosquitto, victoria-metrics, chromium,
#                 postgresql) and openssl, which makes the TLS tests' certificates
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test venv deps-test system-deps lint bench clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "Forewarn needs Python 3.11 or newer: run make with PYTHON=python3.11 (or newer)"; \
	  exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "installing python3-venv (Debian and Ubuntu ship Python without venv)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/forewarn demo $(DEMO_ARGS)

system-deps:
	@missing=""; \
	[ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	[ -x /usr/bin/victoria-metrics ] || missing="$$missing victoria-metrics"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/openssl ] || missing="$$missing openssl"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	  for s in mosquitto victoria-metrics postgresql; do $(SUDO) systemctl disable --now $$s >/dev/null 2>&1 || true; done; \
	fi

test: venv system-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .

bench: venv system-deps
	$(PY) bench/ingest_throughput.py
	$(PY) bench/ingest_scale_out.py
	$(PY) bench/api_throughput.py
	$(PY) bench/simulator_scale.py
	$(PY) bench/model_full_run.py
	$(PY) bench/detector_fit.py
	$(PY) bench/train_busy.py
	$(PY) bench/single_sensor_guard.py

clean:
	rm -rf $(VENV) var .pytest_cache
