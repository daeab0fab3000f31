// Opt-in: collect_objects on Debian's cloud kernels. Skipped unless
//   VMPLGUARD_REAL_VMLINUX_612=/var/cache/vmplguard/x612/usr/lib/debug/boot/vmlinux-6.12.117+deb12-cloud-amd64
//   VMPLGUARD_REAL_VMLINUX_61=/var/cache/vmplguard/x61/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64
// point at them. Expected sizes and regions were read with readelf -s and
// bpftool btf dump on those files (see ../shared/kernel-facts.md). Time and
// peak RSS are printed, never asserted.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "analyzer/objects/dwarf_sizes.h"
#include "analyzer/objects/object_table.h"
#include "fixture_paths.h"

namespace vg::analyzer {
namespace {

using testing::count_notes;
using testing::find_object;

struct Expected {
  std::string_view name;
  uint64_t size;
  std::string_view region;
};

uint64_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

const char* kernel_path(const char* variable) {
  const char* path = std::getenv(variable);
  return path != nullptr && *path != '\0' ? path : nullptr;
}

void check_kernel(const char* path, std::span<const Expected> expected,
                  std::span<const std::string_view> absent) {
  auto start = std::chrono::steady_clock::now();
  auto image = ElfImage::open(path);
  ASSERT_TRUE(image.ok()) << image.error().to_string();
  auto opened = std::chrono::steady_clock::now();
  Analysis analysis;
  auto result = collect_objects(**image, analysis);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  auto done = std::chrono::steady_clock::now();

  for (const Expected& want : expected) {
    const CriticalObjectInfo* object = find_object(analysis, want.name);
    ASSERT_NE(object, nullptr) << want.name;
    EXPECT_TRUE(object->present) << want.name;
    EXPECT_EQ(object->size, want.size) << want.name;
    EXPECT_EQ(object->region, want.region) << want.name;
  }
  for (std::string_view name : absent) {
    const CriticalObjectInfo* object = find_object(analysis, name);
    ASSERT_NE(object, nullptr) << name;
    EXPECT_FALSE(object->present) << name;
  }
  // BTF is present and every declared type matches its symbol.
  EXPECT_EQ(count_notes(analysis, ".BTF"), 0);
  EXPECT_EQ(count_notes(analysis, "ignored"), 0);
  EXPECT_EQ(count_notes(analysis, "size unknown"), 0);

  std::cout << path << "\n";
  for (const CriticalObjectInfo& object : analysis.objects) {
    std::cout << "  " << (object.present ? "present" : "absent ") << " " << object.name;
    if (object.present) {
      std::cout << " " << object.region << " " << object.size << " B (" << object.size_source << ", "
                << protection_name(object.protection) << ")";
    }
    std::cout << "\n";
  }
  for (const std::string& note : analysis.notes) std::cout << "  note: " << note << "\n";
  auto ms = [](auto from, auto to) { return std::chrono::duration<double, std::milli>(to - from).count(); };
  std::cout << "  open " << ms(start, opened) << " ms, collect_objects " << ms(opened, done)
            << " ms, peak RSS " << peak_rss_kib() / 1024 << " MiB\n";
}

constexpr Expected kExpected612[] = {
    {"sys_call_table", 3704, ".rodata"},
    {"lockdown_reasons", 248, ".rodata"},
    {"vdso_image_64", 152, ".rodata"},
    {"idt_descr", 10, "ro_after_init"},
    {"cr4_pinned_bits", 8, "ro_after_init"},
    {"mmu_cr4_features", 8, "ro_after_init"},
    {"static_calls_table", 94688, "ro_after_init"},
    {"selinux_blob_sizes", 60, "ro_after_init"},
    {"apparmor_enabled", 4, "ro_after_init"},
    {"snp_vmpl", 1, "ro_after_init"},
    {"init_cred", 184, ".data"},
    {"init_task", 9792, ".data"},
    {"init_top_pgt", 8192, ".data"},
    {"level3_kernel_pgt", 4096, ".data"},
    {"level2_kernel_pgt", 4096, ".data"},
    {"pv_ops", 664, ".data"},
    {"modprobe_path", 256, ".data"},
    {"core_pattern", 128, ".data"},
    {"poweroff_cmd", 256, ".data"},
    {"kptr_restrict", 4, ".data"},
    {"dmesg_restrict", 4, ".data"},
    {"sysctl_unprivileged_bpf_disabled", 4, ".data"},
    {"init_user_ns", 616, ".data"},
    {"root_user", 136, ".data"},
    {"ftrace_ops_list", 8, ".data"},
    {"idt_table", 4096, ".bss"},
    {"selinux_state", 96, ".bss"},
    {"kernel_locked_down", 4, ".bss"},
    {"kprobe_table", 512, ".bss"},
    {"nf_hooks_needed", 880, ".bss"},
    {"gdt_page", 4096, "percpu"},
    {"cpu_tss_rw", 20480, "percpu"},
};
constexpr std::string_view kAbsent612[] = {"security_hook_heads", "ia32_sys_call_table", "x32_sys_call_table",
                                           "uevent_helper"};

constexpr Expected kExpected61[] = {
    {"sys_call_table", 3608, ".rodata"},
    {"lockdown_reasons", 248, ".rodata"},
    {"idt_descr", 10, "ro_after_init"},
    {"cr4_pinned_bits", 8, "ro_after_init"},
    {"security_hook_heads", 1944, "ro_after_init"},
    {"selinux_blob_sizes", 32, "ro_after_init"},
    {"init_cred", 176, ".data"},
    {"init_task", 9728, ".data"},
    {"pv_ops", 672, ".data"},
    {"modprobe_path", 256, ".data"},
    {"init_user_ns", 624, ".data"},
    {"root_user", 144, ".data"},
    {"idt_table", 4096, ".bss"},
    {"selinux_state", 104, ".bss"},
    {"gdt_page", 4096, "percpu"},
    {"cpu_tss_rw", 20480, "percpu"},
};
constexpr std::string_view kAbsent61[] = {"static_calls_table", "snp_vmpl", "ia32_sys_call_table",
                                          "uevent_helper"};

TEST(RealKernel, Debian612CloudObjects) {
  const char* path = kernel_path("VMPLGUARD_REAL_VMLINUX_612");
  if (path == nullptr) GTEST_SKIP() << "set VMPLGUARD_REAL_VMLINUX_612 to the 6.12 cloud vmlinux";
  check_kernel(path, kExpected612, kAbsent612);
}

TEST(RealKernel, Debian61CloudObjects) {
  const char* path = kernel_path("VMPLGUARD_REAL_VMLINUX_61");
  if (path == nullptr) GTEST_SKIP() << "set VMPLGUARD_REAL_VMLINUX_61 to the 6.1 cloud vmlinux";
  check_kernel(path, kExpected61, kAbsent61);
}

// What the DWARF fallback would cost if BTF were missing (6.1: 208 MB of
// DWARF, 6.12: 268 MB), and that it agrees with the symbol table where both
// answer.
void check_dwarf_fallback(const char* path) {
  auto image = ElfImage::open(path);
  ASSERT_TRUE(image.ok()) << image.error().to_string();
  std::vector<DwarfQuery> queries;
  for (const CriticalObjectSpec& spec : critical_object_table()) {
    const Symbol* symbol = (*image)->symbol(spec.name);
    if (symbol != nullptr) queries.push_back(DwarfQuery{spec.name, symbol->value});
  }
  auto start = std::chrono::steady_clock::now();
  auto scan = scan_dwarf_variables((*image)->libelf_handle(), queries);
  auto done = std::chrono::steady_clock::now();
  ASSERT_TRUE(scan.ok()) << scan.error();
  int agreeing = 0;
  for (const DwarfQuery& query : queries) {
    auto found = scan->variables.find(query.name);
    if (found == scan->variables.end()) continue;
    for (const DwarfVariable& variable : found->second) {
      if (!variable.definition || variable.address != query.address) continue;
      EXPECT_EQ(variable.size, (*image)->symbol(query.name)->size) << query.name;
      ++agreeing;
    }
  }
  EXPECT_GT(agreeing, 20);
  std::cout << path << ": DWARF scan of " << scan->units
            << " units: " << std::chrono::duration<double, std::milli>(done - start).count() << " ms, "
            << agreeing << " definitions matched, peak RSS " << peak_rss_kib() / 1024 << " MiB\n";
}

TEST(RealKernel, Debian61DwarfFallbackAgreesWithSymbols) {
  const char* path = kernel_path("VMPLGUARD_REAL_VMLINUX_61");
  if (path == nullptr) GTEST_SKIP() << "set VMPLGUARD_REAL_VMLINUX_61 to the 6.1 cloud vmlinux";
  check_dwarf_fallback(path);
}

TEST(RealKernel, Debian612DwarfFallbackAgreesWithSymbols) {
  const char* path = kernel_path("VMPLGUARD_REAL_VMLINUX_612");
  if (path == nullptr) GTEST_SKIP() << "set VMPLGUARD_REAL_VMLINUX_612 to the 6.12 cloud vmlinux";
  check_dwarf_fallback(path);
}

}  // namespace
}  // namespace vg::analyzer
