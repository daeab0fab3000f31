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

KVER=6.12.117+deb12-cloud-amd64
PKGVER=6.12.117-1~deb12u1
CACHE=${VMPLGUARD_CACHE:-/var/cache/vmplguard}
DEBS=$CACHE/debs
VMLINUX=$CACHE/x612/usr/lib/debug/boot/vmlinux-$KVER
MODULES="nls_utf8"
HERE=$(cd "$(dirname "$0")" && pwd)

AGENT= POLICY_TOOL= WORK=
while [ $# -gt 0 ]; do
  case $1 in
    --agent) AGENT=$2; shift 2 ;;
    --policy-tool) POLICY_TOOL=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "usage: $0 --agent BIN --policy-tool BIN --work DIR" >&2; exit 2 ;;
  esac
done
skip() { echo "SKIPPED: $*"; exit 77; }
[ -x "$AGENT" ] && [ -x "$POLICY_TOOL" ] && [ -n "$WORK" ] || { echo "missing arguments" >&2; exit 2; }
for tool in qemu-system-x86_64 cpio gzip xz make; do command -v $tool >/dev/null || skip "$tool not installed"; done
[ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' || skip "busybox-static not installed"
[ -f "$VMLINUX" ] || skip "$VMLINUX absent (tools/setup fetches linux-image-6.12-cloud-amd64-dbg)"

fetch() {  # fetch PACKAGE: the .deb of PACKAGE=PKGVER in the cache, downloaded if absent
  local deb
  deb=$(ls "$DEBS"/$1_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    mkdir -p "$DEBS"
    (cd "$DEBS" && apt-get download "$1=$PKGVER" >/dev/null 2>&1) ||
      skip "cannot download $1=$PKGVER (Debian keeps only the last few 6.12 builds: pin a newer one here)"
    deb=$(ls "$DEBS"/$1_*.deb | head -n1)
  fi
  echo "$deb"
}

mkdir -p "$WORK"
START=$(date +%s)
rm -rf "$WORK/root" "$WORK/kernel" "$WORK/attack"
mkdir -p "$WORK/kernel" "$WORK/root" "$WORK/attack"

# The kernel and its modules, from the unsigned image package.
dpkg-deb -x "$(fetch linux-image-$KVER-unsigned)" "$WORK/kernel"
VMLINUZ=$WORK/kernel/boot/vmlinuz-$KVER
MODDIR=$WORK/kernel/lib/modules/$KVER

# The attack module, against Debian's headers (extracted, never installed).
if [ ! -f "$WORK/headers/.done" ]; then
  rm -rf "$WORK/headers"; mkdir -p "$WORK/headers"
  for p in linux-headers-$KVER linux-headers-6.12.117+deb12-common linux-kbuild-6.12.117+deb12; do
    dpkg-deb -x "$(fetch $p)" "$WORK/headers"
  done
  # The headers' Makefile includes the common tree by absolute path.
  sed -i "s|include /usr/src/|include $WORK/headers/usr/src/|" "$WORK/headers/usr/src/linux-headers-$KVER/Makefile"
  touch "$WORK/headers/.done"
fi
cp "$HERE/attack/vg_attack.c" "$HERE/attack/Kbuild" "$WORK/attack/"
make -s -C "$WORK/headers/usr/src/linux-headers-$KVER" M="$WORK/attack" modules > "$WORK/attack.log" 2>&1 ||
  { cat "$WORK/attack.log"; echo "attack module build failed" >&2; exit 1; }

# The policy for this kernel, from the real producer: `vmplguard analyze`
# (--policy-tool) on the debug vmlinux; kept while neither changes. The
# analysis report stays beside it.
POLICY=$WORK/vmlinux-$KVER.policy
if [ ! -f "$POLICY" ] || [ "$VMLINUX" -nt "$POLICY" ] || [ "$POLICY_TOOL" -nt "$POLICY" ]; then
  "$POLICY_TOOL" analyze "$VMLINUX" -o "$POLICY" --quiet --output "$WORK/analyze-report.txt" ||
    { echo "vmplguard analyze failed" >&2; exit 1; }
fi

# The initramfs.
R=$WORK/root
mkdir -p $R/bin $R/sbin $R/proc $R/sys $R/dev $R/tmp $R/modules $R/policy
cp /bin/busybox $R/bin/busybox
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox $R/bin/$applet; done
cp "$AGENT" $R/bin/vmplguard-agent
cp "$POLICY" $R/policy/
cp "$HERE/guest_init.sh" $R/init
order=""
for m in $MODULES; do
  deps=$(modinfo -F depends "$(find "$MODDIR" -name "$m.ko*" | head -n1)" | tr ',' ' ')
  for d in $deps $m; do
    f=$(find "$MODDIR" -name "$d.ko*" | head -n1)
    [ -n "$f" ] || { echo "module $d not in the image package" >&2; exit 1; }
    case "$f" in *.xz) xz -dc "$f" > $R/modules/$d.ko ;; *) cp "$f" $R/modules/$d.ko ;; esac
    case " $order " in *" $d "*) ;; *) order="$order $d" ;; esac
  done
done
echo $order > $R/modules/order
echo $order | tr ' ' '\n' | tac | tr '\n' ' ' > $R/modules/unload-order
cp "$WORK/attack/vg_attack.ko" $R/modules/
(cd $R && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.gz"

# Boot. TCG only: KVM hangs on our machines.
LOG=$WORK/console.log
timeout 300 qemu-system-x86_64 -accel tcg -m 1G -nographic -no-reboot -kernel "$VMLINUZ" \
  -initrd "$WORK/initrd.gz" -append 'console=ttyS0 panic=-1 quiet loglevel=4' > "$LOG" 2>&1 || true
tr -d '\r' < "$LOG" > "$LOG.txt"
echo "test bed: boot and run took $(( $(date +%s) - START )) s; console log: $LOG.txt"

if python3 "$HERE/check_testbed.py" --console "$LOG.txt" --policy "$POLICY" --vmlinux "$VMLINUX" \
     --work "$WORK"; then
  exit 0
fi
echo "test bed FAILED; boot log kept at $LOG.txt" >&2
exit 1
