// Hosted writer of policy files (format 1); the analyzer's back end.
//
// The builder accepts facts in any order, merges patch sites found by several
// special sections at the same address, deduplicates patterns and strings,
// sorts every table and appends the SHA-256 trailer. The bytes it produces
// always pass PolicyView::parse (tests hold it to that).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "policy/format.h"

namespace vg::policy {

// A legitimate byte sequence for a site, before position-dependent encoding.
struct PatternSpec {
  PatternKind kind = PatternKind::kLiteral;
  uint8_t length = 0;
  uint32_t target = 0;           // for kCallRel32, kJmpRel32, kJmpRel8 (offset from _text)
  std::vector<uint8_t> literal;  // for kLiteral; its size must equal `length`

  static PatternSpec literal_bytes(std::vector<uint8_t> bytes);
  static PatternSpec nop(uint8_t length);
  static PatternSpec call(uint32_t target, uint8_t length = 5);
  static PatternSpec jmp32(uint32_t target, uint8_t length = 5);
  static PatternSpec jmp8(uint32_t target, uint8_t length = 2);
  static PatternSpec call_any_function(uint8_t length = 5);
  static PatternSpec jmp_any_function(uint8_t length = 5);

  friend bool operator==(const PatternSpec&, const PatternSpec&) = default;
  friend auto operator<=>(const PatternSpec&, const PatternSpec&) = default;
};

class PolicyBuilder {
 public:
  void set_kernel(std::vector<uint8_t> build_id, std::string release, uint64_t link_text_va);
  void set_flags(uint32_t flags) { flags_ = flags; }
  void set_serial(uint64_t serial) { serial_ = serial; }

  void add_region(uint64_t start, uint64_t size, RegionKind kind, uint8_t perms_boot, uint8_t perms_final);
  // Merges with a site already at `offset`: kinds are OR-ed, the length is
  // the larger one, and patterns are united (duplicates dropped).
  void add_site(uint32_t offset, uint16_t kinds, uint8_t length, const std::vector<PatternSpec>& patterns);
  void add_privileged(uint32_t offset, PrivilegedKind kind, uint8_t length, uint8_t flags);
  void add_function(uint32_t offset, uint32_t size, const std::string& name, uint32_t flags);
  void add_object(uint32_t offset, uint32_t size, const std::string& name, Protection protection,
                  RegionKind region);
  void add_module_hash(const uint8_t sha256[32], const std::string& name);

  // Distinct site addresses added so far.
  size_t site_count() const;

  // Serializes everything. Errors name the first inconsistent fact (for
  // example overlapping regions or a site with too many patterns).
  Result<std::vector<uint8_t>, std::string> build() const;

 private:
  // Sites are recorded flat and merged at build(): a real kernel has ~400k
  // of them, so per-site containers would cost hundreds of megabytes.
  // Patterns are interned once; a site refers to them by index.
  struct RawSite {
    uint32_t offset;
    uint16_t kinds;
    uint8_t length;
    uint8_t pattern_count;  // may exceed kMaxPatternsPerSite; build() refuses
    uint32_t first_id;      // into site_pattern_ids_
  };
  struct PatternKeyHash {
    size_t operator()(const PatternSpec& spec) const;
  };
  uint32_t intern(const PatternSpec& spec);
  struct PendingObject {
    uint32_t offset, size;
    std::string name;
    Protection protection;
    RegionKind region;
  };
  struct PendingFunction {
    uint32_t size;
    std::string name;
    uint32_t flags;
  };

  std::vector<uint8_t> build_id_;
  std::string release_;
  uint64_t link_text_va_ = 0;
  uint32_t flags_ = 0;
  uint64_t serial_ = 1;
  std::vector<Region> regions_;
  std::vector<RawSite> sites_;
  std::vector<uint32_t> site_pattern_ids_;
  std::vector<PatternSpec> interned_;
  std::unordered_map<PatternSpec, uint32_t, PatternKeyHash> pattern_ids_;
  std::map<uint32_t, PrivilegedInsn> privileged_;
  std::map<uint32_t, PendingFunction> functions_;
  std::vector<PendingObject> objects_;
  std::vector<std::pair<std::vector<uint8_t>, std::string>> module_hashes_;
};

}  // namespace vg::policy
