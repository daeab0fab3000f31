#include "policy/builder.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "base/sha256.h"

namespace vg::policy {

PatternSpec PatternSpec::literal_bytes(std::vector<uint8_t> bytes) {
  PatternSpec spec;
  spec.kind = PatternKind::kLiteral;
  spec.length = static_cast<uint8_t>(bytes.size());
  spec.literal = std::move(bytes);
  return spec;
}
PatternSpec PatternSpec::nop(uint8_t length) {
  PatternSpec spec;
  spec.kind = PatternKind::kNop;
  spec.length = length;
  return spec;
}
PatternSpec PatternSpec::call(uint32_t target, uint8_t length) {
  PatternSpec spec;
  spec.kind = PatternKind::kCallRel32;
  spec.length = length;
  spec.target = target;
  return spec;
}
PatternSpec PatternSpec::jmp32(uint32_t target, uint8_t length) {
  PatternSpec spec = call(target, length);
  spec.kind = PatternKind::kJmpRel32;
  return spec;
}
PatternSpec PatternSpec::jmp8(uint32_t target, uint8_t length) {
  PatternSpec spec = call(target, length);
  spec.kind = PatternKind::kJmpRel8;
  return spec;
}
PatternSpec PatternSpec::call_any_function(uint8_t length) {
  PatternSpec spec;
  spec.kind = PatternKind::kCallAnyFunction;
  spec.length = length;
  return spec;
}
PatternSpec PatternSpec::jmp_any_function(uint8_t length) {
  PatternSpec spec = call_any_function(length);
  spec.kind = PatternKind::kJmpAnyFunction;
  return spec;
}

void PolicyBuilder::set_kernel(std::vector<uint8_t> build_id, std::string release, uint64_t link_text_va) {
  build_id_ = std::move(build_id);
  release_ = std::move(release);
  link_text_va_ = link_text_va;
}

void PolicyBuilder::add_region(uint64_t start, uint64_t size, RegionKind kind, uint8_t perms_boot,
                               uint8_t perms_final) {
  Region region{};
  region.start = start;
  region.size = size;
  region.kind = static_cast<uint16_t>(kind);
  region.perms_boot = perms_boot;
  region.perms_final = perms_final;
  regions_.push_back(region);
}

size_t PolicyBuilder::PatternKeyHash::operator()(const PatternSpec& spec) const {
  size_t hash = static_cast<size_t>(spec.kind) * 0x9e3779b97f4a7c15ull;
  hash ^= spec.length + 0x9e3779b9u + (hash << 6) + (hash >> 2);
  hash ^= spec.target + 0x9e3779b9u + (hash << 6) + (hash >> 2);
  for (uint8_t byte : spec.literal) hash ^= byte + 0x9e3779b9u + (hash << 6) + (hash >> 2);
  return hash;
}

uint32_t PolicyBuilder::intern(const PatternSpec& spec) {
  auto [it, inserted] = pattern_ids_.try_emplace(spec, static_cast<uint32_t>(interned_.size()));
  if (inserted) interned_.push_back(spec);
  return it->second;
}

void PolicyBuilder::add_site(uint32_t offset, uint16_t kinds, uint8_t length,
                             const std::vector<PatternSpec>& patterns) {
  RawSite site{};
  site.offset = offset;
  site.kinds = kinds;
  site.length = length;
  site.first_id = static_cast<uint32_t>(site_pattern_ids_.size());
  for (const PatternSpec& pattern : patterns) site_pattern_ids_.push_back(intern(pattern));
  site.pattern_count = static_cast<uint8_t>(std::min<size_t>(patterns.size(), 255));
  sites_.push_back(site);
}

size_t PolicyBuilder::site_count() const {
  std::vector<uint32_t> offsets;
  offsets.reserve(sites_.size());
  for (const RawSite& site : sites_) offsets.push_back(site.offset);
  std::sort(offsets.begin(), offsets.end());
  return static_cast<size_t>(std::unique(offsets.begin(), offsets.end()) - offsets.begin());
}

void PolicyBuilder::add_privileged(uint32_t offset, PrivilegedKind kind, uint8_t length, uint8_t flags) {
  PrivilegedInsn insn{};
  insn.offset = offset;
  insn.kind = static_cast<uint16_t>(kind);
  insn.length = length;
  insn.flags = flags;
  privileged_[offset] = insn;
}

void PolicyBuilder::add_function(uint32_t offset, uint32_t size, const std::string& name, uint32_t flags) {
  // Aliases share an address; the first name seen wins, flags accumulate.
  auto [it, inserted] = functions_.try_emplace(offset, PendingFunction{size, name, flags});
  if (!inserted) {
    it->second.flags |= flags;
    it->second.size = std::max(it->second.size, size);
  }
}

void PolicyBuilder::add_object(uint32_t offset, uint32_t size, const std::string& name, Protection protection,
                               RegionKind region) {
  objects_.push_back(PendingObject{offset, size, name, protection, region});
}

void PolicyBuilder::add_module_hash(const uint8_t sha256[32], const std::string& name) {
  module_hashes_.emplace_back(std::vector<uint8_t>(sha256, sha256 + 32), name);
}

namespace {

class Writer {
 public:
  template <typename T>
  void put(const T& value) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
    out_.insert(out_.end(), bytes, bytes + sizeof(T));
  }
  void put_bytes(const std::vector<uint8_t>& bytes) { out_.insert(out_.end(), bytes.begin(), bytes.end()); }
  void align8() {
    while (out_.size() % 8 != 0) out_.push_back(0);
  }
  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

class StringTable {
 public:
  uint32_t intern(const std::string& name) {
    auto [it, inserted] = offsets_.try_emplace(name, static_cast<uint32_t>(blob_.size()));
    if (inserted) {
      blob_.insert(blob_.end(), name.begin(), name.end());
      blob_.push_back(0);
    }
    return it->second;
  }
  const std::vector<uint8_t>& blob() const { return blob_; }

