#include "policy/reader.h"

#include "policy/x86_nops.h"

namespace vg::policy {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the policy is little-endian and read in place");

const char* describe(ParseError error) {
  switch (error) {
    case ParseError::kTooSmall: return "file is smaller than a policy header and digest";
    case ParseError::kBadMagic: return "not a vmplguard policy (bad magic)";
    case ParseError::kUnsupportedVersion: return "unsupported policy format version";
    case ParseError::kBadHeaderSize: return "header size field is wrong";
    case ParseError::kSizeMismatch: return "header file_size does not match the file";
    case ParseError::kTooLarge: return "file is larger than the format allows";
    case ParseError::kBadReserved: return "a reserved field is not zero";
    case ParseError::kBadBuildId: return "build id size is over 32 bytes";
    case ParseError::kTooManyTables: return "too many tables";
    case ParseError::kBadDirectory: return "table directory runs past the data";
    case ParseError::kDuplicateTable: return "a table kind appears twice";
    case ParseError::kBadEntrySize: return "a table has the wrong entry size";
    case ParseError::kTableOutOfBounds: return "a table lies outside the data area";
    case ParseError::kTableMisaligned: return "a table or the buffer is not 8-byte aligned";
    case ParseError::kTablesOverlap: return "two tables overlap";
    case ParseError::kMissingTable: return "a required table is missing";
    case ParseError::kUnsorted: return "a sorted table is out of order or has duplicates";
    case ParseError::kBadRegion: return "a region is empty, unknown, overlapping or overflowing";
    case ParseError::kBadSite: return "a site has a bad length or pattern reference";
    case ParseError::kBadPattern: return "a pattern has a bad kind, length or byte reference";
    case ParseError::kBadPrivileged: return "a privileged instruction entry is malformed";
    case ParseError::kBadFunction: return "a function entry is malformed";
    case ParseError::kBadString: return "a name is outside the string table or unterminated";
    case ParseError::kBadObject: return "a critical object is malformed or overlapping";
    case ParseError::kDigestMismatch: return "digest mismatch: the file was altered or truncated";
  }
  return "unknown policy error";
}

namespace {

constexpr uint32_t entry_size_for(TableKind kind) {
  switch (kind) {
    case TableKind::kRegions: return sizeof(Region);
    case TableKind::kSites: return sizeof(Site);
    case TableKind::kPatterns: return sizeof(Pattern);
    case TableKind::kBytes: return 1;
    case TableKind::kPrivileged: return sizeof(PrivilegedInsn);
    case TableKind::kFunctions: return sizeof(Function);
    case TableKind::kStrings: return 1;
    case TableKind::kObjects: return sizeof(CriticalObject);
    case TableKind::kModuleHashes: return sizeof(ModuleHash);
  }
  return 0;
}

constexpr uint32_t kKnownTableMask = (1u << 10) - 2;  // kinds 1..9

bool all_zero(const uint8_t* bytes, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

bool valid_string(ByteView strings, uint32_t offset) {
  if (offset >= strings.size) return false;
  for (size_t i = offset; i < strings.size; ++i) {
    if (strings.data[i] == '\0') return true;
  }
  return false;
}

bool valid_region_kind(uint16_t kind) {
  return kind >= 1 && kind <= 7;
}

constexpr uint8_t kPermMask = kPermRead | kPermWrite | kPermUserExec | kPermSupervisorExec;

int compare_digest(const uint8_t* a, const uint8_t* b) {
  for (int i = 0; i < 32; ++i) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

}  // namespace

Result<PolicyView, ParseError> PolicyView::parse(ByteView bytes) {
  if (bytes.size < sizeof(FileHeader) + kDigestSize) return Err{ParseError::kTooSmall};
  if ((reinterpret_cast<uintptr_t>(bytes.data) & 7) != 0) return Err{ParseError::kTableMisaligned};
  // SAFETY: the buffer holds at least sizeof(FileHeader) bytes and is 8-byte
  // aligned (checked above); FileHeader is a trivially copyable layout type.
  const auto* header = reinterpret_cast<const FileHeader*>(bytes.data);
  if (__builtin_memcmp(header->magic, kMagic, sizeof(kMagic)) != 0) return Err{ParseError::kBadMagic};
  if (header->format_major != kFormatMajor) return Err{ParseError::kUnsupportedVersion};
  if (header->header_size != sizeof(FileHeader)) return Err{ParseError::kBadHeaderSize};
  if (bytes.size > kMaxFileSize) return Err{ParseError::kTooLarge};
  if (header->file_size != bytes.size) return Err{ParseError::kSizeMismatch};
  if (!all_zero(header->reserved0, sizeof(header->reserved0))) return Err{ParseError::kBadReserved};
  if (header->build_id_size > sizeof(header->build_id)) return Err{ParseError::kBadBuildId};
  if (header->table_count > kMaxTables) return Err{ParseError::kTooManyTables};

  const uint64_t data_end = bytes.size - kDigestSize;
  const uint64_t directory_end = sizeof(FileHeader) + uint64_t{header->table_count} * sizeof(TableEntry);
  if (directory_end > data_end) return Err{ParseError::kBadDirectory};

  // The digest is checked before any table is interpreted, so a tampered file
  // is reported as tampered rather than as whatever its damage looks like.
  Sha256Digest computed = Sha256::of(bytes.data, data_end);
  if (__builtin_memcmp(computed.bytes, bytes.data + data_end, kDigestSize) != 0) {
    return Err{ParseError::kDigestMismatch};
  }

  PolicyView view;
  view.header_ = header;
  view.digest_ = computed;
  // SAFETY: the directory lies within the buffer (directory_end <= data_end)
  // and is 8-byte aligned because the header is 128 bytes.
  const auto* directory = reinterpret_cast<const TableEntry*>(bytes.data + sizeof(FileHeader));

  uint32_t seen = 0;
  for (uint32_t i = 0; i < header->table_count; ++i) {
    const TableEntry& entry = directory[i];
    if (entry.kind >= 32 || ((1u << entry.kind) & kKnownTableMask) == 0) continue;  // forward compatible
    if (seen & (1u << entry.kind)) return Err{ParseError::kDuplicateTable};
    seen |= 1u << entry.kind;
    const auto kind = static_cast<TableKind>(entry.kind);
    if (entry.entry_size != entry_size_for(kind)) return Err{ParseError::kBadEntrySize};
    if (entry.offset % 8 != 0) return Err{ParseError::kTableMisaligned};
    if (entry.offset < directory_end || entry.offset > data_end) return Err{ParseError::kTableOutOfBounds};
    if (entry.count > (data_end - entry.offset) / entry.entry_size) return Err{ParseError::kTableOutOfBounds};
    const uint64_t end = entry.offset + entry.count * entry.entry_size;
    for (uint32_t j = 0; j < i; ++j) {
      const TableEntry& other = directory[j];
      if (other.kind >= 32 || ((1u << other.kind) & kKnownTableMask) == 0) continue;
      const uint64_t other_end = other.offset + other.count * other.entry_size;
      if (entry.offset < other_end && other.offset < end) return Err{ParseError::kTablesOverlap};
    }
    const uint8_t* base = bytes.data + entry.offset;
    // SAFETY (all casts below): [offset, end) lies inside the checked data
    // area and offset is 8-byte aligned; the entry types are plain layouts.
    switch (kind) {
      case TableKind::kRegions: view.regions_ = {reinterpret_cast<const Region*>(base), entry.count}; break;
      case TableKind::kSites: view.sites_ = {reinterpret_cast<const Site*>(base), entry.count}; break;
      case TableKind::kPatterns:
        view.patterns_ = {reinterpret_cast<const Pattern*>(base), entry.count};
        break;
      case TableKind::kBytes: view.bytes_blob_ = ByteView{base, entry.count}; break;
      case TableKind::kPrivileged:
        view.privileged_ = {reinterpret_cast<const PrivilegedInsn*>(base), entry.count};
        break;
      case TableKind::kFunctions:
        view.functions_ = {reinterpret_cast<const Function*>(base), entry.count};
        break;
      case TableKind::kStrings: view.strings_ = ByteView{base, entry.count}; break;
      case TableKind::kObjects:
        view.objects_ = {reinterpret_cast<const CriticalObject*>(base), entry.count};
        break;
      case TableKind::kModuleHashes:
        view.module_hashes_ = {reinterpret_cast<const ModuleHash*>(base), entry.count};
        break;
    }
  }
  // Regions and sites are what the monitor enforces; a policy without them is
  // not a policy. The other tables may legitimately be empty.
  if (!(seen & (1u << static_cast<uint32_t>(TableKind::kRegions))) ||
      !(seen & (1u << static_cast<uint32_t>(TableKind::kSites))) ||
      !(seen & (1u << static_cast<uint32_t>(TableKind::kPatterns)))) {
    return Err{ParseError::kMissingTable};
  }

  uint64_t previous_end = 0;
  for (uint64_t i = 0; i < view.regions_.count; ++i) {
    const Region& region = view.regions_[i];
    if (region.size == 0 || !valid_region_kind(region.kind)) return Err{ParseError::kBadRegion};
    if (region.start + region.size < region.start) return Err{ParseError::kBadRegion};
    if ((region.perms_boot & ~kPermMask) != 0 || (region.perms_final & ~kPermMask) != 0) {
      return Err{ParseError::kBadRegion};
    }
    if (region.reserved != 0) return Err{ParseError::kBadReserved};
    if (i > 0 && region.start < previous_end) return Err{ParseError::kBadRegion};
    previous_end = region.start + region.size;
  }

  for (uint64_t i = 0; i < view.patterns_.count; ++i) {
    const Pattern& pattern = view.patterns_[i];
    if (pattern.length == 0 || pattern.length > kMaxSiteLength) return Err{ParseError::kBadPattern};
    if (pattern.reserved != 0) return Err{ParseError::kBadReserved};
    switch (static_cast<PatternKind>(pattern.kind)) {
      case PatternKind::kLiteral:
        if (!view.bytes_blob_.contains(pattern.arg, pattern.length)) return Err{ParseError::kBadPattern};
        break;
      case PatternKind::kNop: break;
      case PatternKind::kCallRel32:
      case PatternKind::kJmpRel32:
      case PatternKind::kCallAnyFunction:
      case PatternKind::kJmpAnyFunction:
        if (pattern.length < 5) return Err{ParseError::kBadPattern};
        break;
      case PatternKind::kJmpRel8:
        if (pattern.length < 2) return Err{ParseError::kBadPattern};
        break;
      default: return Err{ParseError::kBadPattern};
    }
  }

  for (uint64_t i = 0; i < view.sites_.count; ++i) {
    const Site& site = view.sites_[i];
    if (i > 0 && site.offset <= view.sites_[i - 1].offset) return Err{ParseError::kUnsorted};
    if (site.length == 0 || site.length > kMaxSiteLength || site.kinds == 0) return Err{ParseError::kBadSite};
    if (site.pattern_count == 0 || site.pattern_count > kMaxPatternsPerSite) return Err{ParseError::kBadSite};
    if (site.reserved != 0) return Err{ParseError::kBadReserved};
    if (site.first_pattern > view.patterns_.count ||
        site.pattern_count > view.patterns_.count - site.first_pattern) {
      return Err{ParseError::kBadSite};
    }
    for (uint32_t p = 0; p < site.pattern_count; ++p) {
      if (view.patterns_[site.first_pattern + p].length > site.length) return Err{ParseError::kBadSite};
    }
  }

  for (uint64_t i = 0; i < view.privileged_.count; ++i) {
    const PrivilegedInsn& insn = view.privileged_[i];
    if (i > 0 && insn.offset <= view.privileged_[i - 1].offset) return Err{ParseError::kUnsorted};
    if (insn.length == 0 || insn.length > 15 || insn.kind == 0 || insn.kind > 31) {
      return Err{ParseError::kBadPrivileged};
    }
  }

  for (uint64_t i = 0; i < view.functions_.count; ++i) {
    const Function& function = view.functions_[i];
    if (i > 0 && function.offset <= view.functions_[i - 1].offset) return Err{ParseError::kUnsorted};
    if (!valid_string(view.strings_, function.name)) return Err{ParseError::kBadString};
    if ((function.flags & ~uint32_t{kFunctionTrusted | kFunctionInit}) != 0)
      return Err{ParseError::kBadFunction};
  }

  uint64_t previous_object_end = 0;
  for (uint64_t i = 0; i < view.objects_.count; ++i) {
    const CriticalObject& object = view.objects_[i];
    if (object.size == 0) return Err{ParseError::kBadObject};
    if (i > 0 && object.offset < previous_object_end) return Err{ParseError::kUnsorted};
    if (object.protection < 1 || object.protection > 3 || !valid_region_kind(object.region)) {
      return Err{ParseError::kBadObject};
    }
    if (!valid_string(view.strings_, object.name)) return Err{ParseError::kBadString};
    previous_object_end = uint64_t{object.offset} + object.size;
  }

  for (uint64_t i = 0; i < view.module_hashes_.count; ++i) {
    const ModuleHash& module = view.module_hashes_[i];
    if (i > 0 && compare_digest(view.module_hashes_[i - 1].sha256, module.sha256) >= 0) {
      return Err{ParseError::kUnsorted};
    }
    if (module.reserved != 0) return Err{ParseError::kBadReserved};
    if (!valid_string(view.strings_, module.name)) return Err{ParseError::kBadString};
  }
  return view;
}

namespace {

// Index of the last element whose key is <= `key`, or count if none.
template <typename T, typename KeyOf>
uint64_t last_not_above(TableView<T> table, uint64_t key, KeyOf key_of) {
  uint64_t low = 0, high = table.count;  // invariant: answer in [low - 1, high)
  while (low < high) {
    uint64_t mid = low + (high - low) / 2;
    if (key_of(table[mid]) <= key) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low == 0 ? table.count : low - 1;
}

}  // namespace

const Site* PolicyView::find_site(uint32_t offset) const {
  uint64_t i = last_not_above(sites_, offset, [](const Site& s) { return uint64_t{s.offset}; });
  return (i < sites_.count && sites_[i].offset == offset) ? &sites_[i] : nullptr;
}

const Region* PolicyView::find_region(uint64_t offset) const {
  uint64_t i = last_not_above(regions_, offset, [](const Region& r) { return r.start; });
  if (i == regions_.count) return nullptr;
  const Region& region = regions_[i];
  return offset - region.start < region.size ? &region : nullptr;
}

const Function* PolicyView::find_function(uint32_t offset) const {
  uint64_t i = last_not_above(functions_, offset, [](const Function& f) { return uint64_t{f.offset}; });
  if (i == functions_.count) return nullptr;
  const Function& function = functions_[i];
  uint32_t size = function.size == 0 ? 1 : function.size;
  return offset - function.offset < size ? &function : nullptr;
}

bool PolicyView::is_function_start(uint32_t offset) const {
  uint64_t i = last_not_above(functions_, offset, [](const Function& f) { return uint64_t{f.offset}; });
  return i < functions_.count && functions_[i].offset == offset;
}

const CriticalObject* PolicyView::find_object(uint64_t offset) const {
  uint64_t i = last_not_above(objects_, offset, [](const CriticalObject& o) { return uint64_t{o.offset}; });
  if (i == objects_.count) return nullptr;
  const CriticalObject& object = objects_[i];
  return offset - object.offset < object.size ? &object : nullptr;
}

const ModuleHash* PolicyView::find_module_hash(const uint8_t digest[32]) const {
  uint64_t low = 0, high = module_hashes_.count;
  while (low < high) {
    uint64_t mid = low + (high - low) / 2;
    int order = compare_digest(module_hashes_[mid].sha256, digest);
    if (order == 0) return &module_hashes_[mid];
    if (order < 0) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return nullptr;
}

const char* PolicyView::string(uint32_t name_offset) const {
  // SAFETY: every name offset stored in a table was checked at parse time to
  // point inside STRINGS at a NUL-terminated string.
  return reinterpret_cast<const char*>(strings_.data + name_offset);
}

namespace {

// Fills `length` bytes with the kernel's NOP sequence (longest NOPs first, as
// add_nops() does).
void fill_nops(uint8_t* out, size_t length) {
  while (length > 0) {
    size_t chunk = length > kPolicyNopChunk ? kPolicyNopChunk : length;
    __builtin_memcpy(out, kX86Nops[chunk - 1], chunk);
    out += chunk;
    length -= chunk;
  }
}

void put_rel32(uint8_t* out, int64_t displacement) {
  auto value = static_cast<uint32_t>(static_cast<int32_t>(displacement));
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

ByteView canonical_nop(uint8_t length) {
  if (length == 0 || length > kPolicyNopChunk) return ByteView{};
  return ByteView{kX86Nops[length - 1], length};
}

size_t encode_pattern(const PolicyView& policy, const Site& site, const Pattern& pattern, uint32_t any_target,
                      uint8_t* out) {
  const size_t length = pattern.length;
  const auto kind = static_cast<PatternKind>(pattern.kind);
  switch (kind) {
    case PatternKind::kLiteral:
      __builtin_memcpy(out, policy.bytes().data + pattern.arg, length);
      return length;
    case PatternKind::kNop: fill_nops(out, length); return length;
    case PatternKind::kCallRel32:
    case PatternKind::kJmpRel32:
    case PatternKind::kCallAnyFunction:
    case PatternKind::kJmpAnyFunction: {
      const bool any = kind == PatternKind::kCallAnyFunction || kind == PatternKind::kJmpAnyFunction;
      const uint32_t target = any ? any_target : pattern.arg;
      const bool call = kind == PatternKind::kCallRel32 || kind == PatternKind::kCallAnyFunction;
      const int64_t displacement = int64_t{target} - (int64_t{site.offset} + 5);
      if (displacement < INT32_MIN || displacement > INT32_MAX) return 0;
      out[0] = call ? 0xe8 : 0xe9;
      put_rel32(out + 1, displacement);
      fill_nops(out + 5, length - 5);
      return length;
    }
    case PatternKind::kJmpRel8: {
      const int64_t displacement = int64_t{pattern.arg} - (int64_t{site.offset} + 2);
      if (displacement < -128 || displacement > 127) return 0;
      out[0] = 0xeb;
      out[1] = static_cast<uint8_t>(static_cast<int8_t>(displacement));
      fill_nops(out + 2, length - 2);
      return length;
    }
  }
  return 0;
}

bool site_allows(const PolicyView& policy, const Site& site, const uint8_t* candidate,
                 size_t candidate_length) {
  uint8_t expected[kMaxSiteLength];
  for (uint32_t p = 0; p < site.pattern_count; ++p) {
    const Pattern& pattern = policy.patterns()[site.first_pattern + p];
    if (pattern.length != candidate_length) continue;
    uint32_t any_target = 0;
    const auto kind = static_cast<PatternKind>(pattern.kind);
    if (kind == PatternKind::kCallAnyFunction || kind == PatternKind::kJmpAnyFunction) {
      // Decode the candidate's target, then require it to be a function start.
      const uint8_t opcode = kind == PatternKind::kCallAnyFunction ? 0xe8 : 0xe9;
      if (candidate[0] != opcode) continue;
      int32_t rel = 0;
      __builtin_memcpy(&rel, candidate + 1, 4);
      const int64_t target = int64_t{site.offset} + 5 + rel;
      if (target < 0 || target > int64_t{UINT32_MAX}) continue;
      if (!policy.is_function_start(static_cast<uint32_t>(target))) continue;
      any_target = static_cast<uint32_t>(target);
    }
    size_t produced = encode_pattern(policy, site, pattern, any_target, expected);
    if (produced == candidate_length && __builtin_memcmp(expected, candidate, produced) == 0) return true;
  }
  return false;
}

}  // namespace vg::policy
