# Everything a fresh clone needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
KEYS_DIR ?= example_site/var/vendor-keys
MANAGE := $(BIN)/python example_site/manage.py

.PHONY: demo test test-wagtail7 install lint serve seed migrate keys benchmarks screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the packaging metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install lint
	$(BIN)/pytest

# The same suite on the Wagtail 7 LTS, in a virtualenv of its own.
VENV7 ?= .venv-wagtail7
$(VENV7)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV7)
	$(VENV7)/bin/python -m pip install --quiet --upgrade pip
	$(VENV7)/bin/python -m pip install --quiet -e '.[dev]' 'wagtail>=7.0,<7.1'
	touch $@

test-wagtail7: $(VENV7)/.installed
	$(VENV7)/bin/pytest --ignore=tests/project/test_packaging.py

keys: install
	@test -f $(KEYS_DIR)/demo.pem || $(BIN)/wagtail-licensing-vendor keygen --kid demo --out $(KEYS_DIR)

migrate: keys
	WAGTAIL_LICENSING_VENDOR_KEYS_DIR=$(KEYS_DIR) $(MANAGE) migrate --noinput

seed: migrate
	WAGTAIL_LICENSING_VENDOR_KEYS_DIR=$(KEYS_DIR) $(MANAGE) seed_demo --keys-dir $(KEYS_DIR)

demo: seed
	@echo
	@echo "  wagtail-licensing demo: http://127.0.0.1:$(PORT)/admin/"
	@echo "  superuser:        admin / admin"
	@echo "  license manager:  manager / manager"
	@echo "  editors:          editor1 / editor   (editor1 .. editor50; 1-30 named, 31-45 concurrent, 46-49 none)"
	@echo "  portal users:     portal1 / portal   (portal1 .. portal5; no admin access)"
	@echo
	WAGTAIL_LICENSING_VENDOR_KEYS_DIR=$(KEYS_DIR) $(MANAGE) runserver 127.0.0.1:$(PORT)

benchmarks: install
	$(BIN)/python benchmarks/enforcement.py
	$(BIN)/python benchmarks/import_export.py
	$(BIN)/python benchmarks/bulk_grant.py
	$(BIN)/python benchmarks/pages.py

# Re-take the README's screenshots (docs/images/) from the browser tests.
screenshots: install
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser

clean:
	rm -rf $(VENV) $(VENV7) example_site/var
