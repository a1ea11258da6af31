# make run: the console on http://localhost:8080/ddenterpriseapi/ with its SQLite database in instance/, its
# delivery worker and its SMTP relay on 127.0.0.1:2525 (Procfile); Ctrl-C stops them all.
# make test: every test, with the servers they need; make test-fast: those that need no Chromium, nginx or PostgreSQL.
# make bench: bench/send.py; make bench-outbox: bench/outbox.py, time-scaled (see bench/README.md).
# make bench-relay: bench/relay.py, the relay and its worker against email-oauth2-proxy (from the bench extra).
# make translations: collect the messages, merge them into each language's .po, compile the .mo files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCALES := ddenterpriseapi/translations

.PHONY: run test test-fast bench bench-outbox bench-relay screenshots translations clean

run: $(VENV)/.installed-run
	$(BIN)/flask --app ddenterpriseapi db upgrade
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start

test: $(VENV)/.installed-test
	scripts/test-system-packages
	$(BIN)/pytest

test-fast: $(VENV)/.installed-test
	$(BIN)/pytest -m "not browser and not nginx and not postgres"

bench: $(VENV)/.installed-test
	$(BIN)/python bench/send.py

OUTBOX_BENCH_ARGS ?= --scale 10
bench-outbox: $(VENV)/.installed-test
	$(BIN)/python bench/outbox.py $(OUTBOX_BENCH_ARGS)

RELAY_BENCH_ARGS ?=
bench-relay: $(VENV)/.installed-bench
	$(BIN)/python bench/relay.py $(RELAY_BENCH_ARGS)

screenshots: $(VENV)/.installed-test
	scripts/test-system-packages
	DDE_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser -k readme_screenshots

translations: $(VENV)/.installed-run
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --project ddenterpriseapi -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALES) --statistics

# Installs follow pyproject.toml's content, not its date: a checkout, a pull or a new worktree that leaves it as it
# was reinstalls nothing. The copy below is rewritten only when the content differs.
$(VENV)/.pyproject.toml: pyproject.toml
	@scripts/ensure-venv $(PYTHON) $(VENV)
	@cmp -s pyproject.toml $@ || cp pyproject.toml $@

$(VENV)/.installed-run: $(VENV)/.pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: $(VENV)/.pyproject.toml
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

clean:
	rm -rf $(VENV) *.egg-info tests/artifacts
