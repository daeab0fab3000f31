#!/usr/bin/env bash
# Counts instructions (valgrind --tool=callgrind, sim build at -O2) of:
# a PVALIDATE request of one 4K page, of 512 pages (one 2M entry, and 511 4K
# entries: the most one list page holds), a refused domain switch (the
# decision alone) and a domain switch that swaps two enclaves of 16 pages.
# Prints each count and its ratio to the published ~35,000-cycle hardware
# VMPL round trip (NestedSGX). Counts include the simulated platform's model
# of RMPADJUST/PVALIDATE, which real hardware does in microcode.
#   bench/partitions/run_callgrind.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -x "$build/bench/partitions/bench_partitions" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVMPLGUARD_HAL=sim >/dev/null
  cmake --build "$build" --target bench_partitions -j2 >/dev/null
fi
binary="$build/bench/partitions/bench_partitions"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

total_of() {  # callgrind output file -> instructions collected in it
  awk '/^(summary|totals):/ {print $2; exit}' "$1"
}

# One run, collecting only inside the measured functions and dumping a
# profile after each call, so every call gets its own count.
valgrind --tool=callgrind --callgrind-out-file="$out/cg" --toggle-collect='*measured_*' \
  --dump-after='*measured_pvalidate*' --dump-after='*measured_switch*' "$binary" >/dev/null 2>"$out/log" ||
  { cat "$out/log" >&2; exit 1; }

labels=("PVALIDATE 1 x 4K page" "PVALIDATE 1 x 2M entry (512 pages)" "PVALIDATE 511 x 4K entries (one list page)"
        "domain switch refused (decision only)" "domain switch, 16-page sets swapped")
printf '%-44s %12s %18s\n' "operation" "instructions" "/ 35,000 cycles"
i=0
for f in $(ls "$out"/cg.* | grep -E '\.[0-9]+$' | sort -t. -k2 -n); do
  n=$(total_of "$f")
  [ -n "$n" ] && [ "$n" != "0" ] || continue
  [ $i -lt ${#labels[@]} ] || break
  printf '%-44s %12s %18s\n' "${labels[$i]}" "$n" "$(awk -v n="$n" 'BEGIN {printf "%.3f", n / 35000}')"
  i=$((i + 1))
done
[ $i -eq ${#labels[@]} ] || { echo "expected ${#labels[@]} measured calls, found $i" >&2; exit 1; }
