/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System call names and numbers per architecture, argument widths, and the
 * risk classes used by lint and policy. All of it is data in sorted tables.
 */
#ifndef CAPGATE_SYSCALLS_H
#define CAPGATE_SYSCALLS_H

#include <capgate/common.h>

enum cg_arch_id {
	CG_ARCH_X86_64,
	CG_ARCH_X86,
	CG_ARCH_X32,
	CG_ARCH_AARCH64,
	CG_ARCH_ARM,
	CG_ARCH_RISCV64,
	CG_ARCH_PPC64LE,
	CG_ARCH_PPC64,
	CG_ARCH_PPC,
	CG_ARCH_S390X,
	CG_ARCH_S390,
	CG_ARCH_LOONGARCH64,
	CG_ARCH_MIPS,
	CG_ARCH_MIPSEL,
	CG_ARCH_MIPS64,
	CG_ARCH_MIPSEL64,
	CG_ARCH_MIPS64N32,
	CG_ARCH_MIPSEL64N32,
	CG_ARCH_PARISC,
	CG_ARCH_PARISC64,
	CG_ARCH_M68K,
	CG_ARCH_SH,
	CG_ARCH_COUNT,
};

#define CG_ARCH_BIT(a) (1u << (a))
#define CG_X32_SYSCALL_BIT 0x40000000u

struct cg_arch_info {
	enum cg_arch_id id;
	const char *oci;  /* "SCMP_ARCH_X86_64" */
	const char *name; /* "x86_64" */
	uint32_t audit;   /* AUDIT_ARCH_* value seen in seccomp_data.arch */
	uint8_t bits;     /* register width: 32 or 64 */
	uint8_t col;      /* column in the number table */
	uint32_t nr_base; /* lowest valid number (0x40000000 for x32, 4000 mips) */
};

/* Static information about @arch; NULL if out of range. */
CAPGATE_API const struct cg_arch_info *cg_arch_info(enum cg_arch_id arch);

/* Look an architecture up by OCI name ("SCMP_ARCH_X86_64"), short name
 * ("x86_64", "x86", "x32", "aarch64", any case) or alias ("amd64", "arm64",
 * "i386", "i686"). Returns its enum cg_arch_id, -1 if unknown. */
CAPGATE_API int cg_arch_lookup(const char *name);

/* The architecture capgate itself runs as. */
CAPGATE_API enum cg_arch_id cg_arch_native(void);

/* Number of @name on @arch: >= 0, -ENOENT if the name is unknown everywhere,
 * -ENOSYS if it exists but not on this architecture. */
CAPGATE_API int cg_syscall_nr(enum cg_arch_id arch, const char *name);

/* Name of number @nr on @arch, or NULL (unknown number or @arch). */
CAPGATE_API const char *cg_syscall_name(enum cg_arch_id arch, uint32_t nr);

/* True if @name is a system call on any architecture capgate knows. */
CAPGATE_API bool cg_syscall_known(const char *name);

/* Highest number known on @arch (-1 if capgate has no table for it or @arch
 * is out of range). */
CAPGATE_API int cg_syscall_max_nr(enum cg_arch_id arch);

/* Iterate the whole name table: returns the i-th name (sorted) or NULL. */
CAPGATE_API const char *cg_syscall_name_at(size_t i);

/* Risk classes: named groups of calls that widen the attack surface. */
enum cg_severity { CG_SEV_INFO,
		   CG_SEV_LOW,
		   CG_SEV_MEDIUM,
		   CG_SEV_HIGH,
		   CG_SEV_CRITICAL };

struct cg_risk_class {
	const char *name; /* "kernel-modules" */
	enum cg_severity severity;
	const char *reason;       /* why allowing it is dangerous */
	const char *const *calls; /* NULL-terminated, sorted */
};

/* All risk classes, sorted by name; *ret_n receives the count. */
CAPGATE_API const struct cg_risk_class *cg_risk_classes(size_t *ret_n);

/* Risk class of the call @name, or NULL if it is in none. */
CAPGATE_API const struct cg_risk_class *cg_risk_class_of(const char *name);

/* Name of severity @s for output ("info", "low", ...), "?" if out of range. */
CAPGATE_API const char *cg_severity_name(enum cg_severity s);
/* Parse a severity name (any case); -1 if unknown. */
CAPGATE_API int cg_severity_parse(const char *s);

/* A capability's name ("CAP_CHOWN" for 0), NULL if capgate does not know it.
 * Profiles name capabilities in includes/excludes and closures are resolved
 * with a set of them, so the table is the closure's (lib/closure). */
CAPGATE_API const char *cg_cap_name(int cap);
/* A capability's number from "CAP_NET_ADMIN" or "net_admin"; -ENOENT if unknown. */
CAPGATE_API int cg_cap_lookup(const char *name);

#endif
