#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#
# Builds a small kernel with the vmplguard series (tinyconfig plus what a
# QEMU boot, tracing and KUnit need, CONFIG_VMPLGUARD=y) and boots it under
# QEMU TCG, which is no SEV-SNP guest. Passes if the boot log shows:
#   - the dormant path ("vmplguard: not an SEV-SNP guest, staying dormant"),
#   - the vmplguard KUnit suite with every case passed and none skipped,
#   - /init's checks: the mediated sysctls behave like stock ones, and the
#     vmplguard:vmplguard_violation and vmplguard:vmplguard_request
#     tracepoints exist with the struct vg_record fields.
# The full link also runs objtool and modpost over the series' code.
#
# With VMPLGUARD_BOOT_FULL=1 the kernel also has BPF, BTF, kprobes, the
# function tracer, KASLR and KUnit's debugfs, and if the static agent and the
# vmplguard CLI are given, the initramfs holds the agent and a policy that
# `vmplguard analyze` made from this very vmlinux. /init then starts the
# agent, reruns the KUnit suite (its tracepoint case drains a fake ring
# through the kernel's real delivery code) and stops the agent. The log must
# also show both tp_btf programs attached, the agent's accounting line, and
# the three test records decoded by the agent, each from its tracepoint.
#
# Opt-in (a bzImage build takes minutes of CPU; see BOOT_OPTIONS):
#   VMPLGUARD_KERNEL_BOOT=1 [VMPLGUARD_BOOT_FULL=1] \
#     boot-kernel.sh [SERIES_DIR [AGENT_STATIC VMPLGUARD_CLI]]
# Never uses KVM (TCG only). Exit status: 0 pass, 1 fail, 77 not opted in.
# Knobs as in check-series.sh, plus VMPLGUARD_BOOT_TIMEOUT (s, default 300).
set -eu

PROG=boot-kernel
here=$(cd "$(dirname "$0")" && pwd)
SERIES_DIR=$(cd "${1:-$here/../../guest-patches/linux-6.12}" && pwd)
AGENT=${2:-}
CLI=${3:-}
. "$here/kernel-tree.sh"
BOOT_TIMEOUT=${VMPLGUARD_BOOT_TIMEOUT:-300}
FULL=${VMPLGUARD_BOOT_FULL:-0}

if [ "${VMPLGUARD_KERNEL_BOOT:-0}" != 1 ]; then
	echo "$PROG: skipped (set VMPLGUARD_KERNEL_BOOT=1: needs apt, ~10 min of CPU and QEMU)"
	exit 77
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

# Options on top of tinyconfig. The default set is the smallest that boots
# here with what this test checks (serial console, initramfs, sysctls, core
# dumps, tracefs events, static keys, modules, SEV guest support, KUnit).
# VMPLGUARD_BOOT_FULL=1 adds the rest of kernel-facts.md's measured set (BPF,
# kprobes, function tracer, KASLR, BTF, PCI, SEV_GUEST) and what the agent
# needs (BPF events, perf, kallsyms, debugfs for KUnit's run file, and NET:
# libbpf probes for global data with a socket filter program, and without
# that type it refuses every program that has a .rodata); its BTF needs
# pahole (Debian's dwarves). Figures: guest-patches/README.md.
BOOT_OPTIONS="64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP
BINFMT_ELF PROC_FS SYSFS MULTIUSER FUTEX JUMP_LABEL MODULES AMD_MEM_ENCRYPT ACPI EFI EFI_STUB
SYSCTL PROC_SYSCTL COREDUMP EXPERT FTRACE ENABLE_DEFAULT_TRACERS
KUNIT VMPLGUARD VMPLGUARD_KUNIT_TEST"
BOOT_DISABLE=""
BOOT_REQUIRED="64BIT AMD_MEM_ENCRYPT VMPLGUARD VMPLGUARD_KUNIT_TEST KUNIT EVENT_TRACING PROC_SYSCTL"
if [ "$FULL" = 1 ]; then
	BOOT_OPTIONS="$BOOT_OPTIONS BINFMT_SCRIPT DEVTMPFS EPOLL BPF_SYSCALL BPF_JIT FUNCTION_TRACER
DYNAMIC_FTRACE KPROBES KPROBE_EVENTS RELOCATABLE RANDOMIZE_BASE SEV_GUEST DEBUG_KERNEL
DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_BTF VIRT_DRIVERS PCI
PERF_EVENTS BPF_EVENTS KALLSYMS KALLSYMS_ALL DEBUG_FS DEBUG_FS_ALLOW_ALL KUNIT_DEBUGFS
SHMEM TMPFS POSIX_TIMERS TIMERFD EVENTFD SIGNALFD NET"
	BOOT_DISABLE="DEBUG_INFO_NONE DEBUG_INFO_REDUCED DEBUG_INFO_SPLIT"
	BOOT_REQUIRED="$BOOT_REQUIRED DEBUG_INFO_BTF BPF_SYSCALL BPF_JIT BPF_EVENTS KPROBES
