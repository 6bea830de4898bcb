# jaxrec: two commands do all the set-up.
#   make demo   creates .venv if missing, prepares ML-1M, trains SASRec (10 epochs, <= 10 min),
#               evaluates on the test split (full ranking), prints the metric table, exports
#               the model to ONNX and serves one HTTP request through Ray Serve.
#   make test   creates .venv if missing and runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA_DIR ?= $(if $(JAXREC_DATA_DIR),$(JAXREC_DATA_DIR),../shared/datasets)
DEMO_MINUTES ?= 8
DEMO_EPOCHS ?= 10
DEMO_DIR ?= runs/demo
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint venv clean

venv: $(STAMP)

$(STAMP): requirements/lock.txt requirements/nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -r requirements/lock.txt
	$(PY) -m pip install -q --no-deps -r requirements/nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	@test -d "$(DATA_DIR)/ml-1m_sasrec" || { echo "ML-1M not found under $(DATA_DIR): set JAXREC_DATA_DIR, or run '$(VENV)/bin/jaxrec data download movielens-1m --out DIR' and prepare it with --source movielens" >&2; exit 2; }
	$(VENV)/bin/jaxrec data prepare --source sasrec-txt --input "$(DATA_DIR)/ml-1m_sasrec/ml-1m.txt" --out data/ml-1m
	$(VENV)/bin/jaxrec train --config configs/sasrec.py --data data/ml-1m --workdir $(DEMO_DIR) --max-minutes $(DEMO_MINUTES) --set max_epochs=$(DEMO_EPOCHS)
	$(VENV)/bin/jaxrec evaluate --workdir $(DEMO_DIR) --split test --out $(DEMO_DIR)/test_metrics.json --dump-topk $(DEMO_DIR)/test_top100.jsonl > /dev/null
	$(PY) -m jaxrec.report $(DEMO_DIR)/test_metrics.json
	$(VENV)/bin/jaxrec export --workdir $(DEMO_DIR) --format onnx --out $(DEMO_DIR)/export --overwrite
	$(PY) -m serve.demo_request --model $(DEMO_DIR)/export

test: $(STAMP)
	XLA_FLAGS=--xla_force_host_platform_device_count=8 $(PY) -m pytest -q

# Real-data runs need optimised XLA code (tests/conftest.py defaults to level 0 for fast compiles).
test-slow: $(STAMP)
	XLA_FLAGS="--xla_force_host_platform_device_count=8 --xla_backend_optimization_level=2" $(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf runs data .pytest_cache .ruff_cache
