# Thin wrapper over CMake + Ninja.  Every target installs what it needs first
# (scripts/bootstrap.sh is a no-op when everything is present).
#
#   make run     install, build and serve http://127.0.0.1:8765 (data in ./data)
#   make test    install, build and run every test; last line "N passed, N failed"
#   make asan    the whole suite under AddressSanitizer + UBSan
#   make bench   wrk, RSS and start-up figures (see docs/PERFORMANCE.md)
#   make bench-library  the library workers' figures (bench/library.sh;
#                BENCH_ONLY=detect: duplicate detection over 1 M rows alone)
#   make bench-beets    duplicate detection side by side with Debian's beets
#                (bench/beets.sh; installs beets through bootstrap --bench)
#   make lint    clang-tidy + cppcheck;  make valgrind: unit tests under valgrind
#   make clang   build with clang (-Werror)
#   make fuzz    every libFuzzer target in fuzz/ for FUZZ_SECONDS (60) each
#   make fuzz-smoke  the same, FUZZ_SMOKE_SECONDS (5) each (CI)
#   make install the daemon, man page, settings file and systemd unit into
#                DESTDIR/PREFIX (PREFIX /usr/local; /usr puts the settings
#                file in /etc)
#   make deb     the Debian package (CPack) in BUILD: soulspotd_VERSION_ARCH.deb
#   make demo    the daemon against local fakes of Spotify, slskd, MusicBrainz
#                and the Cover Art Archive with a generated library in ./demo:
#                every worker at work within a minute (DEMO_PORT, 8765)
#   make format-check  is every C file formatted as .clang-format says?
#   make format  reformat every C file in place (clang-format -i)

BUILD ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
DEMO_PORT ?= 8765
DESTDIR ?=

.PHONY: all bootstrap bootstrap-run bootstrap-bench build run test asan bench bench-library bench-beets lint valgrind clang fuzz fuzz-smoke fuzz-build install deb demo format format-check clean

all: build

bootstrap:
	@scripts/bootstrap.sh

bootstrap-run:
	@scripts/bootstrap.sh --run

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja

build: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: bootstrap-run
	@test -f $(BUILD)/build.ninja || cmake -S . -B $(BUILD) -G Ninja -DSOULSPOT_TESTS=OFF
	cmake --build $(BUILD) -j $(JOBS) --target soulspotd
	./$(BUILD)/soulspotd --data-dir ./data

test: build
	@scripts/run-tests.sh $(BUILD)

asan: bootstrap
	@test -f $(ASAN_BUILD)/build.ninja || cmake -S . -B $(ASAN_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Debug -DSOULSPOT_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  scripts/run-tests.sh $(ASAN_BUILD)

clang: bootstrap
	@test -f $(CLANG_BUILD)/build.ninja || CC=clang cmake -S . -B $(CLANG_BUILD) -G Ninja
	cmake --build $(CLANG_BUILD) -j $(JOBS)

fuzz-build: bootstrap
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" \
	  -DSOULSPOT_FUZZ=ON -DSOULSPOT_TESTS=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS)

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

deb: build
	cd $(BUILD) && cpack -G DEB

demo: build
	./$(BUILD)/tests/fakes/demo-fakes --daemon ./$(BUILD)/soulspotd --dir ./demo \
	  --port $(DEMO_PORT)

valgrind: build
	@scripts/run-tests.sh $(BUILD) --valgrind

lint: build
	@scripts/lint.sh $(BUILD)

format-check: bootstrap
	@scripts/format-check.sh

format: bootstrap
	@scripts/format-check.sh --fix

bench: build
	@bench/run.sh $(BUILD)

bootstrap-bench:
	@scripts/bootstrap.sh --bench

bench-library: bootstrap-bench build
	@bench/library.sh $(BUILD)

bench-beets: bootstrap-bench build
	@bench/beets.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)
