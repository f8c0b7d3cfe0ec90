# vtrust: the two newcomer commands are `make run` and `make check`.
# Both install missing Debian packages first (scripts/install-deps.sh): `make run` only the
# runtime set (no QEMU, guest kernel, Prometheus or clang), `make check` everything.

BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
TSAN    ?= build-tsan
MESON_TEST_ARGS ?=
FUZZ_SECONDS ?= 10

# What `make run` builds: the daemon and its CLI. Not the tests, fuzzers, benchmarks or the probe
# (vtrustd prints how to build the probe where it suggests it).
RUN_TARGETS = daemon/vtrustd ctl/vtrustctl

.PHONY: all deps deps-runtime build run run-build check check-main check-asan check-fuzz check-tsan lint format bench vm-demo clean

all: build

deps:
	@bash scripts/install-deps.sh

deps-runtime:
	@bash scripts/install-deps.sh --runtime

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run-build: deps-runtime $(BUILD)/build.ninja
	ninja -C $(BUILD) $(RUN_TARGETS)

# Starts vtrustd with working defaults: sockets under ./run, state under ./var.
run: run-build
	exec ./$(BUILD)/daemon/vtrustd --run-dir ./run --state-dir ./var

check: deps
	@rm -f .check-results
	$(MAKE) --no-print-directory check-main
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory check-tsan
	$(MAKE) --no-print-directory check-fuzz
	@python3 scripts/test-summary.py $(BUILD) $(ASAN) $(TSAN) $(FUZZ)

check-main: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs $(MESON_TEST_ARGS)

check-asan:
	@test -f $(ASAN)/build.ninja || meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=false
	ninja -C $(ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN) --print-errorlogs --no-suite slow $(MESON_TEST_ARGS)

check-tsan:
	@test -f $(TSAN)/build.ninja || CC=clang meson setup $(TSAN) -Db_sanitize=thread -Db_lundef=false -Dvm_tests=false
	ninja -C $(TSAN)
	TSAN_OPTIONS=halt_on_error=1 meson test -C $(TSAN) --print-errorlogs --suite tsan $(MESON_TEST_ARGS)

# Builds the libFuzzer harnesses with clang and runs each one briefly.
check-fuzz:
	@test -f $(FUZZ)/build.ninja || CC=clang meson setup $(FUZZ) -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=false
	ninja -C $(FUZZ)
	FUZZ_SECONDS=$(FUZZ_SECONDS) meson test -C $(FUZZ) --print-errorlogs --suite fuzz $(MESON_TEST_ARGS)

lint:
	bash scripts/lint.sh

format:
	find core devices daemon ctl probe fortuna bench tests -name '*.[ch]' | xargs clang-format -i

bench: build
	meson test -C $(BUILD) --benchmark --verbose

vm-demo: build
	bash tests/vm/run-vm.sh --interactive --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ) $(TSAN)
