#!/usr/bin/env python3
"""Checks the agent's output from one test-bed boot (run_testbed.sh).

Each real action in the guest must be reported as allowed, at the right
symbol; the attack must be a violation attributed to the attack module; and
nothing else may be a violation (no false positives on real kernel
behaviour). Symbols are checked independently of the agent: against `nm` of
the same vmlinux, after undoing the KASLR offset the agent reported.
"""
import argparse
import bisect
import json
import re
import subprocess
import sys

LINK_TEXT = None


def sections(console):
    out, current = {}, None
    for line in console.splitlines():
        m = re.match(r"^VGTB-BEGIN (\S+)$", line)
        if m:
            current = m.group(1)
            out[current] = []
            continue
        if re.match(r"^VGTB-END (\S+)$", line):
            current = None
            continue
        if current is not None:
            out[current].append(line)
    return out


def load_functions(vmlinux):
    text = subprocess.run(["nm", "-S", "--defined-only", vmlinux], check=True, capture_output=True,
                          text=True).stdout
    starts, by_start = [], {}
    link_text = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "_text":
            link_text = int(parts[0], 16)
        if len(parts) != 4 or parts[2] not in "tTwW":
            continue
        start, size, name = int(parts[0], 16), int(parts[1], 16), parts[3]
        by_start.setdefault(start, []).append((size, name))
    starts = sorted(by_start)
    return link_text, starts, by_start


