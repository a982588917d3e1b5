# Two commands on a fresh machine: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo_out
# `make demo ANCHORS=1` also trains the HecVL/PeskaVLP/CLIP-style configurations and prints the comparison
ANCHORS ?=
# The CPU torch wheel is pinned and installed first: any unpinned torch (also one pulled in by
# another package) resolves to a multi-GB CUDA build. GPU users: install your CUDA torch first.
TORCH  := torch==2.13.0
# exact versions of every dependency (CPU); `make lock` regenerates it after a pyproject.toml change
LOCK   := requirements/lock-cpu.txt

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export TOKENIZERS_PARALLELISM := false

.PHONY: install lock lint browser demo serve test test-fast bench clean

# torch first (the local CPU wheel), then exactly the locked versions, then hierskp itself without deps
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	# decord2 replaced decord 0.6.0 and installs the same `decord` module: an older venv drops the old one first
	$(BIN)/pip uninstall -y -q decord 2>/dev/null || true
	$(BIN)/pip install -q -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

lock:
	test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/python requirements/compile_lock.py --out $(LOCK)

install: $(STAMP)

demo: install
	$(BIN)/python -m flows.demo --out $(DEMO) $(if $(ANCHORS),--anchors)

# the web app over the demo's newest run, its cache and its videos: http://127.0.0.1:8765/ (SERVE_RUN=... for another)
SERVE_RUN ?= $(lastword $(sort $(wildcard $(DEMO)/runs/run-*)))
serve: install
	@test -n "$(SERVE_RUN)" || { echo "no run in $(DEMO)/runs: run 'make demo' first" >&2; exit 2; }
	$(BIN)/hierskp serve --run $(SERVE_RUN) --cache $(DEMO)/cache.zarr --videos $(DEMO)/corpus

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# the `hierskp serve` browser test drives Debian's headless chromium through chromium-driver (selenium is in the lock)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver; } || \
	  echo "make browser: install Debian's chromium and chromium-driver (as root) for tests/serve/test_serve_browser.py"

# 2 worker processes, a test file at a time each (module fixtures stay shared); the slowest tests are listed
# at the end, so growth of the suite's time is seen where it happens. `make test PYTEST_WORKERS=0`: one process
PYTEST_WORKERS ?= 2
test: install lint browser
	$(BIN)/python -m pytest -q --durations=25 $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile)

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(DEMO)