 private:
  std::unordered_map<std::string, uint32_t> offsets_;
  std::vector<uint8_t> blob_;
};

}  // namespace

Result<std::vector<uint8_t>, std::string> PolicyBuilder::build() const {
  if (build_id_.size() > 32) return Err{std::string("build id longer than 32 bytes")};

  std::vector<Region> regions = regions_;
  std::sort(regions.begin(), regions.end(),
            [](const Region& a, const Region& b) { return a.start < b.start; });
  for (size_t i = 0; i < regions.size(); ++i) {
    if (regions[i].size == 0) return Err{std::string("empty region")};
    if (i > 0 && regions[i].start < regions[i - 1].start + regions[i - 1].size) {
      return Err{"regions overlap at _text+0x" + std::to_string(regions[i].start)};
    }
  }

  // Merge the records of each address (several special sections can name
  // the same site), then share identical pattern runs across sites: the
  // hundreds of thousands of `call __fentry__`-style sites use a few runs.
  std::vector<uint32_t> order(sites_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [this](uint32_t a, uint32_t b) { return sites_[a].offset < sites_[b].offset; });

  std::vector<Pattern> patterns;
  std::vector<uint8_t> literal_blob;
  std::map<std::vector<uint8_t>, uint32_t> literal_offsets;
  std::map<std::vector<uint32_t>, uint32_t> run_index;
  std::vector<Site> sites;
  std::vector<uint32_t> run;
  for (size_t i = 0; i < order.size();) {
    const uint32_t offset = sites_[order[i]].offset;
    uint16_t kinds = 0;
    uint8_t length = 0;
    size_t raw_patterns = 0;
    run.clear();
    for (; i < order.size() && sites_[order[i]].offset == offset; ++i) {
      const RawSite& raw = sites_[order[i]];
      kinds = static_cast<uint16_t>(kinds | raw.kinds);
      length = std::max(length, raw.length);
      raw_patterns += raw.pattern_count;
      for (uint32_t p = 0; p < raw.pattern_count; ++p) run.push_back(site_pattern_ids_[raw.first_id + p]);
    }
    std::sort(run.begin(), run.end(), [this](uint32_t a, uint32_t b) { return interned_[a] < interned_[b]; });
    run.erase(std::unique(run.begin(), run.end()), run.end());
    const std::string where = "site _text+" + std::to_string(offset);
    if (run.empty()) return Err{where + " has no pattern"};
    if (run.size() > kMaxPatternsPerSite || raw_patterns > 255)
      return Err{where + " has more than 16 patterns"};
    if (length == 0 || length > kMaxSiteLength) return Err{where + " has a length over 16 bytes"};
    auto [it, inserted] = run_index.try_emplace(run, static_cast<uint32_t>(patterns.size()));
    if (inserted) {
      for (uint32_t id : run) {
        const PatternSpec& spec = interned_[id];
        Pattern pattern{};
        pattern.kind = static_cast<uint8_t>(spec.kind);
        pattern.length = spec.length;
        pattern.arg = spec.target;
        if (spec.kind == PatternKind::kLiteral) {
          if (spec.literal.size() != spec.length) return Err{std::string("literal pattern size mismatch")};
          auto [lit, fresh] =
              literal_offsets.try_emplace(spec.literal, static_cast<uint32_t>(literal_blob.size()));
          if (fresh) literal_blob.insert(literal_blob.end(), spec.literal.begin(), spec.literal.end());
          pattern.arg = lit->second;
        }
        patterns.push_back(pattern);
      }
    }
    // Every pattern must fit the (merged) site.
    for (uint32_t id : run) {
      if (interned_[id].length == 0 || interned_[id].length > length)
        return Err{where + " has a pattern longer than the site"};
    }
    Site site{};
    site.offset = offset;
    site.kinds = kinds;
    site.length = length;
    site.pattern_count = static_cast<uint8_t>(run.size());
    site.first_pattern = it->second;
    sites.push_back(site);
  }

  StringTable strings;
  std::vector<Function> functions;
  functions.reserve(functions_.size());
  for (const auto& [offset, pending] : functions_) {
    Function function{};
    function.offset = offset;
    function.size = pending.size;
    function.name = strings.intern(pending.name);
    function.flags = pending.flags;
    functions.push_back(function);
  }

  std::vector<PendingObject> pending_objects = objects_;
  std::sort(pending_objects.begin(), pending_objects.end(),
            [](const PendingObject& a, const PendingObject& b) { return a.offset < b.offset; });
  std::vector<CriticalObject> objects;
  for (size_t i = 0; i < pending_objects.size(); ++i) {
    const PendingObject& pending = pending_objects[i];
    if (pending.size == 0) return Err{"critical object " + pending.name + " has size 0"};
    if (i > 0 && pending.offset < uint64_t{pending_objects[i - 1].offset} + pending_objects[i - 1].size) {
      return Err{"critical objects " + pending_objects[i - 1].name + " and " + pending.name + " overlap"};
    }
    CriticalObject object{};
    object.offset = pending.offset;
    object.size = pending.size;
    object.name = strings.intern(pending.name);
    object.protection = static_cast<uint16_t>(pending.protection);
    object.region = static_cast<uint16_t>(pending.region);
    objects.push_back(object);
  }

  auto hashes = module_hashes_;
  std::sort(hashes.begin(), hashes.end());
  std::vector<ModuleHash> module_hashes;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (i > 0 && hashes[i].first == hashes[i - 1].first) continue;
    ModuleHash entry{};
    std::memcpy(entry.sha256, hashes[i].first.data(), 32);
    entry.name = strings.intern(hashes[i].second);
    module_hashes.push_back(entry);
  }

