#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compare a closure written by `capgate trace` with what `strace -f` saw on
the same run.

    trace_cmp.py STRACE_LOG CLOSURE.json [--arch x86_64|x86]

The strace log is of `strace -f -qq -e trace=all -o LOG capgate trace ... --
CMD`: its first pid is capgate; the workload is capgate's child, counted from
its first successful execve on, with every process and thread it creates.
Calls before that exec are capgate's (not the workload's) and are left out,
as the recorder leaves them out. The recorder adds the workload's own execve
explicitly. Exit 0 if the sets are equal per arch, else print the difference.
"""
import json, re, sys

def strace_set(path):
    line_re = re.compile(r'^(\d+)\s+(.*)$')
    call_re = re.compile(r'^([a-z_0-9]+)\(')
    resumed_re = re.compile(r'^<\.\.\. ([a-z_0-9]+) resumed>')
    ret_re = re.compile(r'\)\s+=\s+(-?\d+)')
    lines = []
    for raw in open(path, errors='replace'):
        m = line_re.match(raw)
        if not m:
            continue
        pid, rest = int(m.group(1)), m.group(2)
        cm = call_re.match(rest)
        rm = resumed_re.match(rest)
        name = cm.group(1) if cm else rm.group(1) if rm else None
        if name is None:
            continue
        rv = ret_re.search(rest) if '<unfinished' not in rest else None
        lines.append((pid, name, bool(cm), int(rv.group(1)) if rv else None))
    if not lines:
        return set()
    # Pass 1: the process tree (a child's first lines may come before its
    # parent's clone returns in the log) and where the root's exec is.
    first = lines[0][0]
    parent = {}
    root = None
    for pid, name, _, ret in lines:
        if name in ('clone', 'clone3', 'fork', 'vfork') and ret and ret > 0:
            parent.setdefault(ret, pid)
            if pid == first and root is None:
                root = ret
    exec_at = None
    for i, (pid, name, _, ret) in enumerate(lines):
        if pid == root and name == 'execve' and ret == 0:
            exec_at = i
            break
    def in_tree(pid):
        while pid in parent and pid != root:
            pid = parent[pid]
        return pid == root
    # Pass 2: calls started by the workload after its exec. A call line of
    # the root before the exec is capgate's child getting ready.
    names = set()
    for i, (pid, name, is_call, _) in enumerate(lines):
        if not is_call or exec_at is None or not in_tree(pid):
            continue
        if pid == root and i <= exec_at:
            continue
        names.add(name)
    return names

def closure_sets(path):
    c = json.load(open(path))
    arches = c.get('architectures', [])
    out = {}
    for s in c['syscalls']:
        if not s['action'].startswith('SCMP_ACT_ALLOW'):
            continue
        for a in s.get('arches', arches):
            out.setdefault(a, set()).update(s['names'])
    return out

def main():
    log, closure = sys.argv[1], sys.argv[2]
    arch = 'x86_64'
    if '--arch' in sys.argv:
        arch = sys.argv[sys.argv.index('--arch') + 1]
    oci = {'x86_64': 'SCMP_ARCH_X86_64', 'x86': 'SCMP_ARCH_X86', 'x32': 'SCMP_ARCH_X32'}[arch]
    seen = strace_set(log)
    sets = closure_sets(closure)
    got = set(sets.get(oci, set()))
    if arch != 'x86_64':
        # the exec is made by the 64-bit child: execve on x86_64
        if 'execve' not in sets.get('SCMP_ARCH_X86_64', set()):
            print('closure lacks the workload\'s execve on x86_64')
            return 1
        other = {a for a in sets if a not in (oci, 'SCMP_ARCH_X86_64')}
    else:
        if 'execve' not in got:
            print('closure lacks the workload\'s execve')
            return 1
        got.discard('execve')
        seen.discard('execve')
        other = set()
    if arch == 'x86' and 'socketcall' in got:
        # strace shows socketcall(SYS_SOCKET, ...) as socket(...)
        family = {'socket', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname', 'getpeername',
                  'socketpair', 'send', 'recv', 'sendto', 'recvfrom', 'shutdown', 'setsockopt', 'getsockopt',
                  'sendmsg', 'recvmsg', 'recvmmsg', 'sendmmsg'}
        via = {n for n in seen if n in family and n not in got}
        if via:
            seen = (seen - via) | {'socketcall'}
    unknown = sorted(n for n in seen if n.startswith('syscall_'))
    only_strace = sorted(seen - got)
    only_capgate = sorted(got - seen)
    if only_strace or only_capgate or other:
        print(f'{arch}: strace-only {only_strace} capgate-only {only_capgate} other arches {sorted(other)}'
              + (f' (strace has no name for {unknown})' if unknown else ''))
        return 1
    print(f'{arch}: {len(seen)} calls, identical')
    return 0

sys.exit(main())
