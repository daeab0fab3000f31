#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#
# Proves that the Linux patch series and the monitor share one ABI: the
# vmplguard_abi.h that the series adds must be byte-for-byte the monitor's
# monitor/include/monitor/vmplguard_abi.h, and both copies must compile
# against the same static asserts of sizes and offsets.
#
# usage: abi-agree.sh SERIES_DIR MONITOR_HEADER LAYOUT_CHECK_C WORK_DIR [CC]
#        abi-agree.sh --self-test SERIES_DIR MONITOR_HEADER LAYOUT_CHECK_C WORK_DIR [CC]
# --self-test checks that the check fails on a one-byte drift and on a layout
# change, so a green run cannot come from a check that never fails.
set -eu

KERNEL_PATH=include/linux/vmplguard_abi.h

die() { echo "abi-agree: $*" >&2; exit 1; }

# extract SERIES_DIR OUT: writes the header as the series creates it.
extract() {
	series_dir=$1 out=$2
	[ -f "$series_dir/series" ] || die "$series_dir/series: missing"
	touching=""
	for p in $(cat "$series_dir/series"); do
		[ -f "$series_dir/$p" ] || die "$series_dir/$p: listed in series but missing"
		if grep -q "^diff --git a/$KERNEL_PATH b/$KERNEL_PATH\$" "$series_dir/$p"; then
			touching="$touching $p"
		fi
	done
	set -- $touching
	[ $# -eq 1 ] || die "expected exactly one patch to touch $KERNEL_PATH, found $#:$touching"
	# The file must be created whole by one hunk; take its N '+' lines.
	awk -v path="$KERNEL_PATH" -v out="$out" '
		function fail(msg) { print "abi-agree: " FILENAME ": " msg > "/dev/stderr"; bad = 1; exit 1 }
		$0 == "diff --git a/" path " b/" path { in_file = 1; next }
		in_file && /^diff --git / { fail("file ended before its hunk") }
		in_file && !in_hunk && /^@@ / {
			if ($2 != "-0,0") fail("header is modified, not created: " $0)
			# "+1,N": the new file has N lines ("+1" alone means one).
			left = split($3, range, ",") == 2 ? range[2] + 0 : 1
			in_hunk = 1; printf "" > out; next
		}
		in_hunk && left > 0 {
			if (substr($0, 1, 1) != "+") fail("unexpected line in new-file hunk: " $0)
			print substr($0, 2) > out; left--
			if (left == 0) { done = 1 }
			next
		}
		done && /^\\ No newline at end of file/ { nonl = 1; exit 0 }
		done { exit 0 }
		END {
			if (bad) exit 1
			if (!done) { print "abi-agree: no complete hunk for " path > "/dev/stderr"; exit 1 }
			if (nonl) exit 3
		}' "$series_dir/$1" || {
		rc=$?
		[ $rc -eq 3 ] || exit 1
		# The header has no final newline: drop the one awk added.
		truncate -s -1 "$out"
	}
}

# check SERIES_DIR MONITOR_HEADER: 0 if the copies agree in bytes and layout.
check() {
	series_dir=$1 monitor_header=$2
	extract "$series_dir" "$WORK/kernel_vmplguard_abi.h"
	if ! cmp "$monitor_header" "$WORK/kernel_vmplguard_abi.h"; then
		diff -u "$monitor_header" "$WORK/kernel_vmplguard_abi.h" | head -40 >&2 || true
		echo "abi-agree: $KERNEL_PATH in the series differs from $monitor_header" >&2
		return 1
	fi
	for header in "$monitor_header" "$WORK/kernel_vmplguard_abi.h"; do
		if ! $CC -std=c11 -Wall -Wextra -Werror -fsyntax-only \
			-DVG_ABI_HEADER="\"$header\"" "$LAYOUT_C"; then
			echo "abi-agree: layout static asserts fail for $header" >&2
			return 1
		fi
	done
	echo "abi-agree: series and monitor share $(wc -c < "$monitor_header") bytes of ABI; layouts checked"
}

self_test=0
if [ "${1:-}" = "--self-test" ]; then
	self_test=1
	shift
fi
[ $# -ge 4 ] || die "usage: $0 [--self-test] SERIES_DIR MONITOR_HEADER LAYOUT_CHECK_C WORK_DIR [CC]"
SERIES=$1 MONITOR=$2 LAYOUT_C=$3 WORK=$4 CC=${5:-cc}
mkdir -p "$WORK"

if [ $self_test -eq 0 ]; then
	check "$SERIES" "$MONITOR"
	exit $?
fi

# Self-test 1: a one-character drift in the monitor's copy must be caught.
sed 's/#define VG_ABI_VERSION 1u/#define VG_ABI_VERSION 2u/' "$MONITOR" > "$WORK/drift.h"
cmp -s "$MONITOR" "$WORK/drift.h" && die "self-test: could not make a drifted header"
if check "$SERIES" "$WORK/drift.h" 2>/dev/null; then
	die "self-test: a drifted monitor header was accepted"
fi

# Self-test 2: a series whose header changes a field's width must fail even
# before the byte comparison matters: the layout asserts catch it.
sed 's/^\tvg_u32 vcpu;/\tvg_u64 vcpu;/' "$MONITOR" > "$WORK/layout.h"
cmp -s "$MONITOR" "$WORK/layout.h" && die "self-test: could not make a re-laid-out header"
if $CC -std=c11 -fsyntax-only -DVG_ABI_HEADER="\"$WORK/layout.h\"" "$LAYOUT_C" 2>/dev/null; then
	die "self-test: a header with a wider vg_record.vcpu passed the layout asserts"
fi

# Self-test 3: a series that modifies the header in a second patch is refused.
mkdir -p "$WORK/series2"
cp "$SERIES"/*.patch "$SERIES/series" "$WORK/series2/"
cat > "$WORK/series2/9999-touch-abi.patch" <<PATCH
diff --git a/$KERNEL_PATH b/$KERNEL_PATH
--- a/$KERNEL_PATH
+++ b/$KERNEL_PATH
@@ -1 +1 @@
PATCH
echo 9999-touch-abi.patch >> "$WORK/series2/series"
if (extract "$WORK/series2" "$WORK/series2.h") 2>/dev/null; then
	die "self-test: a series touching the header twice was accepted"
fi

echo "abi-agree: self-test passed (drift, layout change and a second patch are all refused)"
