// Opt-in: runs the core stages on real Debian kernels and checks the counts
// measured in kernel-facts.md. Skipped unless VMPLGUARD_REAL_VMLINUX_612 /
// VMPLGUARD_REAL_VMLINUX_61 name the files (they are hundreds of MB).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "analyzer/stages.h"
#include "policy/reader.h"

namespace vg::analyzer {
namespace {

struct KernelRun {
  Analysis analysis;
  std::map<std::string, SiteTableStats> tables;
  size_t policy_size = 0;
};

KernelRun analyse(const char* path) {
  KernelRun run;
  const auto started = std::chrono::steady_clock::now();
  auto image = ElfImage::open(path);
  const std::chrono::duration<double> open_took = std::chrono::steady_clock::now() - started;
  std::printf("  open %.3f s\n", open_took.count());
  EXPECT_TRUE(image.ok()) << image.error().to_string();
  if (!image.ok()) return run;
  Analysis& analysis = run.analysis;
  for (auto stage : {collect_kernel_info, collect_regions, collect_functions, collect_patch_sites}) {
    auto result = stage(*image.value(), analysis);
    EXPECT_TRUE(result.ok()) << result.error().to_string();
    if (!result.ok()) return run;
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("  peak RSS before build_policy: %ld MB\n", usage.ru_maxrss / 1024);
  const auto policy_started = std::chrono::steady_clock::now();
  auto policy = build_policy(analysis, PolicyOptions{});
  const std::chrono::duration<double> policy_took = std::chrono::steady_clock::now() - policy_started;
  std::printf("  build_policy %.3f s\n", policy_took.count());
  EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error());
  if (policy.ok()) {
    run.policy_size = policy->size();
    auto view = policy::PolicyView::parse(ByteView{policy->data(), policy->size()});
    EXPECT_TRUE(view.ok()) << policy::describe(view.error());
    // No false positive on the kernel as shipped: the bytes on disk at every
    // site are one of its legitimate sequences.
    uint64_t refused = 0;
    for (const policy::Site& site : view->sites()) {
      bool allowed = false;
      for (uint32_t p = 0; p < site.pattern_count && !allowed; ++p) {
        const uint8_t length = view->patterns()[site.first_pattern + p].length;
        auto bytes = image.value()->bytes_at(analysis.kernel.text_va + site.offset, length);
        allowed = bytes.ok() && policy::site_allows(*view, site, bytes->data, length);
      }
      if (!allowed && refused++ < 5) std::printf("  on-disk bytes refused at _text+%#x\n", site.offset);
    }
    EXPECT_EQ(refused, 0u);
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  for (const auto& table : analysis.site_tables) run.tables[table.section] = table;
  // The measured figures, for the report.
  std::printf("%s: layout %d, %zu regions, %zu functions, %zu sites, policy %zu bytes, %.3f s\n", path,
              static_cast<int>(analysis.kernel.layout), analysis.regions.size(), analysis.functions.size(),
              analysis.sites.size(), run.policy_size, took.count());
  for (const auto& timing : analysis.timings)
    std::printf("  stage %-12s %.3f s\n", timing.stage.c_str(), timing.seconds);
  for (const auto& table : analysis.site_tables) {
    std::printf("  %-30s entry %2llu entries %7llu sites %7llu skipped %llu\n", table.section.c_str(),
                static_cast<unsigned long long>(table.entry_size),
                static_cast<unsigned long long>(table.entries), static_cast<unsigned long long>(table.sites),
                static_cast<unsigned long long>(table.skipped));
  }
  for (const auto& region : analysis.regions) {
    std::printf("  region %-28s kind %u %#llx +%#llx\n", region.name.c_str(),
                static_cast<unsigned>(region.kind), static_cast<unsigned long long>(region.start),
                static_cast<unsigned long long>(region.size));
  }
  for (const auto& note : analysis.notes) std::printf("  note: %s\n", note.c_str());
  return run;
}

uint64_t entries(const KernelRun& run, const std::string& table) {
  auto it = run.tables.find(table);
  return it == run.tables.end() ? 0 : it->second.entries;
}

uint64_t ro_after_init_size(const KernelRun& run) {
  for (const auto& region : run.analysis.regions) {
    if (region.kind == policy::RegionKind::kRoAfterInit) return region.size;
  }
  return 0;
}

// Proves the 6.12 layout is read from the file and the tables match the
// counts measured with pahole/objtool on the same kernel.
TEST(RealKernel, Debian612CountsMatchKernelFacts) {
  const char* path = std::getenv("VMPLGUARD_REAL_VMLINUX_612");
  if (path == nullptr) GTEST_SKIP() << "set VMPLGUARD_REAL_VMLINUX_612 to a 6.12 vmlinux";
  const KernelRun run = analyse(path);
  EXPECT_EQ(run.analysis.kernel.layout, KernelLayout::kLinux612);
  EXPECT_EQ(run.analysis.kernel.release.rfind("6.12.", 0), 0u) << run.analysis.kernel.release;
  EXPECT_EQ(run.analysis.kernel.build_id.size(), 20u);
  // kernel-facts.md measured a 6.12.117 build of 345,736,528 bytes. Another
  // build of the same release (the cached one is 340,664,672 bytes) has
  // slightly different tables: exact counts for the measured file, within 5%
  // otherwise (the differences are printed above).
  struct stat info {};
  const bool measured_build = stat(path, &info) == 0 && info.st_size == 345736528;
  const auto expect_count = [&](const char* table, uint64_t facts) {
    const uint64_t got = entries(run, table);
    if (measured_build) {
      EXPECT_EQ(got, facts) << table;
    } else {
      const double ratio = static_cast<double>(got) / static_cast<double>(facts);
      EXPECT_NEAR(ratio, 1.0, 0.05) << table << ": " << got << " vs " << facts;
      if (got != facts)
        std::printf("  %s: %llu entries, kernel-facts.md says %llu\n", table,
                    static_cast<unsigned long long>(got), static_cast<unsigned long long>(facts));
    }
  };
  expect_count("__jump_table", 8973);
  expect_count(".altinstructions", 9038);
  expect_count(".static_call_sites", 7861);
  expect_count("__mcount_loc", 43203);
  expect_count(".retpoline_sites", 7875);
  expect_count(".return_sites", 58229);
  expect_count(".call_sites", 230510);
  expect_count(".ibt_endbr_seal", 12208);
  EXPECT_EQ(entries(run, ".parainstructions"), 0u);
  const double ro_ratio = static_cast<double>(ro_after_init_size(run)) / 500848.0;
  EXPECT_NEAR(ro_ratio, 1.0, measured_build ? 0.0 : 0.05);
}

// Proves the 6.1 layout (12-byte alternatives, paravirt table) is detected
// and read.
TEST(RealKernel, Debian61CountsMatchKernelFacts) {
  const char* path = std::getenv("VMPLGUARD_REAL_VMLINUX_61");
  if (path == nullptr) GTEST_SKIP() << "set VMPLGUARD_REAL_VMLINUX_61 to a 6.1 vmlinux";
  const KernelRun run = analyse(path);
  EXPECT_EQ(run.analysis.kernel.layout, KernelLayout::kLinux61);
  EXPECT_EQ(entries(run, "__jump_table"), 5980u);
  EXPECT_EQ(entries(run, ".altinstructions"), 4468u);
  EXPECT_EQ(entries(run, ".parainstructions"), 3679u);
  EXPECT_EQ(entries(run, ".static_call_sites"), 4276u);
  EXPECT_EQ(entries(run, "__mcount_loc"), 37697u);
  EXPECT_EQ(entries(run, ".retpoline_sites"), 7861u);
  EXPECT_EQ(entries(run, ".return_sites"), 48084u);
  EXPECT_EQ(entries(run, ".call_sites"), 0u);
  EXPECT_EQ(ro_after_init_size(run), 272648u);
  EXPECT_EQ(run.analysis.functions.size() > 40000, true);
}

}  // namespace
}  // namespace vg::analyzer