def expected_names(address, starts, by_start):
    """Names of the functions that contain `address`, with offsets."""
    i = bisect.bisect_right(starts, address) - 1
    names = set()
    while i >= 0 and address - starts[i] < 0x100000:
        for size, name in by_start[starts[i]]:
            if address < starts[i] + max(size, 1):
                names.add("%s+0x%x" % (name, address - starts[i]))
        if names:
            break
        i -= 1
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--console", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kprobe-at", required=True, help="FUNCTION+0xOFFSET of the guest's inner kprobe")
    args = ap.parse_args()
    console = open(args.console, errors="replace").read()
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)
        return condition

    check("VGTB-DONE" in console, "the guest did not finish its script (see the console log)")
    for line in console.splitlines():
        if line.startswith("VGTB-ERROR"):
            failures.append("guest: " + line)
    check("VGTB-AGENT-EXIT 0" in console, "the agent did not exit 0 on SIGTERM")
    out = sections(console)
    log = "\n".join(out.get("agent.log", []))
    check(": accounted" in log, "the agent's drop accounting identity did not hold:\n" + log)
    for probe in ("text_poke_bp_batch", "__text_poke", "module_load", "runtime_code"):
        check(re.search(r"probe %s\s+\S+\s+attached" % re.escape(probe), log), "probe %s not attached" % probe)

    events = []
    for line in out.get("events.ndjson", []):
        try:
            events.append(json.loads(line))
        except ValueError as error:
            failures.append("events.ndjson: not JSON (%s): %r" % (error, line[:200]))
    check(events, "no events")

    link_text, starts, by_start = load_functions(args.vmlinux)
    bad_symbols = 0
    for e in events:
        if e.get("text_offset") is None or not e.get("symbol") or e["symbol"].startswith("["):
            continue
        offset = int(e["text_offset"], 16)
        if not check(int(e["address"], 16) - int(e["kernel"]["kaslr_offset"], 16) - link_text == offset,
                     "seq %d: address, KASLR offset and text_offset disagree" % e["seq"]):
            continue
        names = expected_names(link_text + offset, starts, by_start)
        if names and e["symbol"] not in names:
            bad_symbols += 1
            failures.append("seq %d: symbol %s, nm says %s" % (e["seq"], e["symbol"], sorted(names)))
    check(bad_symbols == 0, "%d events with wrong symbols" % bad_symbols)

    def find(pred):
        return [e for e in events if pred(e)]

    # 1. Static key flip: jump-label sites patched, allowed.
    jl = find(lambda e: e["kind"] == "text_patch" and "jump_label" in e["site_kinds"] and e["origin"] == "jump_label"
              and e["process"]["comm"] == "init")
    check(jl and all(e["verdict"] == "allowed" and e["reason"] == "site_pattern" for e in jl),
          "static key flip: no allowed jump-label patches from the guest script")
    # 2. Function tracer on ksys_sync and off: its ftrace site, on and back to a NOP.
    ft = find(lambda e: e["kind"] == "text_patch" and (e["symbol"] or "").startswith("ksys_sync+"))
    check(len(ft) >= 2 and all(e["verdict"] == "allowed" and "ftrace" in e["site_kinds"] for e in ft),
          "function tracer: ksys_sync's ftrace site not reported allowed on and off: %s" %
          [(e["verdict"], e["reason"]) for e in ft])
    check(any(e["bytes"] == "0f1f440000" for e in ft), "function tracer off: no NOP restored at ksys_sync")
    # 3. kprobe on do_sys_openat2's entry (ftrace-based): on and off, as ftrace patches.
    kp = find(lambda e: e["kind"] == "text_patch" and e["symbol"] == "do_sys_openat2+0x0")
    check(len(kp) >= 2 and all(e["verdict"] == "allowed" and "ftrace" in e["site_kinds"] for e in kp),
          "kprobe: do_sys_openat2 not reported allowed on and off: %s" % [(e["verdict"], e["reason"]) for e in kp])
    # 3b. kprobe inside it (the policy allows kprobes): armed (int3), optimized
    # (a jmp into the registered detour page), unoptimized (int3, then the 4
    # saved bytes), disarmed; every step allowed with its reason.
    inner = args.kprobe_at
    steps = find(lambda e: e["kind"] in ("text_patch", "text_poke") and e["symbol"] in (
        inner, "do_sys_openat2+0x%x" % (int(inner.split("+")[1], 16) + 1)))
    reasons = [e["reason"] for e in steps]
    check(all(e["verdict"] == "allowed" for e in steps), "inner kprobe: steps not allowed: %s" %
          [(e["seq"], e["kind"], e["bytes"], e["verdict"], e["reason"]) for e in steps])
    for reason in ("kprobe_breakpoint", "kprobe_optimized", "kprobe_unoptimized"):
        check(reason in reasons, "inner kprobe at %s: no %s step among %s" % (inner, reason, reasons))
    opt = [e for e in steps if e["reason"] == "kprobe_optimized"]
    check(opt and all(e["bytes"].startswith("e9") and (e.get("call_target_symbol") or "").startswith("[")
                      for e in opt), "inner kprobe: optimized jmp not into registered code: %s" % opt)
    # 4. Module load and unload.
    for kind in ("module_load", "module_unload"):
        m = find(lambda e: e["kind"] == kind and e.get("module") == "nls_utf8")
        check(m and all(e["verdict"] == "allowed" for e in m), "%s of nls_utf8 not reported allowed" % kind)
    # 5. The attack: a violation at devkmsg_read+0x10, attributed to vg_attack.
    attack = find(lambda e: e["kind"] == "text_poke" and e["symbol"] == "devkmsg_read+0x10")
    check(attack and attack[0]["verdict"] == "violation" and attack[0]["reason"] == "not_a_site",
          "attack: no violation at devkmsg_read+0x10: %s" % attack)
    check(attack and (attack[0]["culprit"] or "").startswith("[vg_attack"),
          "attack: not attributed to vg_attack: %s" % (attack[0]["culprit"] if attack else None))
    # 6. No false positives: the attack is the only violation.
    others = [e for e in events if e["verdict"] == "violation" and e not in attack]
    check(not others, "violations on real kernel behaviour:\n" + "\n".join(
        "  seq %d %s %s at %s bytes %s target %s stack %s" % (e["seq"], e["kind"], e["reason"], e["symbol"], e["bytes"],
                                                          e.get("call_target_symbol") or e.get("call_target"),
                                                          e["stack"][:5]) for e in others[:20]))

    # OCSF: one Detection Finding per record; the attack maps to T1014.
    ocsf = [json.loads(l) for l in out.get("ocsf.ndjson", []) if l.strip()]
    check(len(ocsf) == len(events), "OCSF records %d != native records %d" % (len(ocsf), len(events)))
    check(all(o["class_uid"] == 2004 and o["type_uid"] == 200401 for o in ocsf), "OCSF: wrong class")
    hits = [o for o in ocsf if o["unmapped"]["symbol"] == "devkmsg_read+0x10"]
    check(hits and hits[0]["finding_info"]["attacks"][0]["technique"]["uid"] == "T1014",
          "OCSF: the attack is not mapped to T1014")
    # Syslog file: RFC 5424 header on every line.
    syslog = out.get("syslog.txt", [])
    check(len(syslog) == len(events) and all(re.match(r"^<\d{1,3}>1 \S+ vgtestbed vmplguard-agent \d+ \S+ \[", l)
                                               for l in syslog), "syslog: malformed lines")
    # Prometheus scrape.
    metrics = "\n".join(out.get("metrics.txt", []))
    check(re.search(r'^vmplguard_violations_total\{kind="text_poke",verdict="violation"\} [1-9]', metrics, re.M),
          "metrics: the attack is not counted")
    check(re.search(r'^vmplguard_build_info\{.*kernel_release="6\.12\.117\+deb12-cloud-amd64".*\} 1$', metrics, re.M),
          "metrics: no build info")

    print("test bed: %d events, %d jump-label patches, %d violations (the attack)" %
          (len(events), len(jl), len(attack)))
    if failures:
        print("FAILED:\n- " + "\n- ".join(failures))
        return 1
    print("test bed: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
