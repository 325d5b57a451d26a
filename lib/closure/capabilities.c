// SPDX-License-Identifier: Apache-2.0
/*
 * Capability names, the one table of them. They belong to the closure: a
 * profile's includes/excludes name capabilities, and a closure is resolved
 * with a container's or a program's set (lib/closure/profile.c), on the
 * static gate as on the runtime one. The process side (which set a program
 * runs with, and setting it) stays in lib/runtime/caps.c.
 */
#include <capgate/syscalls.h>

#include <errno.h>
#include <strings.h>

#include "closure/capabilities.h"

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *cg_cap_name(int cap)
{
	return cap >= 0 && (size_t)cap < CG_ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

int cg_cap_lookup(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (size_t i = 0; i < CG_ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(cap_names[i] + 4, name) == 0)
			return (int)i;
	return -ENOENT;
}

const char *const cg_cap_docker_default[] = {
	"CAP_AUDIT_WRITE",
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_MKNOD",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_RAW",
	"CAP_SETFCAP",
	"CAP_SETGID",
	"CAP_SETPCAP",
	"CAP_SETUID",
	"CAP_SYS_CHROOT",
};
const size_t cg_cap_docker_default_n = CG_ARRAY_SIZE(cg_cap_docker_default);

uint64_t cg_cap_docker_default_mask(void)
{
	uint64_t m = 0;
	for (size_t i = 0; i < cg_cap_docker_default_n; i++) {
		int c = cg_cap_lookup(cg_cap_docker_default[i]);
		if (c >= 0)
			m |= UINT64_C(1) << c;
	}
	return m;
}
