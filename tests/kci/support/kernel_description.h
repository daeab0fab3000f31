// The synthetic kernel of the KCI tests and attack scenarios, read from a
// small text description (tests/scenarios/kernel.txt; format in
// docs/scenarios.md) and turned into a real policy with PolicyBuilder, so
// that tests run without a real vmlinux yet go through the same parser and
// checks as a real policy.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "policy/builder.h"

namespace vg::kci::testing {

struct RegionFact {
  std::string name;
  uint64_t start = 0, size = 0;
  policy::RegionKind kind{};
  uint8_t perms_boot = 0, perms_final = 0;
};
struct FunctionFact {
  std::string name;
  uint32_t offset = 0, size = 0, flags = 0;
};
struct SiteFact {
  uint32_t offset = 0;
  uint16_t kinds = 0;
  uint8_t length = 0;
  std::vector<policy::PatternSpec> patterns;
};
struct ObjectFact {
  std::string name;
  uint32_t offset = 0, size = 0;
  policy::Protection protection{};
  policy::RegionKind region{};
};
struct ModuleText {
  std::string name;
  uint8_t fill = 0;
  uint32_t size = 0;
  std::vector<uint8_t> bytes() const { return std::vector<uint8_t>(size, fill); }
};

struct KernelDescription {
  std::vector<uint8_t> build_id;
  std::string release;
  uint64_t link_text_va = 0;
  uint64_t serial = 1;
  uint32_t flags = 0;
  std::vector<RegionFact> regions;
  std::vector<FunctionFact> functions;
  std::vector<SiteFact> sites;
  std::vector<ObjectFact> objects;
  std::vector<ModuleText> module_hashes;

  uint64_t image_size() const;
  // Offset from _text of a function, object or region by name; false if none.
  bool symbol(const std::string& name, uint64_t& offset) const;
  const ObjectFact* object(const std::string& name) const;
};

Result<KernelDescription, std::string> parse_kernel_description(const std::string& text);
Result<KernelDescription, std::string> load_kernel_description(const std::string& path);

// Builds the policy bytes; `serial` and `flags` override the description's
// when not ~0.
std::vector<uint8_t> build_policy(const KernelDescription& kernel, uint64_t serial = ~0ull,
                                  uint32_t flags = ~0u);

// "rw-" / "r-x" / "r--" -> policy::Perm mask.
bool parse_perms(const std::string& text, uint8_t& perms);
bool parse_hex_bytes(const std::string& text, std::vector<uint8_t>& out);
bool parse_number(const std::string& text, uint64_t& out);

}  // namespace vg::kci::testing
