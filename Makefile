# The two set-up commands of the README. Each creates .venv and installs on first use.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## run: the main job: the OMS host app on SQLite with the sample rulesets and demo data
run: $(STAMP)
	$(VENV)/bin/tarif check rulesets/
	$(VENV)/bin/tarif demo
	$(VENV)/bin/tarif serve

## test: the whole suite: lint, types (mypy), unit, property, doctest, scenario, API and browser tests
test: $(STAMP)
	bash .ci/browser
	$(PY) -m ruff check src tests bench
	$(PY) -m mypy
	$(PY) -m pytest
	$(VENV)/bin/tarif check rulesets/
	$(VENV)/bin/tarif test rulesets/

## bench: every benchmark under bench/ (prints figures and same-run baseline ratios)
bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b || exit 1; done
