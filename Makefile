# Two entry points, both self-installing on a fresh machine with Python 3.11:
#   make run   - install and serve on http://127.0.0.1:8000 under gunicorn
#   make test  - install (with dev and training extras) and run the whole suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
LOCK    = constraints.txt

.PHONY: run test system-deps lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg $(LOCK)
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev,train]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/gunicorn --config deploy/gunicorn.conf.py wsgi:app

test: $(VENV)/.installed-dev system-deps
	$(BIN)/pytest

# Servers the integration tests start for real; installed once when missing (needs root).
system-deps:
	@command -v nginx >/dev/null 2>&1 || scripts/install-system-deps.sh

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache
