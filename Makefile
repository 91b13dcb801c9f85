# Every target works on a fresh clone by itself: it creates .venv and installs genzoo when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast test-app lint bench bench-peers labs labs-fast clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	# torch and torchvision first, pinned: pip picks them from this machine's disk, no large download
	$(BIN)/pip install "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Trains a VAE on the bundled MNIST on CPU (about a minute), then writes samples and reconstructions.
demo: $(STAMP)
	$(BIN)/genzoo fit --config experiments/recipes/mnist/vae.yaml --trainer.default_root_dir runs/demo
	$(BIN)/python experiments/demo_images.py runs/demo/vae-mnist

# Two tiers (the `slow` marker, tests/conftest.py): test-fast runs every test that starts no genzoo process
# loading torch, runs no DDP and trains for seconds at most (under a minute on 2 cores); test runs the whole
# suite, the fast tier first, so that a broken fast test fails within a minute, then the slow tier (many minutes).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" tests

test: test-fast
	$(BIN)/python -m pytest -q -m slow tests

# The web explorer's tests: gradio (the genzoo[app] extra) and a real headless Chromium (Debian's package;
# playwright drives it, so no browser is downloaded). `make test` skips these tests where they are missing.
test-app: $(STAMP)
	$(BIN)/pip install -e ".[app]"
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	$(BIN)/python -m pytest -q tests/test_app.py

# The teaching labs (docs/labs/README.md): installs the genzoo[labs] extra (Jupyter's kernel and runner), then
# runs every lab and its solution top to bottom in full mode and writes the notebooks with their outputs. Fails on
# any cell error, any check that prints FAIL, any exercise a solution leaves TODO, any lab over 3 minutes, any
# quoted source that is no longer the file's text and any {{name}} the prose cites without a value (build.py's
# docstring); it rewrites the timing table in docs/labs/README.md. LAB=01 runs one lab.
# labs-fast: the small-budget mode (GENZOO_LAB_FAST=1, a few batches per model) that CI can afford; its notebooks
# go to runs/labs-fast/, and cell errors, stale quotes of source files and unfilled citations fail it.
LABS_STAMP := $(VENV)/.labs-installed
$(LABS_STAMP): $(STAMP)
	$(BIN)/pip install -e ".[labs]"
	touch $(LABS_STAMP)

labs: $(LABS_STAMP)
	$(BIN)/python docs/labs/build.py $(LAB)

labs-fast: $(LABS_STAMP)
	$(BIN)/python docs/labs/build.py --fast $(LAB)

lint: $(STAMP)
	$(BIN)/ruff check genzoo tests experiments
	$(BIN)/ruff format --check genzoo tests experiments

bench: $(STAMP)
	$(BIN)/python experiments/bench_speed.py

# genzoo against pythae 0.1.2 and a hand-written fused-Adam loop (docs/performance.md). pythae lives in its own
# .venv-peers, never a genzoo dependency: it sees genzoo's torch through a .pth file (so torch stays the pinned one)
# and gets its small dependencies only (--no-deps: pip must not pick another torch).
PEERS := .venv-peers
PEERS_STAMP := $(PEERS)/.installed
$(PEERS_STAMP): $(STAMP)
	test -d $(PEERS) || $(PYTHON) -m venv $(PEERS)
	$(BIN)/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > \
		"$$($(PEERS)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/genzoo_venv.pth"
	$(PEERS)/bin/pip install --no-deps "pythae==0.1.2" cloudpickle imageio scikit-learn scipy threadpoolctl joblib narwhals
	$(PEERS)/bin/python -c "import torch, pythae.pipelines; assert torch.__version__.startswith('2.14.1'), torch.__version__"
	touch $(PEERS_STAMP)

bench-peers: $(PEERS_STAMP)
	$(BIN)/python experiments/bench_peers.py

clean:
	rm -rf runs results .pytest_cache .ruff_cache
