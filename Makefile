# Two entry points, both self-installing on a fresh machine with Python 3.11:
#   make run   - install and serve on http://127.0.0.1:8000 under gunicorn
#   make test  - install (with dev and training extras) and run the whole suite
#   make stack - nginx + two gunicorn replicas on http://127.0.0.1:8080 (configs, logs: run/)
#   make train - install the training extra and retrain every model into run/artifacts/
#   make image - build the OCI image (Containerfile) with podman or docker
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
LOCK    = constraints.txt
IMAGE  ?=

.PHONY: run stack train test image system-deps stack-deps lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg $(LOCK)
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev,train]'
	touch $@

$(VENV)/.installed-train: $(VENV)/.installed
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[train]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/gunicorn --config deploy/gunicorn.conf.py wsgi:app

# Ctrl-C stops nginx first, then each replica gracefully.
stack: $(VENV)/.installed stack-deps
	$(BIN)/python deploy/stack.py

# Beside the committed artifacts, never over them; compare the printed pins with configs/models.toml.
TRAIN_ARGS ?= all --artifacts run/artifacts --force
train: $(VENV)/.installed-train
	$(BIN)/mlservice train $(TRAIN_ARGS)

test: $(VENV)/.installed-dev system-deps
	$(BIN)/pytest

# The image: wheels from constraints.txt collected on the host, then Containerfile (docs/deployment.md).
image: $(VENV)/.installed
	PIP="$(BIN)/pip" scripts/build-image.sh $(IMAGE)

# Debian packages, installed once when missing (needs root): the stack needs nginx and its
# njs module (per-key rate limits); the tests also drive chromium (the docs page) and build
# and run the image with podman (runc, and mmdebstrap for a base image from Debian's packages),
# check the alert rules and scrape two replicas with Prometheus (promtool comes with it), and
# write decision records to a PostgreSQL server they start themselves.
NJS = /usr/lib/nginx/modules/ngx_http_js_module.so
TEST_PACKAGES = nginx libnginx-mod-http-js chromium podman runc mmdebstrap uidmap prometheus postgresql
stack-deps:
	@command -v nginx >/dev/null 2>&1 && [ -f $(NJS) ] || scripts/install-system-deps.sh nginx libnginx-mod-http-js
system-deps:
	@command -v nginx >/dev/null 2>&1 && [ -f $(NJS) ] && command -v chromium >/dev/null 2>&1 \
	  && command -v podman >/dev/null 2>&1 && command -v mmdebstrap >/dev/null 2>&1 && [ -x /usr/sbin/runc ] \
	  && command -v promtool >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || scripts/install-system-deps.sh $(TEST_PACKAGES)

lock:
	{ echo "# Exact versions the committed artifacts were built and tested with (regenerate: make lock)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^-e'; } > $(LOCK)

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(MLSERVER_VENV) .pytest_cache

# Performance harness, not part of the tests: floor, tutorial-style app and this service under
# gunicorn, driven by wrk (installed from Debian when missing); about 7 minutes on a quiet
# machine. Prints the summary and writes bench/results/latest.{txt,json}. See docs/performance.md.
# It runs in its own environment holding what a production install holds (the package and its
# core dependencies, byte-compiled as an install compiles them): the test and training extras
# would change start-up (scikit-learn imports pandas whenever it is installed).
BENCH_VENV ?= .venv-bench
.PHONY: bench
bench:
	@$(MAKE) --no-print-directory VENV=$(BENCH_VENV) $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m compileall -q mlservice deploy bench wsgi.py
	$(BENCH_VENV)/bin/python -m bench $(BENCH_ARGS)

# The harness with (d): MLServer 1.7 and its scikit-learn runtime, in an environment of their own
# holding the lock's scikit-learn and NumPy, so that the same artifacts load unchanged; `make bench`
# includes it whenever .venv-mlserver exists. uvloop < 0.22: with 0.22, MLServer 1.7.1's parallel
# inference workers die at start (asyncio.get_event_loop raises in them).
MLSERVER_VENV ?= .venv-mlserver
$(MLSERVER_VENV)/bin/mlserver:
	$(PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/pip install --quiet --upgrade pip
	grep -v '^uvloop==' $(LOCK) > $(MLSERVER_VENV)/constraints.txt  # the lock's uvloop is the dev extra's (MLServer's types)
	$(MLSERVER_VENV)/bin/pip install --quiet -c $(MLSERVER_VENV)/constraints.txt "mlserver>=1.7,<1.8" "mlserver-sklearn>=1.7,<1.8" "uvloop<0.22" -e .

.PHONY: bench-mlserver
bench-mlserver: $(MLSERVER_VENV)/bin/mlserver bench
