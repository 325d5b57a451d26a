/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only) */
/*
 * The floor of recording on sys_enter: an empty program on the hook the
 * recorder uses (lib/source/trace.bpf.c). Attaching any program there puts every
 * task's system calls on the kernel's slow path; what this costs is paid by
 * any recorder on this hook, whatever its program does. bench/trace_bench.sh
 * measures it beside capgate trace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter, struct pt_regs *regs, long id)
{
	return 0;
}
