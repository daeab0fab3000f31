#!/usr/bin/env python3
"""Checks the record test bed's traces (docs/trace-format.md).

A trace must parse strictly (every record kind, field count, hex spelling and
byte-string length of the format), start with `vgtrace 2` (or 1) and `kernel`, end
with `end EVENTS 0`, and show the patching the kernel must do in each phase:
boot differences, a jump-label batch for the static key, ftrace batches, the
kprobe's int3, the module's text and its free, a BPF JIT image, and in the
attack trace the attack module and its raw write into kernel text.
With --vmlinux, it also says which kind of patch site each boot difference
falls on (sections of the debug vmlinux), for the record's README.
With --watch-list FILE (the list the agent got through --watch-data), the
benign trace must carry the data baseline of those objects, and every `data`
record must name one of them with its protection; a per-object summary says
what the kernel rewrote in which phase. `--make-watch-list POLICY_JSON`
prints that list from `vmplguard policy show --format json` and exits.
"""
import argparse
import gzip
import re
import sys
from collections import Counter

from vmlinux_sites import site_kinds

HEX = re.compile(r'^[0-9a-f]+$')
BYTES = re.compile(r'^(?:[0-9a-f]{2}){1,16}$')
ORIGINS = {'jump_label', 'static_call', 'ftrace', 'kprobe', 'bpf', 'unknown'}
PROTECTIONS = {'locked_after_boot', 'write_mediated', 'watched'}
MAX_PIECES = 8


class TraceError(Exception):
    pass


