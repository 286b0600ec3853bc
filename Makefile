# The two set-up commands: `make run` and `make test`. Everything else is optional; `make help` lists it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
# Stamps: the venv was made by a new enough Python; what serving needs is in; the tools are in.
MADE   := $(VENV)/.made
RUNTIME := $(VENV)/.installed-runtime
DEV    := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help run test lint format check bench model clean

## help: list these targets
help:
	@awk '/^## [A-Za-z-]+: / { sub(/^## /, ""); n = index($$0, ": "); printf "  make %-20s %s\n", substr($$0, 1, n - 1), substr($$0, n + 2) }' $(MAKEFILE_LIST)

# A Python older than 3.11 is named in one line before anything is made. A $(VENV) without the
# stamp is left over from a set-up that stopped half-way: it is removed and made again (one that an
# older Makefile finished, with its .installed stamp, is kept).
$(MADE):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: this needs Python 3.11 or newer, but $(PYTHON) is $$(v=$$($(PYTHON) -V 2>&1) && echo "$$v" || echo 'not found'); install one, then: make $(or $(MAKECMDGOALS),run) PYTHON=python3.11" >&2; \
	  exit 1; }
	@if [ -f $(VENV)/.installed ] && $(BIN)/python -c '' 2>/dev/null; then \
	  touch $@; \
	else \
	  if [ -e $(VENV) ]; then echo "note: $(VENV) is half-built (an earlier set-up stopped); making it again" >&2; rm -rf $(VENV); fi; \
	  echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV) && touch $@; \
	fi

$(RUNTIME): $(MADE) requirements.txt
	@echo "Installing what serving needs (requirements.txt) into $(VENV) ..."
	$(PIP) install --progress-bar on -r requirements.txt
	@touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	@echo "Installing the test, lint and benchmark tools (requirements-dev.txt) ..."
	$(PIP) install --progress-bar on -r requirements-dev.txt
	@touch $@

## run: serve the example intents.yaml on http://127.0.0.1:5000 (dry-run without Pushover keys); installs only requirements.txt
run: $(RUNTIME)
	$(BIN)/python -m skill serve

## test: install the tools too, lint, run the whole suite
test: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

## lint: ruff check and ruff format --check
lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## format: ruff format and ruff check --fix
format: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## check: validate intents.yaml and the interaction models
check: $(RUNTIME)
	$(BIN)/python -m skill check

## model: write interaction_models/<locale>.json from intents.yaml
model: $(RUNTIME)
	$(BIN)/python -m skill model

## bench: the benchmarks (about 11 min on 2 cores), results in bench/results.json
bench: $(DEV)
	$(BIN)/python -m bench

## clean: remove .venv and the caches
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .aws-sam

# --------------------------------------------------------------------------- AWS Lambda bundle
# `sam build` runs build-SkillFunction (template.yaml: BuildMethod makefile) in a copy of the
# repository, with ARTIFACTS_DIR set; by hand: make build-SkillFunction ARTIFACTS_DIR=/tmp/bundle
# The bundle holds skill/, intents.yaml (and intents.yaml.validated, the map checked once here) and
# requirements.txt less what only the web service needs,
# as wheels for Lambda (arm64, Python 3.13), compiled to bytecode when that Python is at hand:
# Lambda's code directory is read-only, so a bundle without it compiles every module at each cold start.
LAMBDA_PYTHON_VERSION ?= 3.13
LAMBDA_PIP_PLATFORM   ?= manylinux2014_aarch64 manylinux_2_28_aarch64
LAMBDA_PYTHON         ?= python$(LAMBDA_PYTHON_VERSION)
# Flask and hypercorn serve the web endpoint; cryptography checks signatures that Lambda never gets.
LAMBDA_WEB_ONLY       := Flask hypercorn cryptography
lambda_empty :=
lambda_space := $(lambda_empty) $(lambda_empty)

.PHONY: build-SkillFunction
## build-SkillFunction: the Lambda bundle (sam build runs it; by hand: make build-SkillFunction ARTIFACTS_DIR=DIR)
build-SkillFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it; or pass ARTIFACTS_DIR=DIR)" >&2; exit 2; }
	mkdir -p "$(ARTIFACTS_DIR)"
	rm -rf "$(ARTIFACTS_DIR)/skill"
	cp -R skill intents.yaml "$(ARTIFACTS_DIR)/"
	find "$(ARTIFACTS_DIR)/skill" -name __pycache__ -type d -prune -exec rm -rf {} +
	grep -v -i -E '^($(subst $(lambda_space),|,$(LAMBDA_WEB_ONLY)))([^A-Za-z0-9_.-]|$$)' requirements.txt \
	  | $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --no-compile --upgrade \
	      --target "$(ARTIFACTS_DIR)" --implementation cp --python-version $(LAMBDA_PYTHON_VERSION) \
	      --only-binary=:all: $(addprefix --platform ,$(LAMBDA_PIP_PLATFORM)) -r /dev/stdin
	rm -rf "$(ARTIFACTS_DIR)/bin"
	@# The map validated now, so a cold start loads it without validating it again (skill/bundle.py).
	@PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$(ARTIFACTS_DIR)" $(PYTHON) -m skill.bundle "$(ARTIFACTS_DIR)/intents.yaml" >/dev/null \
	  || echo "note: no pre-validated intent map in the bundle (above: why), so each cold start validates intents.yaml" >&2
	@if [ "$$($(LAMBDA_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$(LAMBDA_PYTHON_VERSION)" ]; then \
	  PYTHONWARNINGS=ignore::SyntaxWarning $(LAMBDA_PYTHON) -m compileall -q -j 0 \
	    --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)" >/dev/null; \
	else \
	  echo "note: no Python $(LAMBDA_PYTHON_VERSION) at '$(LAMBDA_PYTHON)', so the bundle has no bytecode and each cold start compiles it (set LAMBDA_PYTHON, or run sam build --use-container)" >&2; \
	fi
