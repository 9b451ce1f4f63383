# Koppel — every command a developer or CI needs. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13: use it when this machine has it (pyenv or PATH), else the default python3.
PY313 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
PYTHON ?= $(if $(PY313),$(PY313),python3)
VENV := .venv
TOOLS := .venv-tools
BIN := $(VENV)/bin
SAM := $(TOOLS)/bin/sam
SAM_VERSION := 1.170.0
# sam build needs the runtime's interpreter on PATH; no AWS account or credentials are needed for validate/build.
SAM_ENV := PATH="$(dir $(PYTHON)):$$PATH" AWS_DEFAULT_REGION=eu-west-1 SAM_CLI_TELEMETRY=0
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# Static security checks (`make security`): pinned tools in a venv of their own (checkov pins its own boto3 & co.).
SECURITY := .venv-security
CHECKOV_VERSION := 3.3.30
BANDIT_VERSION := 1.9.4
PIP_AUDIT_VERSION := 2.10.1
SECURITY_STAMP := $(SECURITY)/.installed-$(CHECKOV_VERSION)-$(BANDIT_VERSION)-$(PIP_AUDIT_VERSION)
# checkov offline: no platform API key, no guideline download (.checkov.yaml: skip-download), no mapping fetch.
CHECKOV_ENV := BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false

.PHONY: help install tools lint fmt validate build unit conformance connectors integration e2e invoke test demo console chaos fuzz bench clean deploy security layer-lock browser

help:
	@echo "make demo      run every koppeling end to end on the embedded local stack (moto + sandboxes), one after the other"
	@echo "make console   the demo, then the web console on its data at the printed address (Ctrl-C stops)"
	@echo "make test      lint, type-check, sam validate --lint, sam build, and every test"
	@echo "make unit | conformance | connectors | integration | e2e   one cost class of tests (pytest markers)"
	@echo "make invoke FN=<Function> EVENT=events/<file>.json   one event through its handler on the local stack"
	@echo "make security  checkov (template), bandit (code), pip-audit (the layer's pinned dependencies); part of make test"
	@echo "make chaos [KOPPELING=ccvshop_snelstart N=2000 SEED=7]   seeded faults per koppeling (all when none given);"
	@echo "               prints per koppeling orders/documents, duplicates, lost, parked, retries"
	@echo "make fuzz [N=10000 SEED=8]   N bad requests at every inbound door; prints requests, 4xx, 5xx, failures"
	@echo "make bench     cold start, CPU per order, throughput, rate-limited drain, latency, cost (docs/performance.md)"
	@echo "make deploy ENV=dev   build and deploy to AWS with SAM (needs AWS credentials)"

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e ".[dev]"
	@touch $@

$(SAM):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip --disable-pip-version-check -q install "aws-sam-cli==$(SAM_VERSION)"

$(SECURITY_STAMP):
	rm -rf $(SECURITY)
	$(PYTHON) -m venv $(SECURITY)
	$(SECURITY)/bin/python -m pip --disable-pip-version-check -q install \
		"checkov==$(CHECKOV_VERSION)" "bandit==$(BANDIT_VERSION)" "pip-audit==$(PIP_AUDIT_VERSION)"
	@touch $@

install: $(BIN)/.installed
tools: $(SAM)

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/koppel/koppel functions

validate: $(SAM)
	$(SAM_ENV) $(SAM) validate --lint --config-env default

build: $(SAM)
	$(SAM_ENV) $(SAM) build --config-env default

# Tests by cost: each test carries one marker from its folder (tests/conftest.py); `make test` runs them all.
# pytest exits 5 when a marker selects nothing (a class with no tests yet): that is no failure here.
unit conformance connectors integration e2e: install
	$(BIN)/pytest -q -m $@ || [ $$? -eq 5 ]

# One event file through the handler it is named for, on the local stack (no Docker); prints the handler's answer.
invoke: install
	$(BIN)/python -m devkit.invoke $(FN) $(EVENT)

# checkov on the template (.checkov.yaml), bandit on the code (bandit.yaml; tests/bandit.yaml), pip-audit on the
# layer's pinned runtime dependencies (devkit/layer_deps.py). cfn-lint runs in `validate` (sam validate --lint).
security: $(SECURITY_STAMP)
	$(CHECKOV_ENV) $(SECURITY)/bin/checkov --config-file .checkov.yaml
	$(SECURITY)/bin/bandit -q -c bandit.yaml -r layers functions --severity-level medium
	$(SECURITY)/bin/bandit -q -c bandit.yaml -r devkit --severity-level high
	$(SECURITY)/bin/bandit -q -c tests/bandit.yaml -r tests --severity-level high
	$(SECURITY)/bin/python devkit/layer_deps.py audit $(AUDIT_ARGS)

# Re-resolve the layer's transitive pins from its direct ones (layers/koppel/requirements.txt) for Lambda.
layer-lock: $(SECURITY_STAMP)
	$(SECURITY)/bin/python devkit/layer_deps.py lock

# Debian's Chromium and its driver for the console's browser tests (tests/e2e/browser.py), installed only when missing.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		APT="$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -q"; \
		$$APT install chromium chromium-driver || { $$APT update && $$APT install chromium chromium-driver; }; \
	fi

test: lint validate build security browser
	KOPPEL_REQUIRE_BROWSER=1 $(BIN)/pytest -q

demo: install
	$(BIN)/python -m devkit.demo

# The demo, then the console stays up on its data (address and logins printed) until Ctrl-C.
console: install
	$(BIN)/python -m devkit.demo --serve

# One koppeling (KOPPELING=<source>_<target>, devkit/koppelingen/), or every one in turn: N is then the largest
# run's size and the others keep their share (the default: 2000 CCV Shop orders, 300 Bizzcloud documents).
chaos: install
	$(BIN)/python -m devkit.chaos $(if $(KOPPELING),--koppeling $(KOPPELING)) $(if $(N),--size $(N)) --seed $(or $(SEED),7)

# Bad input at scale (docs/security.md): N seeded bad requests per inbound door on the local stack; fails on any
# 5xx, bad request accepted or enqueued, data changed or secret leaked.
fuzz: install
	$(BIN)/python -m devkit.fuzz --requests $(or $(N),10000) --seed $(or $(SEED),8)

bench: install
	$(BIN)/python -m devkit.bench

deploy: build
	$(SAM_ENV) $(SAM) deploy --config-env $(or $(ENV),dev)

clean:
	rm -rf $(VENV) $(TOOLS) $(SECURITY) .aws-sam .pytest_cache .mypy_cache .ruff_cache
