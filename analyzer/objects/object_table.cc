// The critical-object table. One row per object; the protection class follows
// from how the kernel itself writes the object at run time:
//
//   locked after boot  the kernel writes it only during boot (initcalls,
//                      __init code, ro_after_init data before mark_rodata_ro);
//                      after the kernel's final lock any write is an attack.
//   write-mediated     the kernel writes it after boot, but rarely and through
//                      a few choke points (a sysctl or sysfs handler, the
//                      page-attribute code); the guest patches route those
//                      writes through the monitor, which checks the new value
//                      (for example a one-way switch only ever tightens).
//   watched            the kernel writes it all the time from many places
//                      (reference counts, locks, task state, per-CPU state),
//                      so it cannot be read-only; the monitor compares its
//                      security-relevant fields with a baseline at each entry.
//
// docs/critical-objects.md carries the same table with the per-row reasoning.
#include "analyzer/objects/object_table.h"

#include <array>

namespace vg::analyzer {
namespace {

using policy::Protection;
constexpr Protection kLocked = Protection::kLockedAfterBoot;
constexpr Protection kMediated = Protection::kWriteMediated;
constexpr Protection kWatched = Protection::kWatched;

constexpr std::array kTable = {
    // .rodata: const data, never written.
    CriticalObjectSpec{"sys_call_table",
                       "redirecting a system call entry runs attacker code for every task making that call",
                       kLocked, ""},
    CriticalObjectSpec{"ia32_sys_call_table",
                       "the 32-bit compat system call table, a hook point like sys_call_table", kLocked, ""},
    CriticalObjectSpec{"x32_sys_call_table", "the x32 system call table, a hook point like sys_call_table",
                       kLocked, ""},
    CriticalObjectSpec{"lockdown_reasons",
                       "the strings lockdown prints; rewriting them hides which lockdown check fired",
                       kLocked, ""},
    CriticalObjectSpec{
        "vdso_image_64",
        "describes the vDSO mapped into every process; changing it injects code into user space", kLocked,
        "struct vdso_image"},

    // ro_after_init: written by init code, read-only after mark_rodata_ro().
    CriticalObjectSpec{"idt_descr",
                       "the IDT base and limit lidt loads; pointing it elsewhere hijacks every interrupt",
                       kLocked, "struct desc_ptr"},
    CriticalObjectSpec{
        "cr4_pinned_bits",
        "the CR4 bits (SMEP, SMAP, UMIP) the kernel restores; clearing them lets CR4 writes drop SMEP/SMAP",
        kLocked, "long unsigned int"},
    CriticalObjectSpec{"cr_pinning",
                       "the static key that turns CR pinning on; disabling it removes the CR4 pin check",
                       kLocked, "struct static_key_false"},
    CriticalObjectSpec{"mmu_cr4_features",
                       "the CR4 value secondary CPUs and resume load; dropping bits disables SMEP/SMAP there",
                       kLocked, "long unsigned int"},
    CriticalObjectSpec{"static_calls_table",
                       "the LSM static-call slots (6.12 here); overwriting one replaces a security hook",
                       kLocked, "struct lsm_static_calls_table"},
    CriticalObjectSpec{"security_hook_heads",
                       "the LSM hook lists (6.1 here); unlinking a hook silently disables it", kLocked,
                       "struct security_hook_heads"},
    CriticalObjectSpec{"selinux_blob_sizes",
                       "the LSM blob layout; corrupting it makes SELinux read another module's security data",
                       kLocked, "struct lsm_blob_sizes"},
    CriticalObjectSpec{"apparmor_enabled", "clearing it switches AppArmor mediation off", kLocked, "int"},
    CriticalObjectSpec{"x86_platform",
                       "platform function pointers (timers, NMI, guest hooks) the kernel calls at run time",
                       kLocked, "struct x86_platform_ops"},
    CriticalObjectSpec{
        "apic", "pointer to the APIC driver; a forged driver runs attacker code on every IPI and timer",
        kLocked, "struct apic *"},
    CriticalObjectSpec{
        "snp_vmpl",
        "the VMPL the kernel believes it runs at; a wrong value breaks its SVSM calls and validation",
        kLocked, "u8"},

    // .bss written only during boot (idt_setup_* are __init; the CPU entry
    // area maps the table read-only for lidt, but the direct map stays writable).
    CriticalObjectSpec{"idt_table",
                       "the interrupt gates; a forged gate runs attacker code on an interrupt or exception",
                       kLocked, ""},

    // .data written only during boot.
    CriticalObjectSpec{"pv_ops",
                       "paravirt function pointers (CR3 and MSR writes, TLB flush); overwriting one hijacks "
                       "privileged operations",
                       kLocked, "struct paravirt_patch_template"},
    CriticalObjectSpec{
        "sev_status",
        "the SEV feature bits from MSR 0xc0010131; clearing SNP makes the kernel skip its SNP protections",
        kLocked, "u64"},

    // Page tables of the kernel image: written after boot only by the
    // page-attribute code and memory hotplug.
    CriticalObjectSpec{
        "init_top_pgt",
        "the kernel's top-level page table, copied into every new mm; an entry maps anything anywhere",
        kMediated, ""},
    CriticalObjectSpec{"level3_kernel_pgt", "maps the kernel image; an entry remaps kernel text or data",
                       kMediated, ""},
    CriticalObjectSpec{"level2_kernel_pgt",
                       "2 MiB mappings of the kernel image; a flipped bit makes text writable", kMediated,
                       ""},

    // Written after boot by sysctl or sysfs handlers only.
    CriticalObjectSpec{"modprobe_path",
                       "the helper the kernel executes as root on an unknown binary format or module request",
                       kMediated, ""},
    CriticalObjectSpec{"core_pattern",
                       "a '|program' pattern makes the kernel run that program as root on every crash",
                       kMediated, ""},
    CriticalObjectSpec{"poweroff_cmd", "the command the kernel executes as root on an orderly power-off",
                       kMediated, ""},
    CriticalObjectSpec{"uevent_helper", "the program the kernel executes as root on every uevent", kMediated,
                       ""},
    CriticalObjectSpec{"kptr_restrict", "zero exposes kernel addresses in /proc, defeating KASLR", kMediated,
                       "int"},
    CriticalObjectSpec{"dmesg_restrict",
                       "zero lets unprivileged users read the kernel log and the addresses in it", kMediated,
                       "int"},
    CriticalObjectSpec{"sysctl_unprivileged_bpf_disabled",
                       "zero lets unprivileged users load BPF programs, a large attack surface", kMediated,
                       "int"},
    CriticalObjectSpec{"sysctl_perf_event_paranoid", "a low value lets unprivileged users profile the kernel",
                       kMediated, "int"},
    CriticalObjectSpec{"randomize_va_space", "zero turns user-space ASLR off", kMediated, "int"},
    CriticalObjectSpec{"mmap_min_addr",
                       "zero allows mapping page zero, turning NULL dereferences into code execution",
                       kMediated, "long unsigned int"},
    CriticalObjectSpec{"modules_disabled", "a one-way switch; clearing it allows module loading again",
                       kMediated, "int"},
    CriticalObjectSpec{"kexec_load_disabled",
                       "a one-way switch; clearing it allows kexec of an attacker kernel", kMediated, "int"},
    CriticalObjectSpec{"kernel_locked_down",
                       "the lockdown level; lowering it re-enables /dev/mem, kexec and unsigned modules",
                       kMediated, "enum lockdown_reason"},

    // Written at run time from many places: watched.
    CriticalObjectSpec{"init_cred",
                       "the root credentials kernel threads run with; its refcount changes constantly",
                       kWatched, "struct cred"},
    CriticalObjectSpec{"init_task",
                       "the boot idle task and head of the task list; its cred pointers decide privilege",
                       kWatched, "struct task_struct"},
    CriticalObjectSpec{"init_user_ns", "the initial user namespace; its ID maps and owner define who is root",
                       kWatched, "struct user_namespace"},
    CriticalObjectSpec{
        "root_user", "root's user_struct, whose resource limits and counters change with every root process",
        kWatched, "struct user_struct"},
    CriticalObjectSpec{"selinux_state",
                       "holds SELinux enforcing and the policy pointer; clearing enforcing disables SELinux",
                       kWatched, "struct selinux_state"},
    CriticalObjectSpec{
        "ftrace_ops_list",
        "the ftrace callback list; an inserted ops runs attacker code at every traced function", kWatched,
        "struct ftrace_ops *"},
    CriticalObjectSpec{"ftrace_trace_function",
                       "the function every traced call reaches when one tracer is active", kWatched,
                       "ftrace_func_t"},
    CriticalObjectSpec{"kprobe_table",
                       "the kprobe hash heads; a forged kprobe runs attacker handlers at any probed address",
                       kWatched, ""},
    CriticalObjectSpec{
        "nf_hooks_needed",
        "the static keys that switch netfilter hooks on; a zero key lets traffic bypass the firewall",
        kWatched, ""},

    // Per-CPU: one copy per CPU at a run-time address; reported, not pinned.
    CriticalObjectSpec{"gdt_page",
                       "the per-CPU GDT; a forged descriptor gives user code kernel segments or a new TSS",
                       kWatched, "struct gdt_page"},
    CriticalObjectSpec{
        "cpu_tss_rw",
        "the per-CPU TSS with the interrupt stacks and I/O bitmap; rewriting it redirects kernel stacks",
        kWatched, "struct tss_struct"},
};

}  // namespace

std::span<const CriticalObjectSpec> critical_object_table() {
  return kTable;
}

const CriticalObjectSpec* find_critical_object(std::string_view name) {
  for (const CriticalObjectSpec& spec : kTable) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string_view protection_name(policy::Protection protection) {
  switch (protection) {
    case Protection::kLockedAfterBoot: return "locked-after-boot";
    case Protection::kWriteMediated: return "write-mediated";
    case Protection::kWatched: return "watched";
  }
  return "unknown";
}

}  // namespace vg::analyzer
