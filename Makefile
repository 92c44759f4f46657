# Lifeboat: `make run` serves the all-in-one cloud; `make test` runs the CI suites.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -p no:cacheprovider -q

.PHONY: install run test test-unit test-fuzz test-distributed test-libvirt test-clients clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,db]'
	touch $@

run: install
	$(VENV)/bin/lifeboat-all-in-one $(if $(CONFIG),--config-file $(CONFIG))

# Each suite runs under its own time budget (seconds); see docs/testing.md.
# The libvirt suite runs last: its Tempest test uses the Keystone venv.
test: install
	bash scripts/ensure-services.sh
	bash scripts/install-libvirt.sh
	bash scripts/run-suite.sh unit 300 -n 3 -m "not fuzz and not distributed and not libvirt and not clients"
	bash scripts/run-suite.sh fuzz 180 -n 2 -m fuzz
	bash scripts/run-suite.sh distributed 600 -m distributed
	bash scripts/setup-keystone.sh
	bash scripts/run-suite.sh clients 600 -m clients
	bash scripts/run-suite.sh libvirt 600 -m libvirt

test-distributed: install
	bash scripts/ensure-services.sh
	bash scripts/run-suite.sh distributed 600 -m distributed

test-libvirt: install
	bash scripts/ensure-services.sh
	bash scripts/install-libvirt.sh
	bash scripts/setup-keystone.sh
	bash scripts/run-suite.sh libvirt 600 -m libvirt

test-clients: install
	bash scripts/setup-keystone.sh
	bash scripts/run-suite.sh clients 600 -m clients

test-unit: install
	$(PYTEST) -m "not fuzz and not distributed and not libvirt and not clients"

test-fuzz: install
	$(PYTEST) -m fuzz


clean:
	rm -rf $(VENV) state .pytest_cache
