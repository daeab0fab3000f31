#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#
# Builds a small kernel with the vmplguard series (tinyconfig plus what a
# QEMU boot, tracing and KUnit need, CONFIG_VMPLGUARD=y) and boots it under
# QEMU TCG, which is no SEV-SNP guest. Passes if the boot log shows:
#   - the dormant path ("vmplguard: not an SEV-SNP guest, staying dormant"),
#   - the vmplguard KUnit suite with every case passed and none skipped,
#   - /init's checks: the mediated sysctls behave like stock ones, and the
#     vmplguard:violation and vmplguard:request tracepoints exist with the
#     struct vg_record fields.
# The full link also runs objtool and modpost over the series' code.
#
# Opt-in (a bzImage build takes minutes of CPU; see BOOT_OPTIONS):
#   VMPLGUARD_KERNEL_BOOT=1 boot-kernel.sh [SERIES_DIR]
# Never uses KVM (TCG only). Exit status: 0 pass, 1 fail, 77 not opted in.
# Knobs as in check-series.sh, plus VMPLGUARD_BOOT_TIMEOUT (s, default 300).
set -eu

PROG=boot-kernel
here=$(cd "$(dirname "$0")" && pwd)
SERIES_DIR=$(cd "${1:-$here/../../guest-patches/linux-6.12}" && pwd)
. "$here/kernel-tree.sh"
BOOT_TIMEOUT=${VMPLGUARD_BOOT_TIMEOUT:-300}

if [ "${VMPLGUARD_KERNEL_BOOT:-0}" != 1 ]; then
	echo "$PROG: skipped (set VMPLGUARD_KERNEL_BOOT=1: needs apt, ~10 min of CPU and QEMU)"
	exit 77
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

# Options on top of tinyconfig. The default set is the smallest that boots
# here with what this test checks (serial console, initramfs, sysctls, core
# dumps, tracefs events, static keys, modules, SEV guest support, KUnit): on
# this shared machine a full build is expensive. VMPLGUARD_BOOT_FULL=1 adds
# the rest of kernel-facts.md's measured set (BPF, kprobes, function tracer,
# KASLR, BTF, PCI, SEV_GUEST), about 9 minutes on 2 idle cores.
BOOT_OPTIONS="64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP
BINFMT_ELF PROC_FS SYSFS MULTIUSER FUTEX JUMP_LABEL MODULES AMD_MEM_ENCRYPT ACPI EFI EFI_STUB
SYSCTL PROC_SYSCTL COREDUMP EXPERT FTRACE ENABLE_DEFAULT_TRACERS
KUNIT VMPLGUARD VMPLGUARD_KUNIT_TEST"
if [ "${VMPLGUARD_BOOT_FULL:-0}" = 1 ]; then
	BOOT_OPTIONS="$BOOT_OPTIONS BINFMT_SCRIPT DEVTMPFS EPOLL BPF_SYSCALL BPF_JIT FUNCTION_TRACER
DYNAMIC_FTRACE KPROBES KPROBE_EVENTS RELOCATABLE RANDOMIZE_BASE SEV_GUEST DEBUG_KERNEL
DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_BTF VIRT_DRIVERS PCI"
fi

configure() {
	obj=$CACHE/build-boot
	mkdir -p "$obj"
	make -s -C "$TREE" O="$obj" tinyconfig
	for opt in $BOOT_OPTIONS; do
		"$TREE/scripts/config" --file "$obj/.config" -e "$opt"
	done
	make -s -C "$TREE" O="$obj" olddefconfig
	for opt in 64BIT AMD_MEM_ENCRYPT VMPLGUARD VMPLGUARD_KUNIT_TEST KUNIT EVENT_TRACING PROC_SYSCTL; do
		grep -qx "CONFIG_$opt=y" "$obj/.config" || die "olddefconfig dropped CONFIG_$opt"
	done
}

build_kernel() {
	log=$obj/bzImage.log
	if ! make -C "$TREE" O="$obj" -j"$JOBS" bzImage > "$log" 2>&1; then
		tail -30 "$log" >&2
		die "bzImage does not build (log: $log)"
	fi
	if grep -nE ':[0-9]+:[0-9]+: warning:' "$log" |
		grep -i 'vmplguard\|alternative\|coco/sev\|kernel/module\|mm/init' >&2; then
		die "warnings in code the series touches (log: $log)"
	fi
	# objtool checks the linked code: nothing of ours may show up there.
	if grep -n 'objtool' "$log" | grep -i 'vg_\|vmplguard' >&2; then
		die "objtool warnings in vmplguard code (log: $log)"
	fi
}

make_initramfs() {
	root=$obj/initramfs
	rm -rf "$root"
	mkdir -p "$root/proc" "$root/tracing" "$root/dev"
	gcc -static -Os -Wall -Wextra -Werror -o "$root/init" "$here/boot_init.c"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$obj/initrd.gz"
}

boot() {
	console=$obj/console.log
	# TCG only: KVM hangs on this machine, and TCG is what proves the
	# kernel runs without SEV-SNP.
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -m 512 -smp 2 -nographic \
		-no-reboot -kernel "$obj/arch/x86/boot/bzImage" -initrd "$obj/initrd.gz" \
		-append 'console=ttyS0 panic=-1 kunit.filter_glob=vmplguard' \
		> "$console" 2>&1 || die "QEMU did not end within ${BOOT_TIMEOUT} s or failed (log: $console)"
}

expect() { # expect PATTERN WHAT
	grep -q -- "$1" "$console" || die "boot log lacks $2 (log: $console)"
}

check_log() {
	# The serial console ends lines with CR LF.
	tr -d '\r' < "$console" > "$console.txt"
	console=$console.txt
	expect 'vmplguard: not an SEV-SNP guest, staying dormant' 'the dormant path'
	expect '^ *ok [0-9]* vmplguard$' 'a passed vmplguard KUnit suite'
	! grep -q 'not ok' "$console" || die "a KUnit case failed (log: $console)"
	summary=$(grep -o '# vmplguard: pass:[0-9]* fail:[0-9]* skip:[0-9]* total:[0-9]*' "$console" || true)
	[ -n "$summary" ] || die "no KUnit summary for vmplguard (log: $console)"
	case $summary in
	*"fail:0 skip:0 "*) ;;
	*) die "KUnit: $summary" ;;
	esac
	expect 'vmplguard-boot: init reached' '/init'
	! grep -q 'vmplguard-boot: .*\(FAILED\|MISSING\)' "$console" ||
		die "$(grep 'vmplguard-boot: .*\(FAILED\|MISSING\)' "$console")"
	for what in 'sysctl core_pattern ok' 'sysctl modprobe ok' 'sysctl poweroff_cmd ok' \
		'tracepoint violation ok' 'tracepoint request ok' 'done'; do
		expect "vmplguard-boot: $what" "'$what'"
	done
	note "boot log: $(grep -c . "$console") lines; $summary"
	grep -E 'vmplguard(-boot)?:|^ *ok [0-9]* vmplguard' "$console" | sed 's/^/  | /'
}

start=$(now)
timed "apt" fetch
timed "extract" extract
timed "apply series" apply_series "$CACHE/patched-boot"
timed "tinyconfig + olddefconfig" configure
timed "make -j$JOBS bzImage" build_kernel
timed "initramfs" make_initramfs
timed "QEMU TCG boot" boot
check_log
note "passed in $(( $(now) - start )) s:$timings"
