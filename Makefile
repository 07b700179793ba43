# Two commands: `make run` (embedded default, demo data) and `make test` (whole suite).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint unit install clean bench

$(BIN)/python:
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml examples/xinfang-housing/pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q -e examples/xinfang-housing
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/xinfang init
	$(BIN)/xinfang demo --if-empty
	@echo "打开 http://127.0.0.1:8000 ；演示账号见上方（例如 机构 north-heating，用户 clerk）。"
	$(BIN)/xinfang run --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy core plugins daemon
	$(BIN)/lint-imports --no-cache

test: $(STAMP)
	bash scripts/ensure-services.sh
	$(MAKE) lint
	$(BIN)/pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	bash scripts/ensure-services.sh
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
