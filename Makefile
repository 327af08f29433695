# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Each creates .venv/ from requirements.lock and installs the Node packages once;
# the stamp files make a second run re-install nothing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Reference models, exports and test artifacts are cached here, keyed by content hash.
export TOOLKIT_CACHE_DIR ?= $(CURDIR)/.cache/toolkit
NODE_PROJECTS := $(patsubst %/package.json,%,$(wildcard toolkit/runtimes/node/package.json web_demo/package.json))
NODE_STAMPS := $(addsuffix /node_modules/.installed,$(NODE_PROJECTS))

.PHONY: run test lint setup clean

setup: $(STAMP) $(NODE_STAMPS)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# onnxruntime-node (if ever pulled in) would try to download CUDA files offline.
%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(BIN)/toolkit run --out artifacts --reports reports

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf artifacts reports .cache
