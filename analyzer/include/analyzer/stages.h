// The analysis stages. Each fills its own part of Analysis, so that stages
// without a data dependency can run on separate threads:
//
//   open -> regions, functions -> { patch sites, objects } || { privileged }
//        -> trust -> policy / reports
//
// Every stage returns a Diagnostic for malformed input and never aborts.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyzer/diagnostic.h"
#include "analyzer/elf_image.h"
#include "analyzer/model.h"
#include "base/result.h"

namespace vg::analyzer {

// Called now and then by long stages: stage name, work done, total work.
using Progress = std::function<void(std::string_view stage, uint64_t done, uint64_t total)>;

// Kernel identity (release, build id, `_text`) and the special-section layout.
Result<void, Diagnostic> collect_kernel_info(const ElfImage& image, Analysis& out);
// Regions with their run-time permissions (fills out.regions).
Result<void, Diagnostic> collect_regions(const ElfImage& image, Analysis& out);
// Function symbols, sorted, marked init when in init text (fills out.functions).
Result<void, Diagnostic> collect_functions(const ElfImage& image, Analysis& out);
// Patch sites from every special section (fills out.sites, out.site_tables).
Result<void, Diagnostic> collect_patch_sites(const ElfImage& image, Analysis& out);
// Privileged instructions, aligned and unintended (fills out.privileged).
// Needs out.functions.
Result<void, Diagnostic> collect_privileged(const ElfImage& image, Analysis& out, const Progress& progress);
// Critical data objects (fills out.objects).
Result<void, Diagnostic> collect_objects(const ElfImage& image, Analysis& out);
// Trusted region: marks out.functions[].trusted, out.privileged[].trusted and
// fills out.trusted. Needs functions, sites and privileged.
Result<void, Diagnostic> classify_trust(const ElfImage& image, Analysis& out);

struct PolicyOptions {
  uint64_t serial = 1;
  uint32_t flags = policy::kFlagModulesAllowed;
  std::vector<std::string> module_paths;  // .ko files whose text joins the allowlist
  // Allowlist entries given as digests (NAME, SHA-256 of the module's text as
  // KCI hashes it: in guest memory, after relocation): a provisioning step
  // that measured the loaded text supplies them.
  std::vector<std::pair<std::string, std::array<uint8_t, 32>>> module_digests;
};

// Serializes the analysis into a policy file (format 1).
Result<std::vector<uint8_t>, std::string> build_policy(const Analysis& analysis,
                                                       const PolicyOptions& options);

}  // namespace vg::analyzer