  std::vector<PrivilegedInsn> privileged;
  privileged.reserve(privileged_.size());
  for (const auto& [offset, insn] : privileged_) privileged.push_back(insn);

  // Serialize: header, directory, tables, digest.
  struct Pending {
    TableKind kind;
    uint32_t entry_size;
    const void* data;
    uint64_t count;
  };
  const std::vector<Pending> tables = {
      {TableKind::kRegions, sizeof(Region), regions.data(), regions.size()},
      {TableKind::kSites, sizeof(Site), sites.data(), sites.size()},
      {TableKind::kPatterns, sizeof(Pattern), patterns.data(), patterns.size()},
      {TableKind::kBytes, 1, literal_blob.data(), literal_blob.size()},
      {TableKind::kPrivileged, sizeof(PrivilegedInsn), privileged.data(), privileged.size()},
      {TableKind::kFunctions, sizeof(Function), functions.data(), functions.size()},
      {TableKind::kStrings, 1, strings.blob().data(), strings.blob().size()},
      {TableKind::kObjects, sizeof(CriticalObject), objects.data(), objects.size()},
      {TableKind::kModuleHashes, sizeof(ModuleHash), module_hashes.data(), module_hashes.size()},
  };

  FileHeader header{};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.format_major = kFormatMajor;
  header.format_minor = kFormatMinor;
  header.header_size = sizeof(FileHeader);
  header.serial = serial_;
  header.link_text_va = link_text_va_;
  header.flags = flags_;
  header.table_count = static_cast<uint32_t>(tables.size());
  header.build_id_size = static_cast<uint8_t>(build_id_.size());
  if (!build_id_.empty()) std::memcpy(header.build_id, build_id_.data(), build_id_.size());
  std::strncpy(header.kernel_release, release_.c_str(), sizeof(header.kernel_release) - 1);

  Writer writer;
  writer.put(header);
  const size_t directory_at = writer.size();
  for (size_t i = 0; i < tables.size(); ++i) writer.put(TableEntry{});
  std::vector<TableEntry> directory;
  for (const Pending& table : tables) {
    writer.align8();
    TableEntry entry{};
    entry.kind = static_cast<uint32_t>(table.kind);
    entry.entry_size = table.entry_size;
    entry.offset = writer.size();
    entry.count = table.count;
    const auto* begin = static_cast<const uint8_t*>(table.data);
    if (table.count > 0) {
      writer.bytes().insert(writer.bytes().end(), begin, begin + table.count * table.entry_size);
    }
    directory.push_back(entry);
  }
  writer.align8();
  std::vector<uint8_t>& out = writer.bytes();
  std::memcpy(out.data() + directory_at, directory.data(), directory.size() * sizeof(TableEntry));
  const uint64_t file_size = out.size() + kDigestSize;
  if (file_size > kMaxFileSize) return Err{std::string("policy would exceed the format's size limit")};
  std::memcpy(out.data() + offsetof(FileHeader, file_size), &file_size, sizeof(file_size));
  Sha256Digest digest = Sha256::of(out.data(), out.size());
  out.insert(out.end(), digest.bytes, digest.bytes + kDigestSize);
  return std::move(out);
}

}  // namespace vg::policy
