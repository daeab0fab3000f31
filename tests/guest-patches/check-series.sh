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
# With --bisect it checks instead that every prefix of the series builds, as
# bisecting a kernel needs: after applying patch k it compiles the objects
# that patches 1..k touch, with CONFIG_VMPLGUARD=y (plus KUnit and the
# vmplguard suite, once the series defines them) and =n, warnings fail.
# Kconfig is rerun after the patches that change a Kconfig file; a patch that
# only touches Documentation/ or MAINTAINERS compiles nothing new. Each step
# must also not list files in MAINTAINERS before they exist, and (compiling
# is not linking) its objects must not use a symbol that only a later patch
# defines; that part needs Debian's vmlinux of this kernel and is skipped
# with a note without it. It uses the same patched tree and build directories
# as the full check, so the prepared build is shared and each step
# recompiles only what the patch changed; it leaves the tree at the last step
# it reached.
#
# Opt-in, because it needs apt (network, root) and a few minutes of CPU:
#   VMPLGUARD_KERNEL_CHECKS=1 check-series.sh [SERIES_DIR]
#   VMPLGUARD_KERNEL_BISECT=1 check-series.sh --bisect [SERIES_DIR]
# Exit status: 0 all checks passed, 1 a check failed, 77 not opted in.
# Knobs: VMPLGUARD_LINUX_SOURCE_VERSION (Debian version to pin),
#        VMPLGUARD_KERNEL_CACHE (default /var/cache/vmplguard/check-series),
#        VMPLGUARD_KERNEL_JOBS (default 2: the machine is shared).
set -eu

PROG=check-series
BISECT=0
if [ "${1:-}" = "--bisect" ]; then
	PROG=check-series-bisect
	BISECT=1
	shift
fi
here=$(cd "$(dirname "$0")" && pwd)
SERIES_DIR=$(cd "${1:-$here/../../guest-patches/linux-6.12}" && pwd)
. "$here/kernel-tree.sh"
CLOUD_CONFIG=config.amd64_none_cloud-amd64.xz
# Debian's build of the same kernel (tools/setup --fetch-only puts it there):
# its symbols are the ones that exist without the series.
STOCK_VMLINUX=${VMPLGUARD_REAL_VMLINUX_612:-/var/cache/vmplguard/x612/usr/lib/debug/boot/vmlinux-6.12.117+deb12-cloud-amd64}

if [ $BISECT = 1 ] && [ "${VMPLGUARD_KERNEL_BISECT:-0}" != 1 ]; then
	echo "$PROG: skipped (set VMPLGUARD_KERNEL_BISECT=1: needs apt and several minutes of CPU)"
	exit 77
fi
if [ $BISECT = 0 ] && [ "${VMPLGUARD_KERNEL_CHECKS:-0}" != 1 ]; then
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

# The patches applied to $TREE so far.
applied_patches() {
	series_patches | head -n "$APPLIED"
}

# Objects of the .c files the applied patches change or add.
touched_objects() {
	for p in $(applied_patches); do
		sed -n 's|^+++ b/\(.*\)\.c$|\1.o|p' "$SERIES_DIR/$p"
	done | sort -u
}

# defined SYMBOL: whether an applied patch adds this Kconfig symbol.
defined() {
	for p in $(applied_patches); do
		grep -qx "+config $1" "$SERIES_DIR/$p" && return 0
	done
	return 1
}

