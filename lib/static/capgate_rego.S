/* SPDX-License-Identifier: Apache-2.0 */
/* The Rego rules of `capgate policy export` (lib/static/capgate.rego),
 * embedded at build time with .incbin: the rules stay a real file to read,
 * diff and check with OPA, and embedding needs no generator or extra package.
 * cg_rego_rules is NUL-terminated; cg_rego_rules_end points at the NUL. */
	.section .rodata,"a"
	.globl	cg_rego_rules
	.hidden	cg_rego_rules
	.type	cg_rego_rules, @object
cg_rego_rules:
	.incbin	"lib/static/capgate.rego"
	.globl	cg_rego_rules_end
	.hidden	cg_rego_rules_end
cg_rego_rules_end:
	.byte	0
	.size	cg_rego_rules, . - cg_rego_rules
	.section .note.GNU-stack,"",@progbits
