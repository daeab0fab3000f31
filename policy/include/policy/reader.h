// Hardened, freestanding parser of policy files (format 1).
//
// parse() checks everything before it returns a view: header, directory,
// table bounds and alignment, entry sizes, sort order, cross references and
// the SHA-256 trailer. A view is only ever handed out for a fully valid file,
// so callers never enforce a policy half-way. The view borrows the bytes:
// the monitor copies the policy into its own memory first, then parses.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/result.h"
#include "base/sha256.h"
#include "base/types.h"
#include "policy/format.h"

namespace vg::policy {

enum class ParseError : uint8_t {
  kTooSmall,            // shorter than a header plus a digest
  kBadMagic,            // not a vmplguard policy
  kUnsupportedVersion,  // format_major differs from kFormatMajor
  kBadHeaderSize,
  kSizeMismatch,  // header file_size differs from the bytes given
  kTooLarge,      // over kMaxFileSize
  kBadReserved,   // a reserved field is not zero
  kBadBuildId,    // build_id_size over 32
  kTooManyTables,
  kBadDirectory,  // directory runs past the data
  kDuplicateTable,
  kBadEntrySize,      // entry_size wrong for a known table kind
  kTableOutOfBounds,  // a table runs outside the data area or overflows
  kTableMisaligned,
  kTablesOverlap,
  kMissingTable,  // a required table is absent
  kUnsorted,      // a sorted table is out of order or has duplicates
  kBadRegion,     // zero size, unknown kind, overlap, or overflow
  kBadSite,       // length or pattern references out of range
  kBadPattern,    // unknown kind, or bytes out of range
  kBadPrivileged,
  kBadFunction,
  kBadString,  // a name offset outside STRINGS or not NUL-terminated
  kBadObject,
  kDigestMismatch,  // the trailer is not the SHA-256 of the file
};

// A short, stable, human-readable description of the error.
const char* describe(ParseError error);

template <typename T>
struct TableView {
  const T* data = nullptr;
  uint64_t count = 0;
  const T& operator[](uint64_t i) const { return data[i]; }
  const T* begin() const { return data; }
  const T* end() const { return data + count; }
};

class PolicyView {
 public:
  // Parses and validates `bytes`; on success the view borrows them.
  static Result<PolicyView, ParseError> parse(ByteView bytes);

  const FileHeader& header() const { return *header_; }
  const Sha256Digest& digest() const { return digest_; }

  TableView<Region> regions() const { return regions_; }
  TableView<Site> sites() const { return sites_; }
  TableView<Pattern> patterns() const { return patterns_; }
  ByteView bytes() const { return bytes_blob_; }
  TableView<PrivilegedInsn> privileged() const { return privileged_; }
  TableView<Function> functions() const { return functions_; }
  TableView<CriticalObject> objects() const { return objects_; }
  TableView<ModuleHash> module_hashes() const { return module_hashes_; }

  // O(log n) lookups.
  const Site* find_site(uint32_t offset) const;
  const Region* find_region(uint64_t offset) const;
  // The function containing `offset` (start <= offset < start + max(size, 1)).
  const Function* find_function(uint32_t offset) const;
  // True if some function starts exactly at `offset`.
  bool is_function_start(uint32_t offset) const;
  const CriticalObject* find_object(uint64_t offset) const;
  const ModuleHash* find_module_hash(const uint8_t digest[32]) const;
  // The NUL-terminated name at `name_offset` (validated at parse time).
  const char* string(uint32_t name_offset) const;

 private:
  const FileHeader* header_ = nullptr;
  Sha256Digest digest_{};
  TableView<Region> regions_;
  TableView<Site> sites_;
  TableView<Pattern> patterns_;
  ByteView bytes_blob_;
  TableView<PrivilegedInsn> privileged_;
  TableView<Function> functions_;
  ByteView strings_;
  TableView<CriticalObject> objects_;
  TableView<ModuleHash> module_hashes_;
};

// The canonical NOPs Linux writes (arch/x86/kernel/alternative.c x86_nops,
// the P6 forms), indexed by length 1..8. Longer NOPs are sequences of these.
ByteView canonical_nop(uint8_t length);

// Encodes the bytes `pattern` stands for at `site` into `out` (up to
// kMaxSiteLength bytes). For kCallAnyFunction / kJmpAnyFunction it needs the
// concrete target; other kinds ignore `any_target`. Returns the byte count,
// or 0 if the pattern cannot be encoded at this site (target out of rel range).
size_t encode_pattern(const PolicyView& policy, const Site& site, const Pattern& pattern, uint32_t any_target,
                      uint8_t* out);

// True if `candidate` (site->length bytes) is one of the site's legitimate
// byte sequences. Position-dependent patterns are checked against the site's
// own offset.
bool site_allows(const PolicyView& policy, const Site& site, const uint8_t* candidate,
                 size_t candidate_length);

}  // namespace vg::policy
