#include "analyzer/objects/btf_sizes.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <unordered_set>

namespace vg::analyzer {
namespace {

// libbpf reports parse errors through a global print callback; capture the
// last message so the diagnostic says what is wrong instead of printing to
// stderr behind the caller's back. The analyzer parses BTF on one thread.
thread_local std::string* g_libbpf_message = nullptr;

int capture_libbpf_message(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG || g_libbpf_message == nullptr) return 0;
  char line[256];
  int written = vsnprintf(line, sizeof(line), format, args);
  if (written > 0) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.rfind("libbpf: ", 0) == 0) text.erase(0, 8);
    *g_libbpf_message = std::move(text);
  }
  return 0;
}

// "struct apic *" -> "struct apic": a pointer is sized by the BTF pointer
// size once its pointee is known to this kernel's BTF.
bool strip_pointer(std::string_view& declared) {
  if (declared.size() < 2 || declared.substr(declared.size() - 2) != " *") return false;
  declared.remove_suffix(2);
  return true;
}

// "struct cred" -> (BTF_KIND_STRUCT, "cred"); "u64" -> (0, "u64"), where 0
// stands for "a typedef, a base type or an enum of that name".
std::pair<uint32_t, std::string_view> split_declared_type(std::string_view declared) {
  strip_pointer(declared);
  constexpr std::pair<std::string_view, uint32_t> kPrefixes[] = {
      {"struct ", BTF_KIND_STRUCT}, {"union ", BTF_KIND_UNION}, {"enum ", BTF_KIND_ENUM}};
  for (const auto& [prefix, kind] : kPrefixes) {
    if (declared.substr(0, prefix.size()) == prefix) return {kind, declared.substr(prefix.size())};
  }
  return {0, declared};
}

std::string type_key(uint32_t kind, std::string_view name) {
  std::string key = std::to_string(kind);
  key += ':';
  key += name;
  return key;
}

}  // namespace

void BtfIndex::BtfDeleter::operator()(struct btf* handle) const {
  btf__free(handle);
}

BtfIndex::BtfIndex(BtfIndex&&) noexcept = default;
BtfIndex& BtfIndex::operator=(BtfIndex&&) noexcept = default;
BtfIndex::~BtfIndex() = default;

Result<BtfIndex, std::string> BtfIndex::parse(ByteView bytes, std::span<const std::string_view> variables,
                                              std::span<const std::string_view> types) {
  if (bytes.size == 0) return Err{std::string("empty .BTF section")};
  if (bytes.size > UINT32_MAX) return Err{std::string(".BTF section larger than 4 GiB")};

  std::string libbpf_message;
  g_libbpf_message = &libbpf_message;
  libbpf_print_fn_t previous = libbpf_set_print(capture_libbpf_message);
  struct btf* raw = btf__new(bytes.data, static_cast<uint32_t>(bytes.size));
  int error = raw == nullptr ? -errno : static_cast<int>(libbpf_get_error(raw));
  libbpf_set_print(previous);
  g_libbpf_message = nullptr;
  if (raw == nullptr || error != 0) {
    std::string message = "corrupt .BTF section (libbpf: ";
    message += libbpf_message.empty() ? std::strerror(-error) : libbpf_message;
    message += ")";
    return Err{std::move(message)};
  }

  BtfIndex index;
  index.btf_.reset(raw);
  index.type_count_ = btf__type_cnt(raw);

  std::unordered_set<std::string_view> wanted_variables(variables.begin(), variables.end());
  std::unordered_set<std::string> wanted_types;
  for (std::string_view declared : types) {
    if (declared.empty()) continue;
    auto [kind, name] = split_declared_type(declared);
    wanted_types.insert(type_key(kind, name));
  }

  // One pass: remember wanted VARs and the DATASEC placement of every VAR.
  std::unordered_map<uint32_t, uint64_t> var_offsets;  // VAR type id -> DATASEC offset
  std::unordered_map<uint32_t, uint64_t> var_extents;  // VAR type id -> DATASEC size
  std::vector<std::pair<std::string, uint32_t>> found_vars;
  for (uint32_t id = 1; id < index.type_count_; ++id) {
    const struct btf_type* type = btf__type_by_id(raw, id);
    if (type == nullptr) break;
    const char* name_ptr = btf__name_by_offset(raw, type->name_off);
    std::string_view name = name_ptr != nullptr ? name_ptr : "";
    uint32_t kind = btf_kind(type);
    if (kind == BTF_KIND_DATASEC) {
      const struct btf_var_secinfo* info = btf_var_secinfos(type);
      for (uint16_t i = 0; i < btf_vlen(type); ++i) {
        var_offsets[info[i].type] = info[i].offset;
        var_extents[info[i].type] = info[i].size;
      }
      continue;
    }
    if (name.empty()) continue;
    if (kind == BTF_KIND_VAR) {
      if (wanted_variables.contains(name)) found_vars.emplace_back(std::string(name), id);
      continue;
    }
    uint32_t lookup_kind = 0;
    switch (kind) {
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION: lookup_kind = kind; break;
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        // An enum is found both as "enum x" and, for typedef-like use, not at all.
        lookup_kind = BTF_KIND_ENUM;
        break;
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_INT: lookup_kind = 0; break;
      default: continue;
    }
    std::string key = type_key(lookup_kind, name);
    if (!wanted_types.contains(key) || index.type_sizes_.contains(key)) continue;
    __s64 size = btf__resolve_size(raw, id);
    // A size-less struct (forward-declared as a STRUCT with vlen 0 and size 0)
    // does not answer the question; a later complete definition may.
    // A pointee may be a struct with no members in this BTF (only ever used
    // through pointers); its existence is enough for a pointer.
    if (size > 0 || kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION) {
      index.type_sizes_.emplace(std::move(key), static_cast<uint64_t>(size > 0 ? size : 0));
    }
  }

  for (auto& [name, id] : found_vars) {
    BtfVariable variable;
    if (auto extent = var_extents.find(id); extent != var_extents.end() && extent->second != 0) {
      variable.size = extent->second;
    } else {
      const struct btf_type* var = btf__type_by_id(raw, id);
      __s64 size = var != nullptr ? btf__resolve_size(raw, var->type) : -1;
      if (size <= 0) continue;  // an unsized VAR tells us nothing
      variable.size = static_cast<uint64_t>(size);
    }
    if (auto offset = var_offsets.find(id); offset != var_offsets.end())
      variable.section_offset = offset->second;
    index.variables_[name].push_back(variable);
  }
  return index;
}

std::span<const BtfVariable> BtfIndex::variables(std::string_view name) const {
  auto found = variables_.find(std::string(name));
  if (found == variables_.end()) return {};
  return found->second;
}

std::optional<uint64_t> BtfIndex::type_size(std::string_view declared_type) const {
  bool pointer = strip_pointer(declared_type);
  auto [kind, name] = split_declared_type(declared_type);
  auto found = type_sizes_.find(type_key(kind, name));
  if (found == type_sizes_.end()) return std::nullopt;
  if (pointer) {
    size_t pointer_size = btf__pointer_size(btf_.get());
    if (pointer_size == 0) return std::nullopt;
    return pointer_size;
  }
  if (found->second == 0) return std::nullopt;  // known but incomplete
  return found->second;
}

}  // namespace vg::analyzer
