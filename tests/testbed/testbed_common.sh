# Shared by the QEMU test beds (run_testbed.sh, run_record.sh): sourced, not
# run. Debian's 6.12 cloud kernel package, its headers and modules, the
# rootkit-style attack module, and the busybox initramfs skeleton.
# Expects HERE (this directory) and WORK (the work directory) to be set.

KVER=6.12.117+deb12-cloud-amd64
PKGVER=6.12.117-1~deb12u1
CACHE=${VMPLGUARD_CACHE:-/var/cache/vmplguard}
DEBS=$CACHE/debs
VMLINUX=$CACHE/x612/usr/lib/debug/boot/vmlinux-$KVER
MODULES="nls_utf8"

skip() { echo "SKIPPED: $*"; exit 77; }

tb_check_inputs() {  # the host tools and the cached debug vmlinux, or exit 77
  for tool in qemu-system-x86_64 cpio gzip xz make; do command -v $tool >/dev/null || skip "$tool not installed"; done
  [ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' || skip "busybox-static not installed"
  [ -f "$VMLINUX" ] || skip "$VMLINUX absent (tools/setup fetches linux-image-6.12-cloud-amd64-dbg)"
}

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

tb_kernel() {  # the kernel and its modules, from the unsigned image package: sets VMLINUZ, MODDIR
  rm -rf "$WORK/kernel"; mkdir -p "$WORK/kernel"
  dpkg-deb -x "$(fetch linux-image-$KVER-unsigned)" "$WORK/kernel"
  VMLINUZ=$WORK/kernel/boot/vmlinuz-$KVER
  MODDIR=$WORK/kernel/lib/modules/$KVER
}

tb_attack_module() {  # the attack module, against Debian's headers (extracted, never installed)
  rm -rf "$WORK/attack"; mkdir -p "$WORK/attack"
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
}

tb_root() {  # tb_root DIR AGENT INIT: busybox, the agent as /bin/vmplguard-agent, INIT as /init, the modules
  local R=$1 order="" m d f deps
  rm -rf "$R"
  mkdir -p $R/bin $R/sbin $R/proc $R/sys $R/dev $R/tmp $R/modules
  cp /bin/busybox $R/bin/busybox
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox $R/bin/$applet; done
  cp "$2" $R/bin/vmplguard-agent
  cp "$3" $R/init
  cp "$HERE/guest_actions.sh" $R/bin/guest_actions.sh
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
}

tb_inner_kprobe() {  # tb_inner_kprobe DIR: DIR/kprobe-at names a place for a kprobe inside do_sys_openat2
  # Not on its ftrace site: the first instruction boundary at least 16 bytes
  # in, so the kprobe is an int3 that the optimizer later turns into a jmp.
  local fn off
  fn=$(nm "$VMLINUX" | awk '$3=="do_sys_openat2"{print $1}')
  off=$(objdump -d --start-address=0x$fn --stop-address=$(printf '0x%x' $((0x$fn + 64))) "$VMLINUX" |
        sed -n 's/^ *\(ffffffff[0-9a-f]*\):.*/\1/p' |
        while read -r a; do [ $((0x$a - 0x$fn)) -ge 16 ] && { printf '0x%x\n' $((0x$a - 0x$fn)); break; }; done)
  [ -n "$off" ] || { echo "cannot find an instruction in do_sys_openat2" >&2; exit 1; }
  echo "do_sys_openat2+$off" > "$1/kprobe-at"
}

tb_initrd() {  # tb_initrd DIR OUT: the gzip'd newc cpio of DIR
  (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) > "$2"
}
