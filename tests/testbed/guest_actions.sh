# The kernel patching actions both test-bed guests drive (guest_init.sh,
# guest_record_init.sh): sourced, not run; copied into the initramfs as
# /bin/guest_actions.sh. Each prints "$TAG-ERROR ..." on the console when an
# action fails, for the host-side checker. Expects TAG and T (tracefs) set.

act_static_key() {  # flip the sched_schedstats static key on and off
  echo 1 > /proc/sys/kernel/sched_schedstats
  sleep 0.5
  echo 0 > /proc/sys/kernel/sched_schedstats
  sleep 0.5
}

act_ftrace() {  # the function tracer on one function, then off
  echo ksys_sync > $T/set_ftrace_filter
  echo function > $T/current_tracer
  sync
  sleep 0.5
  echo nop > $T/current_tracer
  echo > $T/set_ftrace_filter
  sleep 0.5
}

act_modules() {  # load the image package's modules in order, then unload them
  for m in $(cat /modules/order); do insmod /modules/$m.ko || echo "$TAG-ERROR insmod $m"; done
  sleep 0.3
  for m in $(cat /modules/unload-order); do rmmod $m || echo "$TAG-ERROR rmmod $m"; done
  sleep 0.5
}

act_attack() {  # the rootkit-style module: writes kernel text through text_poke
  insmod /modules/vg_attack.ko || echo "$TAG-ERROR insmod vg_attack"
  sleep 0.5
  rmmod vg_attack
  sleep 1
}

act_kprobes() {  # two kprobes: on do_sys_openat2's ftrace site, and inside it (/kprobe-at)
  # The inner one is an int3 that the optimizer turns into a jmp after a few
  # jiffies (the sleep), then unoptimizes and disarms on the way out.
  echo "p:${TAG}_probe do_sys_openat2" > $T/kprobe_events
  echo "p:${TAG}_int3 $(cat /kprobe-at)" >> $T/kprobe_events || echo "$TAG-ERROR kprobe at $(cat /kprobe-at)"
  echo 1 > $T/events/kprobes/${TAG}_probe/enable
  echo 1 > $T/events/kprobes/${TAG}_int3/enable
  cat /proc/version > /dev/null
  sleep 1
  echo 0 > $T/events/kprobes/${TAG}_probe/enable
  echo 0 > $T/events/kprobes/${TAG}_int3/enable
  sleep 0.5
  echo "-:${TAG}_probe" >> $T/kprobe_events
  echo "-:${TAG}_int3" >> $T/kprobe_events
  sleep 0.5
}
