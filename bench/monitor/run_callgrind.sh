#!/bin/sh
# Instruction counts of the monitor's hot paths under callgrind (sim build,
# -O2), per iteration, and their ratio to a hardware VMPL round trip of about
# 35,000 cycles (NestedSGX); instructions are compared with cycles at one
# instruction per cycle, which overstates the monitor's share.
# Usage: bench/monitor/run_callgrind.sh BUILD_DIR [ITERATIONS]
set -eu
build=${1:?usage: run_callgrind.sh BUILD_DIR [ITERATIONS]}
iterations=${2:-200}
binary=$build/bench/monitor/vg_bench_monitor_hot_paths
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() {
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/$1.out" "$binary" "$1" "$iterations" \
    >/dev/null 2>"$out/$1.log"
  total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out/$1.out")
  [ -n "$total" ] || total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out/$1.out")
  echo $((total / iterations))
}
patch1=$(count patch1)
patch64=$(count patch64)
deny1=$(count deny1)
violation=$(count violation)
per_entry=$(((patch64 - patch1) / 63))
round_trip=35000
printf '%-52s %8s %8s %10s\n' "path" "instr" "target" "vs 35k cyc"
row() { printf '%-52s %8d %8s %9.2f%%\n' "$1" "$2" "$3" "$(echo "$2 * 100 / $round_trip" | bc -l)"; }
row "TEXT_PATCH call, 1 entry (copy+validate+write+record)" "$patch1" "-"
row "one more entry in a batch (validate+write)" "$per_entry" "1500"
row "TEXT_PATCH call, 1 refused entry (validate+record)" "$deny1" "-"
row "violation: attribute, decide, record" "$violation" "2000"
row "TEXT_PATCH call, 64 entries (one round trip)" "$patch64" "-"