FUNCTION_TRACER DYNAMIC_FTRACE KALLSYMS PERF_EVENTS DEBUG_FS KUNIT_DEBUGFS RANDOMIZE_BASE NET"
	command -v pahole >/dev/null || die "pahole missing: CONFIG_DEBUG_INFO_BTF needs it (apt-get install dwarves)"
fi
if [ -n "$AGENT" ]; then
	[ "$FULL" = 1 ] || AGENT=""
fi
if [ -n "$AGENT" ]; then
	[ -x "$AGENT" ] || die "agent $AGENT is not an executable"
	[ -x "$CLI" ] || die "vmplguard CLI '$CLI' is not an executable (needed to make the agent's policy)"
fi

configure() {
	# The lean and the full configuration build in separate trees, so
	# that switching between them does not rebuild everything.
	obj=$CACHE/build-boot$([ "$FULL" = 1 ] && echo -full)
	mkdir -p "$obj"
	make -s -C "$TREE" O="$obj" tinyconfig
	for opt in $BOOT_OPTIONS; do
		"$TREE/scripts/config" --file "$obj/.config" -e "$opt"
	done
	for opt in $BOOT_DISABLE; do
		"$TREE/scripts/config" --file "$obj/.config" -d "$opt"
	done
	make -s -C "$TREE" O="$obj" olddefconfig
	for opt in $BOOT_REQUIRED; do
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
	mkdir -p "$root/proc" "$root/tracing" "$root/dev" "$root/sys"
	gcc -static -Os -Wall -Wextra -Werror -o "$root/init" "$here/boot_init.c"
	if [ -n "$AGENT" ]; then
		# The agent only runs with the policy of the running kernel
		# (same build id), so make it from this vmlinux.
		"$CLI" analyze "$obj/vmlinux" -o "$root/policy.vgp" --quiet > "$obj/analyze.txt" 2>&1 ||
			{ tail -20 "$obj/analyze.txt" >&2; die "vmplguard analyze failed on $obj/vmlinux"; }
		cp "$AGENT" "$root/vmplguard-agent"
	fi
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
	# One summary per run of the suite: at boot, and again from debugfs.
	summaries=$(grep -o '# vmplguard: pass:[0-9]* fail:[0-9]* skip:[0-9]* total:[0-9]*' "$console" || true)
	[ -n "$summaries" ] || die "no KUnit summary for vmplguard (log: $console)"
	summary=$(printf '%s\n' "$summaries" | head -1)
	bad=$(printf '%s\n' "$summaries" | grep -v ' fail:0 skip:0 ' || true)
	[ -z "$bad" ] || die "KUnit: $bad"
	expect 'vmplguard-boot: init reached' '/init'
	! grep -q 'vmplguard-boot: .*\(FAILED\|MISSING\)' "$console" ||
		die "$(grep 'vmplguard-boot: .*\(FAILED\|MISSING\)' "$console")"
	for what in 'sysctl core_pattern ok' 'sysctl modprobe ok' 'sysctl poweroff_cmd ok' \
		'tracepoint violation ok' 'tracepoint request ok' 'done'; do
		expect "vmplguard-boot: $what" "'$what'"
	done
	[ -z "$AGENT" ] || check_agent
	note "boot log: $(grep -c . "$console") lines; $summary"
	grep -E 'vmplguard(-boot|-agent)?:|^ *ok [0-9]* vmplguard' "$console" | sed 's/^/  | /'
}

# The agent in the guest: both tp_btf programs attached, the records of
# KUnit's fake ring received and decoded, every event accounted for.
check_agent() {
	[ "$(printf '%s\n' "$summaries" | wc -l)" -eq 2 ] ||
		die "expected the KUnit suite twice (boot and debugfs rerun), got: $summaries"
	for what in 'agent ready' 'kunit rerun ok' 'agent exit ok 0'; do
		expect "vmplguard-boot: $what" "'$what'"
	done
	for tp in violation request; do
		grep -qE "^vmplguard-agent: probe vmplguard_$tp +tp_btf +attached\$" "$console" ||
			die "the agent did not attach tp_btf to vmplguard_$tp (log: $console)"
	done
	expect '^vmplguard-agent: produced [0-9]*, .*: accounted$' "the agent's accounting line"
	# KUnit's records carry detail 0x56475445; sequence 1 and 3 are
	# violations (text write, pinned register), 2 a request (patch applied).
	records=$(grep '^vmplguard-boot: agent record ' "$console" | grep '"detail":1447515205' || true)
	[ "$(printf '%s\n' "$records" | grep -c .)" -eq 3 ] ||
		die "expected the agent to decode 3 KUnit records, got: $records"
	for want in '"sequence":1,.*"tracepoint":"vmplguard:violation"' \
		'"sequence":2,.*"tracepoint":"vmplguard:request"' \
		'"sequence":3,.*"tracepoint":"vmplguard:violation"'; do
		printf '%s\n' "$records" | grep -q "$want" || die "no agent record matches $want: $records"
	done
	for kind in monitor_text_write monitor_patch_applied monitor_pinned_register; do
		printf '%s\n' "$records" | grep -q "\"$kind\"" || die "no agent record of kind $kind: $records"
	done
	note "agent: tp_btf attached to vmplguard_violation and vmplguard_request, 3 KUnit records decoded"
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
