#!/usr/bin/env python3
"""Patch sites of a debug vmlinux, by kind, from the kernel's own tables.

Used by check_record.py (which kind of site each `boot` difference falls
on) and by run_record.sh: `vmlinux_sites.py VMLINUX OUT` writes the start
of every site, one hex link address a line, for `vmplguard-agent
--boot-sites` (no `boot` record then straddles two sites). The tables are
the ones the kernel patches at boot: __mcount_loc (ftrace), __jump_table,
.static_call_sites (inside other sections: found by their __start/__stop
symbols), .return_sites, .retpoline_sites, .call_sites, .ibt_endbr_seal,
.smp_locks, .altinstructions (struct alt_instr of 6.12:
s32 instr, s32 repl, u32 flags, u8 len, u8 replacement len).
"""
import struct
import subprocess
import sys


def elf_sections(path):
    """{name: (address, bytes)} of every section (NOBITS ones empty)."""
    with open(path, 'rb') as f:
        data = f.read()
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
    raw = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]
    strtab = raw[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    sections = {}
    for s in raw:
        name = names[s[0]:names.index(b'\0', s[0])].decode()
        sections[name] = (s[3], data[s[4]:s[4] + s[5]] if s[1] != 8 else b'')
    return sections


def symbols(path, wanted):
    out = subprocess.run(['nm', path], check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in wanted:
            found[parts[2]] = int(parts[0], 16)
    return found


def bytes_at(sections, start, stop):
    """The bytes of [start, stop) from the section that holds them."""
    for base, data in sections.values():
        if base <= start and stop <= base + len(data):
            return start, data[start - base:stop - base]
    return start, b''


def site_kinds(vmlinux):
    """(start, length, kind) of every patch site the kernel's tables list."""
    sec = elf_sections(vmlinux)
    # Tables without their own section: bounded by linker symbols.
    bounded = {'mcount_loc': ('__start_mcount_loc', '__stop_mcount_loc'),
               'jump_table': ('__start___jump_table', '__stop___jump_table'),
               'static_call_sites': ('__start_static_call_sites', '__stop_static_call_sites')}
    syms = symbols(vmlinux, {n for pair in bounded.values() for n in pair})
    tables = {name: (bytes_at(sec, syms[a], syms[b]) if a in syms and b in syms else (0, b''))
              for name, (a, b) in bounded.items()}
    for name in ('.return_sites', '.retpoline_sites', '.call_sites', '.ibt_endbr_seal', '.smp_locks',
                 '.altinstructions'):
        tables[name] = sec.get(name, (0, b''))
    sites = []

    def rel32(name, stride, kind, length):
        base, data = tables[name]
        for off in range(0, len(data) - 3, stride):
            value, = struct.unpack_from('<i', data, off)
            sites.append((base + off + value, length, kind))

    base, data = tables['mcount_loc']
    for off in range(0, len(data) - 7, 8):
        sites.append((struct.unpack_from('<Q', data, off)[0], 5, 'ftrace'))
    rel32('.return_sites', 4, 'return_thunk', 5)
    rel32('.retpoline_sites', 4, 'retpoline', 6)
    rel32('.call_sites', 4, 'call_depth', 5)
    rel32('static_call_sites', 8, 'static_call', 5)
    rel32('.ibt_endbr_seal', 4, 'endbr_seal', 4)
    rel32('.smp_locks', 4, 'smp_lock', 1)
    rel32('jump_table', 16, 'jump_label', 5)
    base, data = tables['.altinstructions']
    for off in range(0, len(data) - 13, 14):
        instr, _repl, _flags, length, _rlen = struct.unpack_from('<iiIBB', data, off)
        sites.append((base + off + instr, max(length, 1), 'alternative'))
    sites.sort()
    return sites


def main():
    if len(sys.argv) != 3:
        print('usage: vmlinux_sites.py VMLINUX OUT', file=sys.stderr)
        return 2
    starts = sorted({start for start, _length, _kind in site_kinds(sys.argv[1])})
    with open(sys.argv[2], 'w') as out:
        out.write('# patch site starts of %s\n' % sys.argv[1])
        for start in starts:
            out.write('%x\n' % start)
    print('vmlinux_sites: %d site starts' % len(starts))
    return 0


if __name__ == '__main__':
    sys.exit(main())
