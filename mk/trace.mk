# The eBPF recorder (issue 3): vmlinux.h from the running kernel's BTF, the
# BPF object built with clang, and a libbpf skeleton generated from it.
# lib/source/trace_bpf.c includes the skeleton, so it (and the fuzz build,
# which compiles lib/*/*.c directly) depends on it. Not optional: the
# library does not build without it.
BPFTOOL ?= bpftool
BPF_CLANG ?= clang
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

LIBS += -lbpf -lelf -lz
BASE_CFLAGS += -I$(BUILD)

$(BUILD)/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/trace.bpf.o: lib/source/trace.bpf.c lib/source/trace_shared.h $(BUILD)/vmlinux.h
	$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$(BUILD) -Ilib/source -Wall -Werror -c $< -o $@

$(BUILD)/trace.skel.h: $(BUILD)/trace.bpf.o
	$(BPFTOOL) gen skeleton $< name trace_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/lib/source/trace_bpf.o: $(BUILD)/trace.skel.h lib/source/trace_shared.h
$(FUZZ_SRC:fuzz/%.c=build-fuzz/%): $(BUILD)/trace.skel.h lib/source/trace_shared.h

# A real 32-bit (i386) program for the compat-recording test. Without
# gcc-multilib the rule leaves a stub that exits 77, and the test skips
# with that reason.
$(BUILD)/tests/helpers/trace_m32: tests/helpers/trace_m32.c
	@mkdir -p $(dir $@)
	$(CC) -m32 -std=gnu11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -o $@ $< 2>$@.log || \
	{ printf '#!/bin/sh\necho "gcc -m32 failed: see $@.log" >&2\nexit 77\n' > $@; chmod +x $@; }

# The bench's floor: an empty program on the recorder's hook (bench/trace_bench.sh).
all: $(BUILD)/bench/tp_floor
$(BUILD)/tp_floor.bpf.o: bench/tp_floor.bpf.c $(BUILD)/vmlinux.h
	$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$(BUILD) -Wall -Werror -c $< -o $@
$(BUILD)/tp_floor.skel.h: $(BUILD)/tp_floor.bpf.o
	$(BPFTOOL) gen skeleton $< name tp_floor_bpf > $@.tmp && mv $@.tmp $@
$(BUILD)/bench/tp_floor: bench/tp_floor.c $(BUILD)/tp_floor.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -lbpf -lelf -lz
