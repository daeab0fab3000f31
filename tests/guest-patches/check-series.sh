#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#
# Checks the vmplguard Linux 6.12 series against Debian's linux-source-6.12:
#   1. fetches linux-source-6.12 and linux-config-6.12 with apt (pinned version)
#   2. extracts the pristine tree once into a cache
#   3. applies every patch of the series, in order, with no fuzz
#   4. runs scripts/checkpatch.pl on every patch: no errors allowed
#   5. compiles every object the series touches with Debian's cloud config,
#      once with CONFIG_VMPLGUARD=y (plus KUnit and the vmplguard suite) and
#      once with CONFIG_VMPLGUARD=n; the vmplguard objects also with W=1.
#      Any compiler warning fails the check.
# Single objects prove compilation only: objtool and modpost run when vmlinux
# is linked (boot-kernel.sh does that for a small config).
#
# Opt-in, because it needs apt (network, root) and a few minutes of CPU:
#   VMPLGUARD_KERNEL_CHECKS=1 check-series.sh [SERIES_DIR]
# Exit status: 0 all checks passed, 1 a check failed, 77 not opted in.
# Knobs: VMPLGUARD_LINUX_SOURCE_VERSION (Debian version to pin),
#        VMPLGUARD_KERNEL_CACHE (default /var/cache/vmplguard/check-series),
#        VMPLGUARD_KERNEL_JOBS (default 2: the machine is shared).
set -eu

PROG=check-series
here=$(cd "$(dirname "$0")" && pwd)
SERIES_DIR=$(cd "${1:-$here/../../guest-patches/linux-6.12}" && pwd)
. "$here/kernel-tree.sh"
CLOUD_CONFIG=config.amd64_none_cloud-amd64.xz

if [ "${VMPLGUARD_KERNEL_CHECKS:-0}" != 1 ]; then
	echo "$PROG: skipped (set VMPLGUARD_KERNEL_CHECKS=1: needs apt and ~5 min of CPU)"
	exit 77
fi

# 4. checkpatch on every patch.
checkpatch() {
	errors=0
	for p in $(cat "$SERIES_DIR/series"); do
		out=$(cd "$TREE" && perl scripts/checkpatch.pl --no-tree --quiet --show-types \
			"$SERIES_DIR/$p" 2>&1 || true)
		e=$(printf '%s\n' "$out" | sed -n 's/^total: \([0-9]*\) errors.*/\1/p')
		w=$(printf '%s\n' "$out" | sed -n 's/^total: [0-9]* errors, \([0-9]*\) warnings.*/\1/p')
		note "checkpatch $p: ${e:-0} errors, ${w:-0} warnings"
		if [ "${e:-0}" != 0 ]; then
			printf '%s\n' "$out" | grep -A3 '^ERROR' >&2 || true
			errors=$((errors + e))
		fi
	done
	[ $errors -eq 0 ] || die "checkpatch reports $errors errors"
}

# Objects of the .c files the series changes or adds.
touched_objects() {
	for p in $(cat "$SERIES_DIR/series"); do
		sed -n 's|^+++ b/\(.*\)\.c$|\1.o|p' "$SERIES_DIR/$p"
	done | sort -u
}

# 5. Compile with the cloud config, VMPLGUARD=$1 (y or n).
build() {
	want=$1
	obj=$CACHE/build-$want
	mkdir -p "$obj"
	xz -dc "/usr/src/linux-config-6.12/$CLOUD_CONFIG" > "$obj/.config"
	if [ "$want" = y ]; then
		"$TREE/scripts/config" --file "$obj/.config" -e VMPLGUARD -e KUNIT -e VMPLGUARD_KUNIT_TEST
	else
		"$TREE/scripts/config" --file "$obj/.config" -d VMPLGUARD
	fi
	timed "olddefconfig (VMPLGUARD=$want)" make -s -C "$TREE" O="$obj" olddefconfig
	if [ "$want" = y ]; then
		grep -qx 'CONFIG_VMPLGUARD=y' "$obj/.config" || die "olddefconfig dropped CONFIG_VMPLGUARD=y"
		grep -qx 'CONFIG_VMPLGUARD_KUNIT_TEST=y' "$obj/.config" ||
			die "olddefconfig dropped CONFIG_VMPLGUARD_KUNIT_TEST=y"
	else
		grep -qx '# CONFIG_VMPLGUARD is not set' "$obj/.config" || die "CONFIG_VMPLGUARD is not off"
	fi
	timed "prepare modules_prepare (VMPLGUARD=$want)" \
		make -s -C "$TREE" O="$obj" -j"$JOBS" prepare modules_prepare

	objects=""
	for o in $(touched_objects); do
		case $o in
		arch/x86/coco/vmplguard/*) [ "$want" = y ] || continue ;;
		esac
		objects="$objects $o"
	done
	log=$obj/objects.log
	t0=$(now)
	if ! make -C "$TREE" O="$obj" -j"$JOBS" $objects > "$log" 2>&1; then
		grep -E 'error|Error' "$log" | head -30 >&2
		die "objects do not compile with CONFIG_VMPLGUARD=$want (log: $log)"
	fi
	if [ "$want" = y ]; then
		# Extra warnings for the code the series adds; W=1 rebuilds them.
		if ! make -C "$TREE" O="$obj" -j"$JOBS" W=1 \
			$(echo "$objects" | tr ' ' '\n' | grep '^arch/x86/coco/vmplguard/') >> "$log" 2>&1; then
			die "vmplguard objects do not compile with W=1 (log: $log)"
		fi
	fi
	n=$(echo $objects | wc -w)
	timings="$timings
  $n objects (VMPLGUARD=$want$([ "$want" = y ] && echo ', plus W=1 pass')): $(( $(now) - t0 )) s"
	# Compiler diagnostics only (file:line:column: warning:); the host tools'
	# yacc notes are not ours.
	if grep -nE ':[0-9]+:[0-9]+: warning:' "$log" >&2; then
		die "compiler warnings with CONFIG_VMPLGUARD=$want (log: $log)"
	fi
	for o in $objects; do
		[ -s "$obj/$o" ] || die "$o was not built with CONFIG_VMPLGUARD=$want"
	done
	note "CONFIG_VMPLGUARD=$want: $n objects compile without warnings:$(echo $objects | tr ' ' '\n' | sed 's/^/ /' | tr -d '\n')"
}

start=$(now)
mkdir -p "$CACHE"
timed "apt (linux-source-6.12 $VERSION)" fetch
timed "extract" extract
timed "apply series" apply_series "$CACHE/patched"
timed "checkpatch" checkpatch
# Hard links must not have let the series write into the pristine tree.
! grep -q vmplguard "$PRISTINE/arch/x86/kernel/alternative.c" ||
	die "the pristine tree at $PRISTINE was modified: remove $CACHE/src-$VERSION"
build y
build n
note "all checks passed in $(( $(now) - start )) s:$timings"
