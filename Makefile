# make run: the console on http://localhost:8080/ddenterpriseapi/ with its SQLite database in instance/.
# make test: every test, with the servers they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench screenshots clean

run: $(VENV)/.installed-run
	$(BIN)/flask --app ddenterpriseapi db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.installed-test
	scripts/test-system-packages
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python bench/send.py

screenshots: $(VENV)/.installed-test
	scripts/test-system-packages
	DDE_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser -k readme_screenshots

$(VENV)/.installed-run: pyproject.toml
	scripts/ensure-venv $(PYTHON) $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	scripts/ensure-venv $(PYTHON) $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) *.egg-info tests/artifacts
