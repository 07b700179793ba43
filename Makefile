# Two commands: `make run` (embedded default, demo data) and `make test` (whole suite).
# Python 3.11 or newer: the first of python3.13, python3.12, python3.11, python3 that runs
# and is new enough (a pyenv shim of a version not selected exists but does not run).
PY_CANDIDATES := python3.13 python3.12 python3.11 python3
PY ?= $(shell for p in $(PY_CANDIDATES); do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint unit install clean bench screenshots

$(BIN)/python:
	@test -n "$(PY)" || { echo "Python 3.11 or newer is required: none of $(PY_CANDIDATES) is one." \
		"Install it, or name it: make PY=/path/to/python3.12" >&2; exit 1; }
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"Python 3.11 or newer is required; $(PY) is " + sys.version.split()[0] + \
		". Install a newer one, or name it: make PY=/path/to/python3.12")'
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
	$(BIN)/mypy core plugins daemon xinfang_launch
	$(BIN)/lint-imports --no-cache

test: $(STAMP)
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh
	$(MAKE) lint
	$(BIN)/pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	bash scripts/ensure-services.sh
	$(BIN)/python -m tests.bench

# The README's screenshots, taken by the browser tests.
screenshots: $(STAMP)
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh
	XINFANG_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/browser

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
