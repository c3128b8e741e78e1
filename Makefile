# The two commands a newcomer needs: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13; find that interpreter even where pyenv has not selected it.
PYTHON313 := $(shell for p in python3.13 $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13 2>/dev/null); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .sam-venv
SAM := $(SAM_VENV)/bin/sam
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt functions/shared/requirements.txt | sha1sum | cut -c1-12)
SAM_STAMP := $(SAM_VENV)/.installed-$(shell sha1sum requirements-sam.txt | cut -c1-12)
UV := $(or $(wildcard $(VENV)/bin/uv),uv)
UV_COMPILE := --quiet --generate-hashes --python-version 3.13 --custom-compile-command "make lock" \
	$(if $(UV_UPGRADE_PACKAGE),--upgrade-package $(UV_UPGRADE_PACKAGE))
# The web console (web/): npm ci writes node_modules/.package-lock.json, so it reruns when the lockfile moves;
# the build reruns when any source is newer than the built index.html.
WEB_MODULES := web/node_modules/.package-lock.json
WEB_SOURCES := $(shell find web/src -type f -not -path 'web/src/generated/*' 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json docs/openapi.json
WEB_BUILT := web/dist/index.html

.PHONY: help
help:
	@echo "make run     start the whole service locally (API on 127.0.0.1:$${PORT:-3000})"
	@echo "make test    lint and type check, template checks and every test"
	@echo "make token SUB=alice EMAIL=alice@example.com   a sign-in token for the local stack"
	@echo "make check-card STATION=ACME-HQ-1 CARD=DA7E0001   would this card be accepted there now?"
	@echo "make provision STATION=CP-9 ORG=<organization_id>   provision a charger for an organization (local)"
	@echo "make charger STATION=CP-9 [OCPP=2.0.1]   run a simulated charger for that station (local) until Ctrl-C"
	@echo "make openapi regenerate docs/openapi.json from the routes"
	@echo "make lock    pin every environment's dependencies, with hashes (each requirements*.in -> .txt)"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make build   sam build (what 'sam deploy' ships) and the web console (web/dist)"
	@echo "make deploy  build, then deploy the stack (guided the first time; samconfig.toml keeps the answers)"
	@echo "make console build the web console (web/dist) if its sources changed"
	@echo "make publish-console STACK=<name>   upload web/dist and its config.json to a deployed stack"

$(STAMP): requirements-dev.txt functions/shared/requirements.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 is required (the Lambda runtime); install it and retry." >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

$(SAM_STAMP): requirements-sam.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 is required (the Lambda runtime); install it and retry." >&2; exit 1; }
	rm -rf $(SAM_VENV)
	$(PYTHON313) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-sam.txt
	touch $@

.PHONY: venv
venv: $(STAMP)

$(WEB_MODULES): web/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20.19+ and npm are required for the web console; install them and retry." >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error

$(WEB_BUILT): $(WEB_MODULES) $(WEB_SOURCES)
	@# The API's types are generated from docs/openapi.json first (npm run types), then the pages built.
	cd web && npm run --silent build

.PHONY: console
console: $(WEB_BUILT)

.PHONY: lint
lint: $(STAMP) $(WEB_MODULES)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd web && npm run --silent typecheck

.PHONY: template
template: $(STAMP) $(SAM_STAMP)
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint

.PHONY: build
build: $(SAM_STAMP) console
	PATH="$(dir $(PYTHON313)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build

.PHONY: deploy
deploy: build
	@# The first deploy is guided (it asks for the stack's parameters and saves them in samconfig.toml's
	@# deploy section); every later one deploys with what was saved.
	@if grep -q '^\[default\.deploy\.parameters\]' samconfig.toml; then \
		SAM_CLI_TELEMETRY=0 $(SAM) deploy; else SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided; fi

.PHONY: publish-console
publish-console: $(STAMP) console
	@# config.json from the stack's outputs, web/dist to its ConsoleBucket, its distribution invalidated.
	@test -n "$(STACK)" || { echo "Name the stack: make publish-console STACK=<name> [REGION=<region>]" >&2; exit 2; }
	$(PY) -m infra.publish_console --stack "$(STACK)" $(if $(REGION),--region "$(REGION)")

.PHONY: tools
tools:
	@# Debian packages the tests use: curl and jq run the README's examples (tests/e2e/test_readme.py);
	@# chromium is the browser the /docs and console tests drive (Playwright's own browser downloads are never used).
	@# One apt-get for whatever is missing (CI runs as root).
	@missing=$$(for t in curl jq chromium; do command -v $$t >/dev/null || echo $$t; done); \
	if [ -n "$$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

.PHONY: test
test: lint template build tools
	$(PY) -m pytest

.PHONY: run
run: $(STAMP) console
	$(PY) -m infra.local

.PHONY: token
token: $(STAMP)
	@$(PY) -m infra.token --sub "$(SUB)" --email "$(EMAIL)"

.PHONY: check-card
check-card: $(STAMP)
	@# The answer is the printed line; exit codes (0 accepted, 1 refused, 2 no answer) are for scripts
	@# calling the module, not a failure of make.
	@$(PY) -m infra.local.station_check --station "$(STATION)" --card "$(CARD)" --mqtt-port "$${MQTT_PORT:-1883}" || true

.PHONY: provision
provision: $(STAMP)
	@# The installer's step, on make run's moto: the charger's IoT thing names its organization. Against AWS,
	@# run `.venv/bin/python -m infra.provision --station ... --organization ...` with the account's credentials.
	@AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \
		$(PY) -m infra.provision --station "$(STATION)" --organization "$(ORG)" --endpoint-url "http://127.0.0.1:$${MOTO_PORT:-4566}"

.PHONY: lock
lock:
	@# Every environment from a lock with hashes (pip installs them with --require-hashes): the layer's, resolved for
	@# the runtime (arm64); the dev environment's, constrained by the layer's lock; the SAM CLI's. Existing pins
	@# are kept (UV_UPGRADE_PACKAGE=NAME moves one). uv comes from the dev lock, or any uv on the PATH before the
	@# first venv.
	$(UV) pip compile $(UV_COMPILE) --python-platform aarch64-manylinux_2_28 \
		functions/shared/requirements.in -o functions/shared/requirements.txt
	$(UV) pip compile $(UV_COMPILE) --universal requirements-dev.in -o requirements-dev.txt
	$(UV) pip compile $(UV_COMPILE) --universal requirements-sam.in -o requirements-sam.txt

.PHONY: charger
charger: $(STAMP)
	@# The demo's stations get theirs from `make run`; any other provisioned station gets one here, connected
	@# to make run's OCPP endpoint (OCPP=1.6 by default, or 2.0.1).
	@test -n "$(STATION)" || { echo "Name the station: make charger STATION=CP-9 [OCPP=2.0.1]" >&2; exit 2; }
	@$(PY) -m infra.local.chargers "$(STATION)" --ocpp-version "$(or $(OCPP),1.6)" \
		--ocpp-port "$${OCPP_PORT:-9000}" --mqtt-port "$${MQTT_PORT:-1883}"

.PHONY: openapi
openapi: $(STAMP)
	$(PY) -m infra.openapi > docs/openapi.json

.PHONY: bench
bench: $(STAMP)
	@failed=0; for b in dynamodb_calls approval_cost import_time local_stack station_latency station_fanout station_burst large_customers notify_emails station_map ocpp201_full sessions; do \
		echo "== bench/$$b.py"; $(PY) bench/$$b.py || failed=1; done; exit $$failed
