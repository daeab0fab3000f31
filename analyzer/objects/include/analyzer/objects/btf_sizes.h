// Sizes of kernel variables and types from a .BTF section.
//
// The section bytes are hostile input: libbpf's btf__new() checks the header,
// the string section and every type record's extent; every lookup after that
// goes through libbpf accessors that bound-check type ids and string offsets.
// The index is built in one pass over the types and keeps only the names it
// was asked for, so a lookup costs a hash probe (the 6.12 vmlinux BTF has
// about 150k types; building the index takes milliseconds).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/types.h"

struct btf;  // libbpf

namespace vg::analyzer {

struct BtfVariable {
  uint64_t size = 0;
  // Where the variable sits in its DATASEC (vmlinux BTF: per-CPU variables,
  // whose symbol value is that offset), if a DATASEC lists it.
  std::optional<uint64_t> section_offset;
};

class BtfIndex {
 public:
  // Parses `bytes` and indexes the VAR entries named in `variables` and the
  // types named in `types` ("struct cred", "union x", "enum y", a typedef or
  // base type name such as "u64" or "long unsigned int", or any of these
  // followed by " *" for a pointer to it).
  static Result<BtfIndex, std::string> parse(ByteView bytes, std::span<const std::string_view> variables,
                                             std::span<const std::string_view> types);

  BtfIndex(BtfIndex&&) noexcept;
  BtfIndex& operator=(BtfIndex&&) noexcept;
  ~BtfIndex();

  // Every VAR with this name (static per-CPU variables may repeat a name).
  std::span<const BtfVariable> variables(std::string_view name) const;
  // Size of the named type, or nullopt if BTF does not have it (or it has
  // no size, like a forward declaration).
  std::optional<uint64_t> type_size(std::string_view declared_type) const;
  uint32_t type_count() const { return type_count_; }

 private:
  BtfIndex() = default;
  struct BtfDeleter {
    void operator()(struct btf* handle) const;
  };
  std::unique_ptr<struct btf, BtfDeleter> btf_;
  uint32_t type_count_ = 0;
  std::unordered_map<std::string, std::vector<BtfVariable>> variables_;
  std::unordered_map<std::string, uint64_t> type_sizes_;
};

}  // namespace vg::analyzer