def parse(path):
    """Returns (kernel, phases: list of (name, records), end) or raises TraceError."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    phases = []
    preamble = []  # notes before the first phase (the data baseline of a trace without `boot`)
    kernel = None
    end = None
    pending_batch = 0
    pending_pieces = 0
    version = None
    def fail(n, msg):
        raise TraceError(f'{path}:{n}: {msg}')
    for n, line in enumerate(lines, 1):
        if line == '' or line.startswith('#'):
            continue
        f = line.split(' ')
        kind = f[0]
        if end is not None:
            fail(n, 'record after end')
        if n == 1:
            if f not in (['vgtrace', '1'], ['vgtrace', '2']):
                fail(n, 'first line is not "vgtrace 1" or "vgtrace 2"')
            version = int(f[1])
            continue
        def need(count):
            if len(f) != count + 1:
                fail(n, f'{kind}: {count} fields expected, {len(f) - 1} found')
        def hexnum(s):
            if not HEX.match(s):
                fail(n, f'bad hex number {s!r}')
            return int(s, 16)
        def dec(s):
            if not s.isdigit():
                fail(n, f'bad decimal {s!r}')
            return int(s)
        def patch():
            need(3)
            if not BYTES.match(f[2]) or not BYTES.match(f[3]) or len(f[2]) != len(f[3]):
                fail(n, 'bad byte strings')
            return (hexnum(f[1]), bytes.fromhex(f[2]), bytes.fromhex(f[3]))
        if pending_batch and kind != 'poke':
            fail(n, f'batch short of {pending_batch} poke records')
        if pending_pieces and kind != 'piece':
            fail(n, f'data record short of {pending_pieces} piece records')
        if kind == 'kernel':
            need(4)
            kernel = (f[1], f[2], hexnum(f[3]), hexnum(f[4]))
            continue
        if kernel is None:
            fail(n, 'record before the kernel line')
        if kind == 'phase':
            need(1)
            phases.append((f[1], []))
            continue
        if kind == 'end':
            need(2)
            end = (dec(f[1]), dec(f[2]))
            continue
        if kind == 'note':
            (phases[-1][1] if phases else preamble).append(('note', line[5:]))
            continue
        if not phases:
            fail(n, f'{kind} before the first phase')
        records = phases[-1][1]
        if kind == 'boot':
            records.append(('boot',) + patch())
        elif kind == 'poke':
            records.append(('poke', pending_batch > 0) + patch())
            if pending_batch:
                pending_batch -= 1
        elif kind == 'batch':
            need(3)
            hexnum(f[1])
            if f[2] not in ORIGINS:
                fail(n, f'unknown batch origin {f[2]!r}')
            pending_batch = dec(f[3])
            if pending_batch == 0:
                fail(n, 'empty batch')
            records.append(('batch', f[2], pending_batch))
        elif kind == 'module':
            need(4)
            if not re.match(r'^[0-9a-f]{64}$', f[4]):
                fail(n, 'bad SHA-256')
            records.append(('module', f[1], hexnum(f[2]), dec(f[3])))
        elif kind == 'module-free':
            need(2)
            records.append(('module-free', f[1], hexnum(f[2])))
        elif kind == 'jit':
            need(2)
            records.append(('jit', hexnum(f[1]), dec(f[2])))
        elif kind == 'data':
            need(6)
            if version < 2:
                fail(n, 'data record in a version-1 trace')
            if f[4] not in PROTECTIONS:
                fail(n, f'unknown protection {f[4]!r}')
            size, changed, pending_pieces = dec(f[3]), dec(f[5]), dec(f[6])
            if not 1 <= changed <= size or not 1 <= pending_pieces <= MAX_PIECES:
                fail(n, 'CHANGED or PIECES out of range')
            records.append(['data', f[1], hexnum(f[2]), size, f[4], changed, []])
        elif kind == 'piece':
            if not pending_pieces:
                fail(n, 'piece outside a data record')
            offset, old, new = patch()
            data = records[-1]
            if offset + len(old) > data[3]:
                fail(n, 'piece leaves the object')
            data[6].append((offset, old, new))
            if sum(len(p[1]) for p in data[6]) > data[5]:
                fail(n, 'pieces hold more bytes than CHANGED')
            pending_pieces -= 1
        elif kind == 'cr':
            need(2)
            if f[1] not in ('cr0', 'cr4'):
                fail(n, f'bad register {f[1]!r}')
            records.append(('cr', f[1], hexnum(f[2])))
        else:
            fail(n, f'unknown record kind {kind!r}')
    if pending_batch:
        raise TraceError(f'{path}: last batch short of {pending_batch} poke records')
    if pending_pieces:
        raise TraceError(f'{path}: last data record short of {pending_pieces} piece records')
    if end is None:
        raise TraceError(f'{path}: no end record (truncated)')
    if preamble:
        phases.insert(0, ('(start)', preamble))
    return kernel, phases, end


def make_watch_list(policy_json):
    """The agent's --watch-data list from `vmplguard policy show --format json`."""
    import json
    with open(policy_json, encoding='utf-8') as f:
        policy = json.load(f)
    text = int(policy['text_va'], 16)
    print(f'# critical data objects of {policy["path"]} (kernel {policy["kernel_release"]}): '
          'NAME LINK_VA SIZE PROTECTION')
    for obj in policy['objects']:
        if obj['region'] in ('init_data', 'init_text', 'percpu'):
            # Per-CPU objects: the policy names their template in init memory,
            # which the kernel frees after boot; the live copies are elsewhere.
            print(f'# {obj["name"]}: in {obj["region"]} (freed after boot), not watched')
            continue
        print(f'{obj["name"]} {text + int(obj["offset"], 16):x} {obj["size"]} {obj["protection"]}')
    return 0


def read_watch_list(path):
    objects = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            fields = line.split()
            if fields and not fields[0].startswith('#'):
                objects[fields[0]] = (int(fields[1], 16), int(fields[2]), fields[3])
    return objects


