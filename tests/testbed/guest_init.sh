#!/bin/sh
# /init of the test bed's initramfs: start the agent, drive real kernel
# patching actions and the attack, then print the agent's output between
# markers on the console for the host to check. Runs under busybox.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp
mkdir -p /out
hostname vgtestbed
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
T=/sys/kernel/tracing
TAG=VGTB
. /bin/guest_actions.sh
step() { echo "VGTB-STEP $1"; }

step agent-start
/bin/vmplguard-agent --policy /policy --output native:/out/events.ndjson --output ocsf:/out/ocsf.ndjson \
  --output syslog:/out/syslog.txt --metrics-port 9464 --dedup-window-ms 0 --ready-file /tmp/ready \
  2>/out/agent.log &
AGENT=$!
i=0
while [ ! -f /tmp/ready ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
[ -f /tmp/ready ] || echo "VGTB-ERROR agent not ready"
sleep 1

step static-key
act_static_key

step ftrace
act_ftrace

step kprobe
act_kprobes

step module
act_modules

step attack
act_attack

step metrics
wget -q -O /out/metrics.txt http://127.0.0.1:9464/metrics || echo "VGTB-ERROR metrics scrape"

step agent-stop
kill -TERM $AGENT
wait $AGENT
echo "VGTB-AGENT-EXIT $?"

for f in agent.log events.ndjson ocsf.ndjson syslog.txt metrics.txt; do
  echo "VGTB-BEGIN $f"
  cat /out/$f
  echo "VGTB-END $f"
done
echo "VGTB-BEGIN dmesg"
dmesg | tail -n 60
echo "VGTB-END dmesg"
echo VGTB-DONE
reboot -f
