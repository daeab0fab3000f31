// The critical-object table: complete, unambiguous, and classed the way
// docs/critical-objects.md reasons.
#include "analyzer/objects/object_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace vg::analyzer {
namespace {

using policy::Protection;

TEST(ObjectTable, NamesAreUniqueAndEveryRowSaysWhyItMatters) {
  std::set<std::string_view> names;
  for (const CriticalObjectSpec& spec : critical_object_table()) {
    EXPECT_TRUE(names.insert(spec.name).second) << "duplicate row " << spec.name;
    EXPECT_GT(spec.why.size(), 20u) << spec.name;
    EXPECT_NE(spec.why.back(), '.') << spec.name << ": report sentences carry no trailing period";
  }
}

// The objects kernel-facts.md lists as critical on 6.12, plus those the task
// named; a row lost in an edit would silently drop a protection.
TEST(ObjectTable, CoversTheKernelFactsList) {
  for (std::string_view name : {"sys_call_table",
                                "ia32_sys_call_table",
                                "x32_sys_call_table",
                                "lockdown_reasons",
                                "vdso_image_64",
                                "idt_descr",
                                "cr4_pinned_bits",
                                "mmu_cr4_features",
                                "static_calls_table",
                                "selinux_blob_sizes",
                                "apparmor_enabled",
                                "init_cred",
                                "init_task",
                                "init_top_pgt",
                                "level3_kernel_pgt",
                                "level2_kernel_pgt",
                                "pv_ops",
                                "modprobe_path",
                                "core_pattern",
                                "poweroff_cmd",
                                "kptr_restrict",
                                "dmesg_restrict",
                                "sysctl_unprivileged_bpf_disabled",
                                "init_user_ns",
                                "root_user",
                                "ftrace_ops_list",
                                "idt_table",
                                "selinux_state",
                                "kernel_locked_down",
                                "kprobe_table",
                                "nf_hooks_needed",
                                "gdt_page",
                                "cpu_tss_rw",
                                "security_hook_heads",
                                "ftrace_trace_function"}) {
    EXPECT_NE(find_critical_object(name), nullptr) << name;
  }
  EXPECT_EQ(find_critical_object("no_such_object"), nullptr);
}

// Sysctl- and sysfs-written objects keep legitimate writers after boot: a
// plain lock would break `sysctl -w`, so they must be write-mediated.
TEST(ObjectTable, ObjectsSysctlsWriteAreWriteMediated) {
  for (std::string_view name :
       {"modprobe_path", "core_pattern", "poweroff_cmd", "kptr_restrict", "dmesg_restrict",
        "sysctl_unprivileged_bpf_disabled", "kernel_locked_down", "modules_disabled", "kexec_load_disabled",
        "mmap_min_addr", "uevent_helper"}) {
    const CriticalObjectSpec* spec = find_critical_object(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->protection, Protection::kWriteMediated) << name;
  }
}

// Objects the kernel never writes after init can be locked outright.
TEST(ObjectTable, ConstAndRoAfterInitObjectsAreLockedAfterBoot) {
  for (std::string_view name :
       {"sys_call_table", "lockdown_reasons", "vdso_image_64", "idt_descr", "cr4_pinned_bits",
        "mmu_cr4_features", "static_calls_table", "security_hook_heads", "selinux_blob_sizes",
        "apparmor_enabled", "idt_table", "pv_ops"}) {
    const CriticalObjectSpec* spec = find_critical_object(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->protection, Protection::kLockedAfterBoot) << name;
  }
}

// Objects with reference counts, locks or per-task state are written all the
// time; read-only would fault on every get_cred(&init_cred).
TEST(ObjectTable, ObjectsWrittenConstantlyAreWatched) {
  for (std::string_view name : {"init_cred", "init_task", "init_user_ns", "root_user", "selinux_state",
                                "gdt_page", "cpu_tss_rw", "nf_hooks_needed"}) {
    const CriticalObjectSpec* spec = find_critical_object(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->protection, Protection::kWatched) << name;
  }
}

TEST(ObjectTable, ProtectionNamesAreStable) {
  EXPECT_EQ(protection_name(Protection::kLockedAfterBoot), "locked-after-boot");
  EXPECT_EQ(protection_name(Protection::kWriteMediated), "write-mediated");
  EXPECT_EQ(protection_name(Protection::kWatched), "watched");
  EXPECT_EQ(protection_name(static_cast<Protection>(99)), "unknown");
}

}  // namespace
}  // namespace vg::analyzer