def data_summary(label, phases, watched, expect):
    """Per object: the phases in which the kernel rewrote it, bytes changed, protection."""
    baseline = [r[1] for _, records in phases for r in records
                if r[0] == 'note' and r[1].startswith('data baseline: ')]
    expect(len(baseline) == 1, f'{label}: {len(baseline)} data baseline notes (1 expected)')
    unwatched = [r[1] for _, records in phases for r in records
                 if r[0] == 'note' and r[1].startswith('data ') and ' not watched: ' in r[1]]
    for note in unwatched:
        print(f'  {label}: {note}')
    changes = [(phase, r) for phase, records in phases for r in records if r[0] == 'data']
    print(f'{label}: {baseline[0] if baseline else "no data baseline"}; {len(changes)} data records')
    by_object = {}
    for phase, r in changes:
        name, va, size, protection, changed, pieces = r[1:]
        want = watched.get(name)
        expect(want is not None, f'{label}: data record of {name}, which is not on the watch list')
        if want is not None:
            expect(want == (va, size, protection),
                   f'{label}: data record of {name} says {va:x} {size} {protection}, the list {want}')
        by_object.setdefault((name, protection), []).append((phase, changed, pieces))
    locked = []
    for (name, protection), seen in sorted(by_object.items(), key=lambda item: (item[0][1], item[0][0])):
        where = ', '.join(f'{phase} {changed} B (first at +{pieces[0][0]:x}: '
                          f'{pieces[0][1].hex()} -> {pieces[0][2].hex()})' for phase, changed, pieces in seen)
        print(f'  data {protection:17} {name}: {where}')
        if protection == 'locked_after_boot':
            locked.append(name)
    if locked:
        print(f'  {label}: LOCKED OBJECTS REWRITTEN BY THE KERNEL AFTER BOOT: {" ".join(locked)} '
              '(the monitor would deny these writes: false positives unless the policy changes)')
    return by_object


def phase_records(phases, name):
    out = []
    for phase, records in phases:
        if phase == name:
            out.extend(records)
    return out


# When sites overlap (an ENDBR seal then an __fentry__ call, an alternative
# around a call), the more specific table names the difference.
PRECEDENCE = ['ftrace', 'static_call', 'jump_label', 'return_thunk', 'retpoline', 'endbr_seal', 'smp_lock',
              'alternative', 'call_depth']


