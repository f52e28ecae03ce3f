# The two commands of the README: `make demo` (the main job) and `make test`.
# Both install what they need, idempotently, and then run.
SHELL := /bin/bash
PYTHON ?= python3
CARGO ?= cargo
VENV := .venv
DEMO_DIR := gauntlet-demo
GAUNTLET := target/debug/gauntlet

.PHONY: demo test venv build bench bench-peer clean-demo fixtures

## venv: the repo-local Python environment (ONNX Runtime for inference, tools).
venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

## fixtures: retrain and re-export the committed model fixtures (tests/fixtures/models):
## real XGBoost / LightGBM / scikit-learn exports trained on `gauntlet features export`
## of the synthetic universe (the demo's synth args), bundled by `gauntlet models
## bundle`. Not run by CI; commit the results.
FIXTURES_VENV := .venv-fixtures
FIXTURES_REQ := tests/fixtures/models/requirements-fixtures.txt

$(FIXTURES_VENV)/.installed: $(FIXTURES_REQ)
	$(PYTHON) -m venv $(FIXTURES_VENV)
	$(FIXTURES_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(FIXTURES_REQ)
	touch $@

fixtures: $(FIXTURES_VENV)/.installed build
	cd tests/fixtures/models && ../../../$(FIXTURES_VENV)/bin/python make_models.py

## build: the CLI in the dev profile it shares with the tests (our crates are
## optimized through per-package profile overrides in Cargo.toml).
build:
	$(CARGO) build --bin gauntlet

## demo: synthetic universe + the bundled real models -> backtest, gates and the full
## report in gauntlet-demo/ (shares the dev build with the tests).
demo: venv build
	$(GAUNTLET) demo --out $(DEMO_DIR)

## test: formatting, lints and doc links (warnings are errors), the whole test suite.
test: venv
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet
	$(CARGO) test --workspace
	$(CARGO) test -p gauntlet-kernels -p gauntlet-strategies --features gauntlet-kernels/scalar

## bench: criterion benches in release (slow to build: polars in release).
bench:
	$(CARGO) bench --workspace

## bench-peer: PEER whole commands, gauntlet against vectorbt (benches/peer/run.sh), in
## their own venv so the project's stays as `make test` installs it.
PEER_VENV := .venv-peer
PEER_REQ := benches/peer/requirements.txt

$(PEER_VENV)/.installed: $(PEER_REQ)
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(PEER_REQ)
	touch $@

bench-peer: $(PEER_VENV)/.installed
	$(CARGO) bench --workspace --no-run
	benches/peer/run.sh

clean-demo:
	rm -rf $(DEMO_DIR)
