#!/bin/bash
# The record test bed (CTest `agent_record_testbed`, label `testbed`).
#
# Boots Debian's 6.12 cloud kernel with `nokaslr` under QEMU TCG (never KVM:
# it hangs on our machines) with a busybox initramfs holding the static
# agent, the on-disk bytes of the kernel text [_text, _etext) taken from the
# cached debug vmlinux, a module from the kernel package, a tiny BPF loader
# and the attack module. The guest (guest_record_init.sh) records a benign
# trace and an attack trace with `vmplguard-agent --record`; check_record.py
# checks them. With --policy-tool, the policy `vmplguard analyze` makes for
# the kernel names the critical data objects the agent watches (--watch-data:
# `data` records say which ones the kernel rewrote in which phase). The traces stay in WORK (benign.vgtrace.gz, attack.vgtrace.gz);
# tests/data/traces/6.12.117/README.md says how the stored ones were made.
# Exit 77 (skipped) when an input cannot be had.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/testbed_common.sh"

AGENT= JIT_LOAD= WORK= POLICY_TOOL=
while [ $# -gt 0 ]; do
  case $1 in
    --agent) AGENT=$2; shift 2 ;;
    --jit-load) JIT_LOAD=$2; shift 2 ;;
    --policy-tool) POLICY_TOOL=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "usage: $0 --agent BIN --jit-load BIN [--policy-tool BIN] --work DIR" >&2; exit 2 ;;
  esac
done
[ -x "$AGENT" ] && [ -x "$JIT_LOAD" ] && [ -n "$WORK" ] || { echo "missing arguments" >&2; exit 2; }
[ -z "$POLICY_TOOL" ] || [ -x "$POLICY_TOOL" ] || { echo "--policy-tool $POLICY_TOOL is not executable" >&2; exit 2; }
tb_check_inputs
command -v objcopy >/dev/null || skip "objcopy not installed (binutils)"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
START=$(date +%s)
tb_kernel
tb_attack_module

# The on-disk text: .text of the debug vmlinux is exactly [_text, _etext).
command -v python3 >/dev/null || skip "python3 not installed"
R=$WORK/root
tb_root $R "$AGENT" "$HERE/guest_record_init.sh"
cp "$JIT_LOAD" $R/bin/testbed-jit-load
read -r text etext < <(nm "$VMLINUX" | awk '$3=="_text"{t=$1} $3=="_etext"{e=$1} END{print t, e}')
objcopy -O binary --only-section=.text "$VMLINUX" "$WORK/boot-text.bin"
[ "$(stat -c %s "$WORK/boot-text.bin")" -eq $(( 0x$etext - 0x$text )) ] ||
  { echo ".text of $VMLINUX is not [_text, _etext)" >&2; exit 1; }
gzip -1c "$WORK/boot-text.bin" > $R/boot-text.bin.gz
rm -f "$WORK/boot-text.bin"
# Where the kernel's patch sites start: no `boot` record straddles two.
python3 "$HERE/vmlinux_sites.py" "$VMLINUX" "$WORK/boot-sites.txt"
gzip -1c "$WORK/boot-sites.txt" > $R/boot-sites.txt.gz
# The critical data objects to watch, from the policy of this kernel
# (`vmplguard analyze`, cached like run_testbed.sh's): one line each,
# NAME LINK_VA SIZE PROTECTION. Objects in init memory (the per-CPU
# templates) are left out: the kernel frees it after boot.
WATCH_OPTION=
if [ -n "$POLICY_TOOL" ]; then
  POLICY=$WORK/vmlinux-$KVER.policy
  if [ ! -f "$POLICY" ] || [ "$VMLINUX" -nt "$POLICY" ] || [ "$POLICY_TOOL" -nt "$POLICY" ]; then
    "$POLICY_TOOL" analyze "$VMLINUX" -o "$POLICY" --quiet --output "$WORK/analyze-report.txt" ||
      { echo "vmplguard analyze failed (report: $WORK/analyze-report.txt)" >&2; exit 1; }
  fi
  "$POLICY_TOOL" policy show "$POLICY" --format json > "$WORK/policy.json" ||
    { echo "vmplguard policy show failed" >&2; exit 1; }
  python3 "$HERE/check_record.py" --make-watch-list "$WORK/policy.json" > "$WORK/watch-data.txt" ||
    { echo "no watch list from $WORK/policy.json" >&2; exit 1; }
  cp "$WORK/watch-data.txt" $R/watch-data.txt
  WATCH_OPTION="--watch-list $WORK/watch-data.txt"
  echo "record test bed: watching $(grep -vc '^#' "$WORK/watch-data.txt") critical data objects of the policy"
fi
tb_inner_kprobe $R
tb_initrd $R "$WORK/initrd.gz"

# Boot. TCG only; nokaslr keeps runtime and link addresses equal, so the
# boot diff has no relocation noise. Two CPUs, as in any real CVM: on one the
# kernel also turns every `lock` prefix into `ds` (SMP alternatives). Both
# vCPUs run in one host thread (thread=single): with QEMU 7.2's multi-threaded
# TCG one vCPU now and then kept executing a stale translation of an int3 that
# text_poke_bp_batch had already removed and synced, and the guest died with
# "Oops: int3" in __schedule (seen once in CI, once in five runs here).
LOG=$WORK/console.log
timeout 600 nice -n 10 qemu-system-x86_64 -accel tcg,thread=single -smp 2 -m 1G -nographic -no-reboot -kernel "$VMLINUZ" \
  -initrd "$WORK/initrd.gz" -append 'console=ttyS0 panic=-1 quiet loglevel=4 nokaslr' > "$LOG" 2>&1 || true
tr -d '\r' < "$LOG" > "$LOG.txt"
echo "record test bed: boot and run took $(( $(date +%s) - START )) s; console log: $LOG.txt"

if grep -q -e '^\[ *[0-9.]*\] Kernel panic' -e '^\[ *[0-9.]*\] Oops:' "$LOG.txt"; then
  echo "the guest kernel crashed; its report:" >&2
  grep -v '^[A-Za-z0-9+/=]*$' "$LOG.txt" | grep -A12 -m1 -e 'Oops:' -e 'Kernel panic' >&2
  echo "record test bed FAILED; boot log kept at $LOG.txt" >&2
  exit 1
fi
for f in benign.vgtrace.gz attack.vgtrace.gz; do
  sed -n "/^VGREC-BEGIN $f\$/,/^VGREC-END $f\$/p" "$LOG.txt" | sed '1d;$d' | base64 -d > "$WORK/$f" ||
    { echo "no $f on the console" >&2; exit 1; }
done
if python3 "$HERE/check_record.py" --benign "$WORK/benign.vgtrace.gz" --attack "$WORK/attack.vgtrace.gz" \
     --console "$LOG.txt" --vmlinux "$VMLINUX" $WATCH_OPTION; then
  exit 0
fi
echo "record test bed FAILED; boot log kept at $LOG.txt" >&2
exit 1
