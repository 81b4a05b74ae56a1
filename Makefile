# One entry point for every task. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install demo test lint format clean integration-pack integration-package bench

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

demo: ## run the buildpack on the bundled sample app
	$(BIN)/python -m integration.demo

test: ## run every test; fails when none ran
	$(BIN)/python -m pytest

integration-package: package ## the integration scenarios against the packaged archive
	WP_BUILDPACK_ARCHIVE=build/writable-paths-$$(sed -n 's/^ *version = "\(.*\)"/\1/p' buildpack.toml | head -n1).tgz \
	  $(BIN)/python -m pytest integration -q

integration-pack: ## real pack builds (needs pack and a Docker daemon; skipped without them)
	$(BIN)/python -m pytest integration -m pack

bench: ## benchmarks against chgrp/chmod -R and find (SIZES=10k,100k,1m RUNS=3)
	$(BIN)/python benchmarks/bench.py --sizes $(or $(SIZES),10k,100k) --runs $(or $(RUNS),3)

lint: ## ruff and mypy --strict
	$(BIN)/ruff check src tests integration package benchmarks
	$(BIN)/ruff format --check src tests integration package benchmarks
	$(BIN)/mypy src

format:
	$(BIN)/ruff format src tests integration package benchmarks
	$(BIN)/ruff check --fix src tests integration package benchmarks

clean:
	rm -rf $(VENV) vendor python build .pytest_cache .mypy_cache .ruff_cache

.PHONY: package
package: ## build/writable-paths-<version>.tgz, the self-contained buildpack; TARGET=linux/amd64 (or linux/arm64) for one arch
	@test -x $(BIN)/python || { echo "make package: no $(BIN)/python; run 'make install' first" >&2; exit 2; }
	$(BIN)/python package/build.py $(if $(TARGET),--target $(TARGET))
