# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Each creates .venv/ from requirements.lock and installs the Node packages once;
# the stamp files make a second run re-install nothing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Reference models and the suite's test artifacts are cached where the CLI caches them
# ($TOOLKIT_CACHE_DIR, else ~/.cache/keras-export-toolkit), keyed by content hash: `make run` and the
# README's commands then use the same trained models.
NODE_PROJECTS := $(patsubst %/package.json,%,$(wildcard toolkit/runtimes/node/package.json web_demo/package.json))
NODE_STAMPS := $(addsuffix /node_modules/.installed,$(NODE_PROJECTS))
# The litert-arm64 runtime's aarch64 Python under qemu-user (toolkit/runtimes/arm64/setup.sh; apt needs root).
ARM64_STAMP := .arm64/.installed

.PHONY: run zoo test test-zoo lint setup clean

setup: $(STAMP) $(NODE_STAMPS) $(ARM64_STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# onnxruntime-node (if ever pulled in) would try to download CUDA files offline.
%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Never fails: where it cannot be built, .arm64/UNAVAILABLE says why and the runtime reports itself unavailable.
$(ARM64_STAMP): toolkit/runtimes/arm64/setup.sh toolkit/runtimes/arm64/requirements.lock | $(STAMP)
	bash toolkit/runtimes/arm64/setup.sh .arm64 $(BIN)/pip

run: setup
	$(BIN)/toolkit run --out artifacts --reports reports

test: setup
	$(BIN)/python -m pytest

# The zoo tier in full: every model (ResNet50 and ConvNeXtTiny included), batches 1 and 4, and its main job.
test-zoo: setup
	TOOLKIT_ZOO_BATCHES=1,4 $(BIN)/python -m pytest -m "slow or not slow" parity_tests/test_zoo.py

zoo: setup
	$(BIN)/toolkit run --suite zoo --out artifacts --reports reports/zoo

lint: setup
	$(BIN)/ruff check .

# The cache (trained reference models) is kept: remove ~/.cache/keras-export-toolkit by hand to retrain.
clean:
	rm -rf artifacts reports test-output
