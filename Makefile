# chang — see README.md. `make` builds ./chang; `make check` installs what the tests need
# and runs them all; `make demo` shows chang on a deadlocked example.
VERSION   := 0.1.0
CC        ?= cc
PREFIX    ?= /usr/local
SANITIZE  ?= 0

ifeq ($(SANITIZE),1)
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
LDLIBS    := -lunwind-ptrace -lunwind-x86_64 -lunwind -ldw -lelf -lprotobuf-c -lz -lzstd -llzma -llz4 -lstdc++

LIB_DIRS  := util model target attach core go unwind symbols analyzers report commands
LIB_SRCS  := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
PROTO     := report/profile.proto
PROTO_C   := $(if $(wildcard $(PROTO)),$(BUILD)/gen/report/profile.pb-c.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(PROTO_C:.c=.o)
MAIN_OBJ  := $(BUILD)/chang.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps check check-unit check-e2e check-asan demo bench fuzz install clean
all: $(BIN)

$(BIN): $(MAIN_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/report/profile.pb-c.c $(BUILD)/gen/report/profile.pb-c.h: $(PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen $(PROTO)

$(BUILD)/gen/report/profile.pb-c.o: $(BUILD)/gen/report/profile.pb-c.c
	$(CC) $(filter-out -Werror,$(CFLAGS)) -c -o $@ $<

# Every object may include the generated header.
$(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(MAIN_OBJ): | $(PROTO_C:.c=.h)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/unit.h
	@mkdir -p $(dir $@)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

deps:
	@sh tests/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SANITIZE=1 all unit-bins
	@$(MAKE) --no-print-directory unit-bins
	@python3 tests/run.py

unit-bins: $(UNIT_BINS)

check-unit: unit-bins
	@python3 tests/run.py --only unit

demo: deps all
	@sh tests/demo.sh

bench: deps all
	@python3 bench/run.py

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/chang
	install -m 644 chang.1 $(DESTDIR)$(PREFIX)/share/man/man1/chang.1

clean:
	rm -rf build chang tests/out

-include $(shell find build -name '*.d' 2>/dev/null)
