# Quick start: `make run` and `make test`. Both install missing Debian packages first.
PRESET ?= debug
BUILD_DIR := build/$(PRESET)
CONFIG ?= config/examples/dev.yaml
JOBS ?= $(shell nproc)

.PHONY: all deps configure build run test asan fuzz clean reference

all: build

deps:
	@scripts/install-deps

configure: deps
	@test -f $(BUILD_DIR)/build.ninja || cmake --preset $(PRESET)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/gateway/sinetti serve --config $(CONFIG)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

asan:
	$(MAKE) test PRESET=asan

# libFuzzer targets (clang); FUZZ_SECONDS per target, default 60.
fuzz: deps
	scripts/fuzz

clean:
	rm -rf build

# Regenerates the README's configuration reference from the schema (a test checks they agree).
reference: build
	$(BUILD_DIR)/gateway/sinetti config-reference > $(BUILD_DIR)/reference.md
	/usr/bin/python3 scripts/replace-section README.md "CONFIG REFERENCE" $(BUILD_DIR)/reference.md