# configure WANT: Debian's cloud config with CONFIG_VMPLGUARD=WANT (y or n)
# in $CACHE/build-WANT, prepared for single objects.
configure() {
	want=$1
	obj=$CACHE/build-$want
	mkdir -p "$obj"
	xz -dc "/usr/src/linux-config-6.12/$CLOUD_CONFIG" > "$obj/.config"
	if [ "$want" = y ]; then
		"$TREE/scripts/config" --file "$obj/.config" -e VMPLGUARD -e KUNIT -e VMPLGUARD_KUNIT_TEST
	else
		"$TREE/scripts/config" --file "$obj/.config" -d VMPLGUARD
	fi
	timed "olddefconfig (VMPLGUARD=$want$STEP_LABEL)" make -s -C "$TREE" O="$obj" olddefconfig
	# Before the series defines a symbol, Kconfig drops it: nothing to check.
	if [ "$want" = y ]; then
		for sym in VMPLGUARD VMPLGUARD_KUNIT_TEST; do
			defined $sym || continue
			grep -qx "CONFIG_$sym=y" "$obj/.config" ||
				die "olddefconfig dropped CONFIG_$sym=y$STEP_LABEL"
		done
	elif defined VMPLGUARD; then
		grep -qx '# CONFIG_VMPLGUARD is not set' "$obj/.config" ||
			die "CONFIG_VMPLGUARD is not off$STEP_LABEL"
	fi
	# Single objects depend on prepare: the bisect leaves it to them, the
	# full check times it on its own.
	[ $BISECT = 1 ] || timed "prepare modules_prepare (VMPLGUARD=$want)" \
		make -s -C "$TREE" O="$obj" -j"$JOBS" prepare modules_prepare
}

# compile WANT [W1]: compiles the touched objects in the build configured
# for CONFIG_VMPLGUARD=WANT; with W1, the vmplguard objects again with W=1.
compile() {
	want=$1 extra=${2:-}
	obj=$CACHE/build-$want
	objects=""
	for o in $(touched_objects); do
		case $o in
		arch/x86/coco/vmplguard/*) [ "$want" = y ] || continue ;;
		esac
		objects="$objects $o"
	done
	n=$(echo $objects | wc -w)
	if [ "$n" = 0 ]; then
		note "CONFIG_VMPLGUARD=$want$STEP_LABEL: no objects touched yet"
		return
	fi
	log=$obj/objects$STEP_LOG.log
	t0=$(now)
	if ! make -C "$TREE" O="$obj" -j"$JOBS" $objects > "$log" 2>&1; then
		grep -E 'error|Error' "$log" | head -30 >&2
		die "objects do not compile with CONFIG_VMPLGUARD=$want$STEP_LABEL (log: $log)"
	fi
	if [ "$want" = y ] && [ "$extra" = W1 ]; then
		# Extra warnings for the code the series adds; W=1 rebuilds them.
		if ! make -C "$TREE" O="$obj" -j"$JOBS" W=1 \
			$(echo "$objects" | tr ' ' '\n' | grep '^arch/x86/coco/vmplguard/') >> "$log" 2>&1; then
			die "vmplguard objects do not compile with W=1 (log: $log)"
		fi
	fi
	what="$n objects (VMPLGUARD=$want"
	[ "$extra" != W1 ] || what="$what, plus W=1 pass"
	timings="$timings
  $what$STEP_LABEL): $(( $(now) - t0 )) s"
	# Compiler diagnostics only (file:line:column: warning:); the host tools'
	# yacc notes are not ours.
	if grep -nE ':[0-9]+:[0-9]+: warning:' "$log" >&2; then
		die "compiler warnings with CONFIG_VMPLGUARD=$want$STEP_LABEL (log: $log)"
	fi
	for o in $objects; do
		[ -s "$obj/$o" ] || die "$o was not built with CONFIG_VMPLGUARD=$want$STEP_LABEL"
	done
	if [ -n "$STEP_LOG" ]; then
		# What these objects define and need, for the link check below.
		(cd "$obj" && nm -g --defined-only $objects) | awk 'NF == 3 { print $3 }' |
			sort -u > "$obj/defined$STEP_LOG.syms"
		(cd "$obj" && nm -u $objects) | awk '$1 == "U" { print $2 }' |
			sort -u > "$obj/undefined$STEP_LOG.syms"
	fi
	note "CONFIG_VMPLGUARD=$want$STEP_LABEL: $n objects compile without warnings:$(echo $objects | tr ' ' '\n' | sed 's/^/ /' | tr -d '\n')"
}

# patch_files PATCH: the files the patch changes.
patch_files() {
	sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$SERIES_DIR/$1"
}

# link_check WANT: compiling is not linking. A step whose objects use a
# symbol that only a later patch defines (declared in a header early, defined
# in a later file) compiles but would not link. Such a symbol is one that the
# touched objects define at the last step, that Debian's own build of this
# kernel does not have, and that the objects of the step need but do not
# define. Linking vmlinux at every step would take far too long.
link_check() {
	obj=$CACHE/build-$1
	final=$(ls -v "$obj"/defined-*.syms | tail -n 1)
	for undefined in "$obj"/undefined-*.syms; do
		step=${undefined##*/undefined-}
		step=${step%.syms}
		missing=$(sort -u "$undefined" | comm -23 - "$obj/defined-$step.syms" |
			comm -12 - "$final" | comm -23 - "$STOCK_SYMS")
		[ -z "$missing" ] || die "after $step/$(series_patches | wc -l) $(series_patches | sed -n "${step}p")," \
			"CONFIG_VMPLGUARD=$1 would not link: its objects use $(echo $missing)," \
			"which only a later patch defines"
	done
}

