# Everything a fresh clone needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
KEYS_DIR ?= example_site/var/vendor-keys
MANAGE := $(BIN)/python example_site/manage.py

.PHONY: demo test test-wagtail7 install lint axe serve seed migrate keys benchmarks screenshots clean \
	docs dist wheel-smoke matrix release-check messages

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

# axe-core (package.json, package-lock.json) for the accessibility browser test, from the npm
# registry; without npm the test is skipped, as the browser tests are without Chromium.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility browser test will be skipped"; fi

axe: node_modules/.installed

test: install lint axe
	$(BIN)/pytest

# The same suite on the Wagtail 7 LTS, in a virtualenv of its own. Wagtail 7.0 supports Django
# 4.2 to 5.2 but declares no upper bound, so Django is pinned here.
VENV7 ?= .venv-wagtail7
$(VENV7)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV7)
	$(VENV7)/bin/python -m pip install --quiet --upgrade pip
	$(VENV7)/bin/python -m pip install --quiet -e '.[test-all]' 'wagtail>=7.0,<7.1' 'django>=5.2,<5.3'
	touch $@

# The packaging and newcomer tests build and install the wheel with the newest Wagtail: nothing
# of Wagtail 7 in them. Left out too, as the same whatever Wagtail (`make test` runs them): the
# catalogues' browser walk, the demo from a clean state, the fuzz tests of files and the killed
# worker processes (CI's time).
test-wagtail7: $(VENV7)/.installed
	$(VENV7)/bin/pytest --ignore=tests/project/test_packaging.py --ignore=tests/browser/test_newcomer.py \
		--ignore=tests/browser/test_translations.py --ignore=tests/fuzz \
		--ignore=tests/faults/test_killed_worker.py \
		--deselect=tests/project/test_demo.py::test_the_demo_works_from_a_clean_state

# The translation catalogues brought up to date with the code (wagtail_licensing/locale/*/
# LC_MESSAGES/django.po), compiled (.mo, committed), and what is left to translate listed
# (docs/translations.md). Needs GNU gettext (apt-get install gettext).
LANGUAGES ?= de fr es
messages: install
	cd wagtail_licensing && $(abspath $(BIN))/django-admin makemessages --no-obsolete \
		--add-location=file $(addprefix -l ,$(LANGUAGES))
	cd wagtail_licensing && $(abspath $(BIN))/django-admin compilemessages $(addprefix -l ,$(LANGUAGES))
	$(BIN)/python scripts/untranslated.py $(LANGUAGES)

# The documentation site, warnings as errors: docs/_build/html/index.html.
docs: install
	$(BIN)/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

# The sdist and wheel in dist/, checked: twine's metadata check and what they hold.
dist: install
	rm -rf dist
	$(BIN)/python -m build --quiet --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python .ci/check_dist.py dist

# The wheel installed into a fresh virtualenv (not the source tree), and a site run with it.
wheel-smoke: dist
	PYTHON=$(BIN)/python .ci/wheel-smoke dist

# The version matrix (noxfile.py): `make matrix` runs every cell, `make matrix NOX_ARGS="-t ci"`
# the ones CI runs.
NOX_ARGS ?=
matrix: install
	$(BIN)/nox $(NOX_ARGS)

# Everything a maintainer checks before tagging a release (docs/releasing.md).
release-check: install
	$(BIN)/python .ci/check_release.py
	$(MAKE) test
	$(MAKE) test-wagtail7
	$(MAKE) docs
	$(MAKE) wheel-smoke
	$(MAKE) matrix

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

# Re-take the documentation's screenshots (docs/images/) from the browser tests.
screenshots: install
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser

clean:
	rm -rf $(VENV) $(VENV7) .nox build dist docs/_build example_site/var node_modules
