#!/bin/bash
# The agent's real-kernel test bed (CTest label `testbed`).
#
# Boots Debian's 6.12 cloud kernel under QEMU TCG (KVM hangs on our machines)
# with a busybox initramfs holding the static agent, a policy made for that
# kernel by `vmplguard analyze` from the cached debug vmlinux, a module from the
# kernel package and the rootkit-style attack module built against Debian's
# headers. The guest drives real patching; check_testbed.py checks the
# agent's records. Exit 77 (skipped) when an input cannot be had.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/testbed_common.sh"

AGENT= POLICY_TOOL= WORK=
while [ $# -gt 0 ]; do
  case $1 in
    --agent) AGENT=$2; shift 2 ;;
    --policy-tool) POLICY_TOOL=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "usage: $0 --agent BIN --policy-tool BIN --work DIR" >&2; exit 2 ;;
  esac
done
[ -x "$AGENT" ] && [ -x "$POLICY_TOOL" ] && [ -n "$WORK" ] || { echo "missing arguments" >&2; exit 2; }
tb_check_inputs

mkdir -p "$WORK"
START=$(date +%s)
rm -rf "$WORK/root"
tb_kernel
tb_attack_module

# The policy for this kernel, from the real producer: `vmplguard analyze`
# (--policy-tool) on the debug vmlinux; kept while neither it nor the options
# change. The guest probes inside a function, so the policy allows kprobes,
# as it must on any machine whose administrators use them. The analysis
# report stays beside it.
POLICY=$WORK/vmlinux-$KVER.policy
ANALYZE_OPTIONS="--allow-kprobes"
if [ ! -f "$POLICY" ] || [ "$VMLINUX" -nt "$POLICY" ] || [ "$POLICY_TOOL" -nt "$POLICY" ] ||
   [ "$(cat "$POLICY.options" 2>/dev/null)" != "$ANALYZE_OPTIONS" ]; then
  "$POLICY_TOOL" analyze "$VMLINUX" -o "$POLICY" $ANALYZE_OPTIONS --quiet --output "$WORK/analyze-report.txt" ||
    { echo "vmplguard analyze failed" >&2; exit 1; }
  echo "$ANALYZE_OPTIONS" > "$POLICY.options"
fi

# The initramfs.
R=$WORK/root
tb_root $R "$AGENT" "$HERE/guest_init.sh"
mkdir -p $R/policy
cp "$POLICY" $R/policy/
tb_inner_kprobe $R
tb_initrd $R "$WORK/initrd.gz"

# Boot. TCG only: KVM hangs on our machines.
LOG=$WORK/console.log
timeout 300 qemu-system-x86_64 -accel tcg -m 1G -nographic -no-reboot -kernel "$VMLINUZ" \
  -initrd "$WORK/initrd.gz" -append 'console=ttyS0 panic=-1 quiet loglevel=4' > "$LOG" 2>&1 || true
tr -d '\r' < "$LOG" > "$LOG.txt"
echo "test bed: boot and run took $(( $(date +%s) - START )) s; console log: $LOG.txt"

if python3 "$HERE/check_testbed.py" --console "$LOG.txt" --policy "$POLICY" --vmlinux "$VMLINUX" \
     --kprobe-at "$(cat $R/kprobe-at)" \
     --work "$WORK"; then
  exit 0
fi
echo "test bed FAILED; boot log kept at $LOG.txt" >&2
exit 1
