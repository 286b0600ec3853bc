# The two set-up commands: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format check bench model clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

## run: serve the example intents.yaml on http://127.0.0.1:5000 (dry-run without Pushover credentials)
run: $(STAMP)
	$(BIN)/python -m skill serve

## test: create .venv, install, lint, run the whole suite
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: $(STAMP)
	$(BIN)/python -m skill check

model: $(STAMP)
	$(BIN)/python -m skill model

bench: $(STAMP)
	$(BIN)/python -m bench

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
# Flask and waitress serve the web endpoint; cryptography checks signatures that Lambda never gets.
LAMBDA_WEB_ONLY       := Flask waitress cryptography
lambda_empty :=
lambda_space := $(lambda_empty) $(lambda_empty)

.PHONY: build-SkillFunction
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