# maintained_files_exist: every file pattern that the applied patches put
# into MAINTAINERS matches a file of the tree at this step, as
# scripts/get_maintainer.pl --self-test=patterns wants (that script would
# check all of MAINTAINERS, which takes minutes).
maintained_files_exist() {
	patterns=$(for p in $(applied_patches); do
		sed -n 's|^+F:[[:space:]]*||p' "$SERIES_DIR/$p"
	done)
	for pattern in $patterns; do
		# A later patch may have dropped it again.
		grep -qx "F:[[:space:]]*$pattern" "$TREE/MAINTAINERS" || continue
		set -- $TREE/$pattern
		[ -e "$1" ] || die "after $APPLIED/$total $p: MAINTAINERS lists $pattern, which no file of the tree matches yet"
	done
}

# The series one patch at a time: every prefix must build.
bisect() {
	rm -f "$CACHE"/build-[yn]/defined-*.syms "$CACHE"/build-[yn]/undefined-*.syms
	fresh_tree "$CACHE/patched"
	total=$(series_patches | wc -l)
	for p in $(series_patches); do
		apply_patch "$p"
		STEP_LABEL=", after $APPLIED/$total $p"
		STEP_LOG=-$APPLIED
		maintained_files_exist
		if [ "$APPLIED" = 1 ] || patch_files "$p" | grep -qE '(^|/)Kconfig[^/]*$'; then
			configure y
			configure n
		fi
		if patch_files "$p" | grep -qvE '^(Documentation/|MAINTAINERS$)'; then
			compile y
			compile n
		else
			note "$p only touches Documentation/ or MAINTAINERS: nothing new to compile"
		fi
	done
	STEP_LABEL="" STEP_LOG=""
	if [ -r "$STOCK_VMLINUX" ]; then
		nm "$STOCK_VMLINUX" | awk '{ print $NF }' | sort -u > "$CACHE/stock.syms"
		STOCK_SYMS=$CACHE/stock.syms
		link_check y
		link_check n
		note "no step uses a symbol that only a later patch defines"
	else
		note "link check skipped: no stock vmlinux at $STOCK_VMLINUX (tools/setup --fetch-only, or set VMPLGUARD_REAL_VMLINUX_612)"
	fi
	# Hard links must not have let the series write into the pristine tree.
	! grep -q vmplguard "$PRISTINE/arch/x86/kernel/alternative.c" ||
		die "the pristine tree at $PRISTINE was modified: remove $CACHE/src-$VERSION"
}

start=$(now)
mkdir -p "$CACHE"
STEP_LABEL="" STEP_LOG=""
timed "apt (linux-source-6.12 $VERSION)" fetch
timed "extract" extract
if [ $BISECT = 1 ]; then
	bisect
	note "every prefix of the series ($APPLIED patches) builds, in $(( $(now) - start )) s:$timings"
	exit 0
fi
timed "apply series" apply_series "$CACHE/patched"
timed "checkpatch" checkpatch
# Hard links must not have let the series write into the pristine tree.
! grep -q vmplguard "$PRISTINE/arch/x86/kernel/alternative.c" ||
	die "the pristine tree at $PRISTINE was modified: remove $CACHE/src-$VERSION"
configure y
compile y W1
configure n
compile n
note "all checks passed in $(( $(now) - start )) s:$timings"
