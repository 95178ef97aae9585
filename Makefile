# chang — see README.md. `make` builds ./chang; `make check` installs what the tests need
# and runs them all; `make demo` shows chang on a deadlocked example.
VERSION   := 0.1.0
CC        ?= cc
PREFIX    ?= /usr/local
SANITIZE  ?= 0

STATIC    ?= 0

CROSS     ?=
UNWIND_LIB := -lunwind-x86_64

ifeq ($(CROSS),aarch64)
# `make cross-aarch64`: chang for aarch64 Linux with Debian's cross compiler and the arm64
# -dev packages of multiarch (dpkg --add-architecture arm64; README "aarch64").
CC        := aarch64-linux-gnu-gcc
BUILD     := build/aarch64
SANFLAGS  :=
BIN       := build/aarch64/chang
UNWIND_LIB := -lunwind-aarch64
else ifeq ($(STATIC),1)
# `make static`: one self-contained binary from Debian's static archives (README: "A binary
# to copy"). No dlopen in it: no debuginfod client, no C++ demangler (chang --version).
BUILD     := build/static
SANFLAGS  := -DCHANG_STATIC
BIN       := build/static/chang
else ifeq ($(SANITIZE),1)
BUILD     := build/asan
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BIN       := build/asan/chang
else
BUILD     := build/release
SANFLAGS  :=
BIN       := chang
endif

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -I. -I$(BUILD)/gen \
             -DCHANG_VERSION='"$(VERSION)"' $(SANFLAGS) -MMD -MP
LDFLAGS   += $(SANFLAGS)
LDLIBS    := -lunwind-ptrace $(UNWIND_LIB) -lunwind -ldw -lelf -lprotobuf-c -lz -lzstd -llzma -llz4 -ldeflate -liberty -lcapstone -pthread
ifeq ($(STATIC),1)
# -static: libdw.a needs what libdw.so brings along (bzip2); glibc's static archive warns
# that dlopen (libdw's debuginfod client, which chang keeps from running) would need its
# shared libraries.
LDFLAGS   += -static
LDLIBS    += -lbz2
endif

LIB_DIRS  := util model image attach core go unwind symbols analyzers report commands
LIB_SRCS  := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
PROTO     := report/profile.proto
PROTO_C   := $(if $(wildcard $(PROTO)),$(BUILD)/gen/report/profile.pb-c.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(PROTO_C:.c=.o)
MAIN_OBJ  := $(BUILD)/chang.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: cross-aarch64 deb static docs all deps check check-extended check-unit check-e2e check-asan demo bench fuzz install clean
all: $(BIN)

# Checked once per build directory: a machine without the -dev packages is told which ones
# and `make deps`, instead of "protoc-c: not found ... Error 127".
$(BUILD)/.build-deps-ok: tools/check-build-deps.sh
	@CC="$(CC)" sh tools/check-build-deps.sh
	@mkdir -p $(BUILD) && touch $@

$(BIN): $(MAIN_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/report/profile.pb-c.c $(BUILD)/gen/report/profile.pb-c.h &: $(PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen $(PROTO)

$(BUILD)/gen/report/profile.pb-c.o: $(BUILD)/gen/report/profile.pb-c.c
	$(CC) $(filter-out -Werror,$(CFLAGS)) -c -o $@ $<

# Every object may include the generated header.
$(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(MAIN_OBJ): | $(PROTO_C:.c=.h)
$(BUILD)/gen/report/profile.pb-c.c $(BUILD)/gen/report/profile.pb-c.h: | $(BUILD)/.build-deps-ok

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/unit.h tests/unit/synthetic.h
	@mkdir -p $(dir $@)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

deps:
	@sh tests/install-deps.sh

# chang and its unit tests built for aarch64, the tests run under qemu-aarch64.
cross-aarch64:
	@$(MAKE) --no-print-directory CROSS=aarch64 all unit-bins
	@sh tools/run-cross-units.sh build/aarch64/tests

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SANITIZE=1 all unit-bins
	@$(MAKE) --no-print-directory unit-bins
	@$(MAKE) --no-print-directory fuzz-bins
	@python3 tests/run.py

unit-bins: $(UNIT_BINS)

# A Debian package of the release build with the man page (tools/mkdeb.sh).
deb: $(BIN)
	@sh tools/mkdeb.sh $(BIN) $(VERSION) build

static:
	@$(MAKE) --no-print-directory STATIC=1 all
	@ls -l build/static/chang | awk '{ print "  static: " $$NF ", " $$5 " bytes" }'

# The slow end-to-end tests (every Go toolchain beyond the oldest and newest, each compiling
# its standard library first), which make check counts as skips.
check-extended: deps
	@$(MAKE) --no-print-directory all
	@python3 tests/run.py --extended --no-asan

check-unit: unit-bins
	@python3 tests/run.py --only unit

# The option sections of chang.1 and README.md, made from commands/optable.c.
docs: all
	@python3 tools/gen_docs.py

demo: deps all
	@sh tests/demo.sh

bench: deps all
	@python3 bench/run.py

# ---- fuzzing: libFuzzer targets (tests/fuzz/fuzz_*.c) over every parser of outside bytes,
# built with clang into build/fuzz/, apart from the gcc objects. `make fuzz FUZZ_SECONDS=60`
# runs each target that long, growing build/fuzz/grown/; `make fuzz-smoke` (also run by
# check, through tests/run.py) runs each a fixed number of times from its seeds and
# regression inputs (tests/fuzz/README.md).
FUZZ_CC       ?= clang-14
FUZZ_SECONDS  ?= 60
FUZZ_BUILD    := build/fuzz
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# No -Werror on the library here: clang warns where gcc does not, and the gcc build is where
# warnings are kept out. The fuzz targets themselves are held to -Werror.
FUZZ_CFLAGS   := -O1 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -I. -I$(FUZZ_BUILD)/gen \
                 -DCHANG_VERSION='"$(VERSION)"' $(FUZZ_SAN) -MMD -MP
FUZZ_PROTO_C  := $(if $(wildcard $(PROTO)),$(FUZZ_BUILD)/gen/report/profile.pb-c.c)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS)) $(FUZZ_PROTO_C:.c=.o)
FUZZ_BINS     := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

.PHONY: fuzz-bins fuzz-smoke
fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BUILD)/gen/report/profile.pb-c.c $(FUZZ_BUILD)/gen/report/profile.pb-c.h &: $(PROTO)
	@mkdir -p $(FUZZ_BUILD)/gen
	protoc-c --c_out=$(FUZZ_BUILD)/gen $(PROTO)

$(FUZZ_BUILD)/gen/report/profile.pb-c.o: $(FUZZ_BUILD)/gen/report/profile.pb-c.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS)): | $(FUZZ_PROTO_C:.c=.h)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJS)
	@echo "  LD  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(LDLIBS)

fuzz: deps
	@$(MAKE) --no-print-directory all fuzz-bins
	@python3 tests/fuzz/fuzz.py --seconds $(FUZZ_SECONDS)

fuzz-smoke: deps
	@$(MAKE) --no-print-directory all fuzz-bins
	@python3 tests/run.py --only fuzz

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/chang
	install -m 644 chang.1 $(DESTDIR)$(PREFIX)/share/man/man1/chang.1

clean:
	rm -rf build chang tests/out

-include $(shell find build -name '*.d' 2>/dev/null)