def attribute(boot, sites):
    """Counts boot differences by the kind of the site they overlap."""
    import bisect
    starts = [s[0] for s in sites]
    kinds = Counter()
    for va, old, _new in boot:
        last = va + len(old) - 1
        i = bisect.bisect_right(starts, last)
        found = set()
        j = i - 1
        while j >= 0 and starts[j] > va - 256:
            start, length, k = sites[j]
            if start <= last and va < start + length:
                found.add(k)
            j -= 1
        kind = next((k for k in PRECEDENCE if k in found), 'other')
        kinds[kind] += 1
    return kinds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--benign')
    ap.add_argument('--attack')
    ap.add_argument('--console')
    ap.add_argument('--vmlinux')
    ap.add_argument('--watch-list', help='the --watch-data list the guest agent got')
    ap.add_argument('--make-watch-list', metavar='POLICY_JSON')
    args = ap.parse_args()
    if args.make_watch_list:
        return make_watch_list(args.make_watch_list)
    if not args.benign or not args.attack:
        ap.error('--benign and --attack are required')
    problems = []
    def expect(cond, msg):
        if not cond:
            problems.append(msg)
    try:
        kernel, phases, end = parse(args.benign)
        akernel, aphases, aend = parse(args.attack)
    except (TraceError, OSError, UnicodeDecodeError) as e:
        print(f'check_record: {e}')
        return 1

    names = [p for p, _ in phases]
    print(f'benign: kernel {kernel[0]} build id {kernel[1]} _text {kernel[2]:x} KASLR {kernel[3]:x}; '
          f'phases {" ".join(names)}; end {end[0]} events, {end[1]} lost')
    expect(kernel[3] == 0, 'KASLR offset is not 0 under nokaslr')
    for want in ('boot', 'agent-attach', 'static-key', 'ftrace', 'kprobe', 'module', 'bpf-jit', 'sysctl',
                 'cpu-hotplug', 'agent-detach'):
        expect(want in names, f'benign trace has no phase {want}')
    expect(end[1] == 0, f'benign trace lost {end[1]} events')
    for name, records in phases:
        c = Counter(r[0] if r[0] != 'poke' else ('poke(batch)' if r[1] else 'poke(lone)') for r in records)
        origins = Counter(r[1] for r in records if r[0] == 'batch')
        print(f'  phase {name}: ' + ', '.join(f'{k} {v}' for k, v in sorted(c.items())) +
              (f'; batch origins {dict(origins)}' if origins else ''))

    text_lo, text_hi = kernel[2], kernel[2] + (32 << 20)
    boot = [r[1:] for r in phase_records(phases, 'boot') if r[0] == 'boot']
    expect(len(boot) > 100, f'only {len(boot)} boot differences')
    sk = phase_records(phases, 'static-key')
    expect(any(r[0] == 'batch' and r[1] == 'jump_label' for r in sk), 'static-key: no jump_label batch')
    ft = phase_records(phases, 'ftrace')
    expect(sum(1 for r in ft if r[0] == 'batch') >= 2, 'ftrace: fewer than 2 batches (tracer on and off)')
    kp = phase_records(phases, 'kprobe')
    expect(any(r[0] == 'poke' and not r[1] and r[4] == b'\xcc' and text_lo <= r[2] < text_hi for r in kp),
           'kprobe: no int3 written into kernel text')
    expect(any(r[0] == 'poke' and not r[1] and r[3] == b'\xcc' and text_lo <= r[2] < text_hi for r in kp),
           'kprobe: no int3 removed from kernel text')
    expect(any(r[0] == 'batch' and r[1] == 'ftrace' for r in kp), 'kprobe: no ftrace batch (kprobe on ftrace)')
    mod = phase_records(phases, 'module')
    expect(any(r[0] == 'module' and r[1] == 'nls_utf8' for r in mod), 'module: no nls_utf8 module record')
    expect(any(r[0] == 'module-free' and r[1] == 'nls_utf8' for r in mod), 'module: no nls_utf8 module-free')
    jit = phase_records(phases, 'bpf-jit')
    expect(any(r[0] == 'jit' for r in jit) or any(r[0] == 'poke' for r in jit), 'bpf-jit: no jit or poke record')

    anames = [p for p, _ in aphases]
    print(f'attack: phases {" ".join(anames)}; end {aend[0]} events, {aend[1]} lost')
    expect(akernel == kernel, 'attack trace has another kernel line')
    expect('attack' in anames, 'attack trace has no phase attack')
    expect(aend[1] == 0, f'attack trace lost {aend[1]} events')
    at = phase_records(aphases, 'attack')
    for name, records in aphases:
        c = Counter(r[0] for r in records)
        print(f'  phase {name}: ' + ', '.join(f'{k} {v}' for k, v in sorted(c.items())))
    expect(any(r[0] == 'module' and r[1] == 'vg_attack' for r in at), 'attack: no vg_attack module record')
    expect(any(r[0] == 'module' and r[1] == 'vg_attack.init' for r in at),
           'attack: no record of the init text of vg_attack (where the attack runs)')
    expect(any(r[0] == 'poke' and not r[1] and text_lo <= r[2] < text_hi for r in at),
           'attack: no lone poke into kernel text')

    if args.watch_list:
        watched = read_watch_list(args.watch_list)
        benign_data = data_summary('benign', phases, watched, expect)
        # The sysctl phase writes three write-mediated objects: the snapshots
        # must see each, with the policy's class.
        for name in ('kptr_restrict', 'mmap_min_addr', 'core_pattern'):
            if name in watched:
                seen = benign_data.get((name, watched[name][2]), [])
                expect(any(phase == 'sysctl' for phase, _, _ in seen), f'sysctl: no data record of {name}')
        data_summary('attack', aphases, watched, expect)
    else:
        expect(not any(r[0] == 'data' for _, records in phases + aphases for r in records),
               'data records without a watch list')

    if args.vmlinux and boot:
        kinds = attribute(boot, site_kinds(args.vmlinux))
        print(f'  boot differences by site kind: ' + ', '.join(f'{k} {v}' for k, v in kinds.most_common()))
    for p in problems:
        print(f'check_record: FAIL: {p}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
