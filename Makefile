# Developer shortcuts. `make help` lists them.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: help install demo test lint types screenshots bench policy

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install:  ## create .venv and install hamari with its test tools
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -e '.[test]'

demo:  ## run the demo
	$(VENV)/bin/hamari --demo

test:  ## run the test suite (what CI runs)
	$(VENV)/bin/pytest -n 2

lint:  ## ruff lint + format check + import contracts
	$(VENV)/bin/ruff check tui widgets tests && $(VENV)/bin/ruff format --check tui widgets tests && $(VENV)/bin/lint-imports

types:  ## mypy on the data layer
	$(VENV)/bin/mypy

screenshots:  ## regenerate screenshots/*.svg from the seeded demo
	$(PY) -m tui.demo.screenshots

bench:  ## run the benchmarks (figures beside baselines measured in the same run)
	$(PY) -m tui.bench

policy:  ## regenerate the IAM policy from the read-only operation list
	$(PY) -m tui.aws.operations > tui/iam-policy.json
