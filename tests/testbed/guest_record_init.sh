#!/bin/sh
# /init of the record test bed's initramfs (run_record.sh): records two
# traces with `vmplguard-agent --record`, one of benign kernel patching
# (boot, static key, ftrace, kprobe, module, BPF JIT, sysctl, CPU hotplug,
# critical data) and one of the attack
# module, then prints them gzip'd and base64'd between markers on the
# console. Runs under busybox. Phases are announced through the agent's
# control FIFO; each waits for the agent's acknowledgement, so that every
# event lands in the phase that caused it.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp
mkdir -p /out
T=/sys/kernel/tracing
TAG=VGREC
. /bin/guest_actions.sh
CTL=/tmp/vg.ctl
step() { echo "VGREC-STEP $1"; }

start_agent() {  # start_agent TRACE [OPTIONS...]
  rm -f /tmp/ready $CTL.ack
  trace=$1; shift
  /bin/vmplguard-agent --record "$trace" --control $CTL --ready-file /tmp/ready "$@" 2>>/out/agent.log &
  AGENT=$!
  i=0
  while [ ! -f /tmp/ready ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
  [ -f /tmp/ready ] || echo "VGREC-ERROR agent not ready"
}

phase() {  # phase NAME: drain and switch, wait for the acknowledgement
  step "$1"
  echo "$1" > $CTL
  i=0
  while [ "$(cat $CTL.ack 2>/dev/null)" != "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  [ "$(cat $CTL.ack 2>/dev/null)" = "$1" ] || echo "VGREC-ERROR phase $1 not acknowledged"
}

stop_agent() {
  kill -TERM $AGENT
  wait $AGENT
  echo "VGREC-AGENT-EXIT $?"
}

step record-benign
gzip -dc /boot-text.bin.gz > /tmp/boot-text.bin
gzip -dc /boot-sites.txt.gz > /tmp/boot-sites.txt
# The policy's critical data objects (run_record.sh --policy-tool), if any.
WATCH=
[ -f /watch-data.txt ] && WATCH="--watch-data /watch-data.txt"
start_agent /out/benign.vgtrace --boot-baseline /tmp/boot-text.bin --boot-sites /tmp/boot-sites.txt $WATCH
rm -f /tmp/boot-text.bin /tmp/boot-sites.txt

phase static-key
act_static_key

phase ftrace
act_ftrace

phase kprobe
act_kprobes

phase module
act_modules

phase bpf-jit
/bin/testbed-jit-load || echo "VGREC-ERROR jit load"
sleep 1

# An administrator tightening sysctls: each value lives in a write-mediated
# critical object (kptr_restrict, mmap_min_addr, core_pattern), so the data
# snapshots must show them changing here. (dmesg_restrict is already 1 in
# Debian's config: writing it would change nothing.)
phase sysctl
echo 1 > /proc/sys/kernel/kptr_restrict
echo 131072 > /proc/sys/vm/mmap_min_addr
echo 'core.%p' > /proc/sys/kernel/core_pattern
sleep 0.5

# CPU hotplug: takes the second vCPU down and up again (per-CPU state, the
# APIC driver, the IDT and GDT of a CPU coming up after boot).
phase cpu-hotplug
if [ -w /sys/devices/system/cpu/cpu1/online ]; then
  echo 0 > /sys/devices/system/cpu/cpu1/online || echo "VGREC-ERROR cpu1 offline"
  sleep 0.5
  echo 1 > /sys/devices/system/cpu/cpu1/online || echo "VGREC-ERROR cpu1 online"
  sleep 0.5
else
  echo "VGREC-ERROR cpu1 cannot be taken offline"
fi

stop_agent

step record-attack
start_agent /out/attack.vgtrace $WATCH
phase attack
act_attack
stop_agent

for f in benign.vgtrace attack.vgtrace; do
  echo "VGREC-BEGIN $f.gz"
  gzip -9c /out/$f | base64
  echo "VGREC-END $f.gz"
done
echo "VGREC-BEGIN agent.log"
cat /out/agent.log
echo "VGREC-END agent.log"
echo "VGREC-BEGIN dmesg"
dmesg | tail -n 40
echo "VGREC-END dmesg"
echo VGREC-DONE
reboot -f
