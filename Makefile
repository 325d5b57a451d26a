# capgate build. `make` builds lib + cli; `make check` runs the whole suite
# (normal build, ASan+UBSan build, fuzz seed corpora, live kernel tests).
CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter \
           -Wmissing-prototypes -Wstrict-prototypes -Wvla -Wno-format-truncation
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -fvisibility=hidden $(WARN)
# OpenSSL's libcrypto is not linked: lib/core/crypto.c loads it when a digest
# or a signature is first needed, so `capgate run` does not relocate its
# tables on every start (bench/README.md). Its headers are still used.
LIBS    := -lseccomp -lfyaml -lz -lzstd
# The HTTP server (capgate webhook) is its own binary, capgate-webhook, with
# the shared OpenSSL that libh2o needs; the library and capgate do not link it.
WEBHOOK_LIBS := -lh2o-evloop -lssl -lcrypto
BUILD   ?= build

LIB_SRC  := $(sort $(filter-out %.bpf.c,$(wildcard lib/*/*.c)))
# Files embedded at build time with .incbin (the Rego rules: lib/static/capgate_rego.S).
LIB_ASM  := $(sort $(wildcard lib/*/*.S))
CLI_SRC  := $(sort $(wildcard src/*.c src/cmd/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_ASM:%.S=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPERS  := $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(wildcard tests/helpers/*.c))

all: $(BUILD)/capgate $(BUILD)/capgate-webhook $(BUILD)/libcapgate.a $(BUILD)/libcapgate.so.0 $(BUILD)/examples/digest $(TESTS) $(HELPERS)

$(BUILD)/%.o: %.c $(wildcard include/capgate/*.h lib/*/*.h src/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(PIC) $(CFLAGS) -c $< -o $@

# Library objects go into the shared library too.
$(LIB_OBJ): PIC := -fPIC

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/lib/static/capgate_rego.o: lib/static/capgate.rego

$(BUILD)/libcapgate.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The shared library exports exactly the symbols of lib/libcapgate.map
# (tests/cli/api.sh holds the map, the headers and the .so to each other).
# The static archive stays for the command and the tests, which may use
# internal headers.
SO_LDFLAGS ?= -Wl,--no-undefined
$(BUILD)/libcapgate.so.0: $(LIB_OBJ) lib/libcapgate.map
	$(CC) -shared -Wl,-soname,libcapgate.so.0 -Wl,--version-script=lib/libcapgate.map $(SO_LDFLAGS) \
		$(CFLAGS) $(LDFLAGS) -o $@ $(LIB_OBJ) $(LIBS)
	ln -sf libcapgate.so.0 $(BUILD)/libcapgate.so

# A user of the shared library: public headers only (no -Ilib), linked
# against the .so alone.
$(BUILD)/examples/%: examples/%.c $(wildcard include/capgate/*.h) $(BUILD)/libcapgate.so.0
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Iinclude -Wall -Wextra -Werror $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(BUILD)/libcapgate.so.0 -Wl,-rpath,'$$ORIGIN/..'

# The command links its libraries' static archives (Debian ships them with
# the -dev packages): loading and relocating five shared libraries cost
# ~10 ms on every start, half of bubblewrap's whole start (bench/README.md).
CLI_LIBS = -Wl,-Bstatic $(LIBS) -Wl,-Bdynamic
# Every symbol bound at start (and the GOT read-only): the init and the
# program's process, forked before their execve, then take no copy-on-write
# fault for a lazily bound call (bench/README.md).
CLI_LDFLAGS = -Wl,-z,now
$(BUILD)/capgate: $(CLI_OBJ) $(BUILD)/libcapgate.a
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libcapgate.a $(CLI_LIBS)

# `capgate webhook` execs this binary from capgate's own directory.
WEBHOOK_OBJ := $(BUILD)/src/webhook/main.o $(BUILD)/src/webhook/server.o $(BUILD)/src/cli.o $(BUILD)/src/opt.o
$(BUILD)/capgate-webhook: $(WEBHOOK_OBJ) $(BUILD)/libcapgate.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $(WEBHOOK_OBJ) $(BUILD)/libcapgate.a $(LIBS) $(WEBHOOK_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/t.h $(BUILD)/libcapgate.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Itests $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcapgate.a $(LIBS) -lcrypto -luring -lpthread

# Small programs the live tests run under filters (built plain, no sanitizers).
$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -o $@ $< -luring -lpthread

# ---- quality gates -------------------------------------------------------
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

asan:
	$(MAKE) BUILD=build-asan CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" SO_LDFLAGS= all

FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz: $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
build-fuzz/%: fuzz/%.c fuzz/fuzz.h $(LIB_SRC) $(LIB_ASM) lib/static/capgate.rego $(wildcard include/capgate/*.h lib/*/*.h)
	@mkdir -p build-fuzz
	clang $(BASE_CFLAGS) -Wno-missing-prototypes -Wno-unknown-warning-option $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIB_ASM) $(LIBS)

check: all asan fuzz
	CAPGATE_BUILDS="$(BUILD) build-asan" bash tests/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all asan fuzz check format clean

# The parts in mk/ (the eBPF recorder, its skeleton) are required: the
# library does not build without them.
include $(wildcard mk/*.mk)
