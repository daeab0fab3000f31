#include "agent/symbolize.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace vg::agent {

bool RuntimeMap::add_module(const Module& module) {
  ++generation_;
  remove_module(module.name.data(), module.name_length);
  if (modules_.size() >= kMaxModules) {
    return false;
  }
  modules_.push_back(module);
  return true;
}

void RuntimeMap::remove_module(const char* name, uint8_t name_length) {
  ++generation_;
  std::erase_if(modules_, [&](const Module& m) {
    return m.name_length == name_length && std::memcmp(m.name.data(), name, name_length) == 0;
  });
}

const RuntimeMap::Module* RuntimeMap::find_module(uint64_t address, bool* in_init) const {
  for (const auto& module : modules_) {
    if (address - module.base < module.size) {
      if (in_init != nullptr) *in_init = false;
      return &module;
    }
    if (module.init_size != 0 && address - module.init_base < module.init_size) {
      if (in_init != nullptr) *in_init = true;
      return &module;
    }
  }
  return nullptr;
}

void RuntimeMap::add_code(const Code& code) {
  ++generation_;
  remove_code(code.base);
  if (code_.size() >= kMaxCode) {
    code_.erase(code_.begin());
  }
  code_.push_back(code);
}

void RuntimeMap::remove_code(uint64_t base) {
  ++generation_;
  std::erase_if(code_, [&](const Code& c) { return c.base == base; });
}

const RuntimeMap::Code* RuntimeMap::find_code(uint64_t address) const {
  // Newest first: a reused address belongs to the latest registration.
  for (auto it = code_.rbegin(); it != code_.rend(); ++it) {
    if (address - it->base < it->size) return &*it;
  }
  return nullptr;
}

namespace {

// 2^8-byte buckets: in the 6.12 image a function lookup meets 5.5 keys in its
// bucket on average (functions cluster; 9.6 with 2^9), and the bucket table
// of 159k entries (up to the last init function) stays under 640 KiB.
constexpr unsigned kFunctionBucketShift = 8;
constexpr unsigned kSiteBucketShift = 8;

}  // namespace

Symbolizer::Symbolizer(const policy::PolicyView& policy, uint64_t runtime_text, const RuntimeMap& runtime,
                       LookupMode mode)
    : policy_(policy), runtime_text_(runtime_text), image_size_(0), runtime_(runtime), mode_(mode) {
  // The image spans from _text to the end of the last region the policy knows.
  for (const auto& region : policy.regions()) {
    image_size_ = std::max(image_size_, region.start + region.size);
  }
  if (mode_ != LookupMode::kIndexed) return;
  const auto functions = policy.functions();
  std::vector<uint32_t> starts(functions.count);
  function_info_.resize(functions.count);
  for (uint64_t i = 0; i < functions.count; ++i) {
    const policy::Function& function = functions[i];
    starts[i] = function.offset;
    const char* name = policy.string(function.name);
    function_info_[i] =
        FunctionInfo{name, static_cast<uint32_t>(std::strlen(name)), function.size == 0 ? 1 : function.size};
  }
  functions_ = OffsetIndex(std::move(starts), kFunctionBucketShift);
  const auto sites = policy.sites();
  std::vector<uint32_t> site_starts(sites.count);
  for (uint64_t i = 0; i < sites.count; ++i) site_starts[i] = sites[i].offset;
  sites_ = OffsetIndex(std::move(site_starts), kSiteBucketShift);
  recent_.fill(Recent{UINT32_MAX, lookup_function_index(UINT32_MAX)});
}

size_t Symbolizer::index_bytes() const {
  return functions_.memory_bytes() + sites_.memory_bytes() + function_info_.capacity() * sizeof(FunctionInfo);
}

uint32_t Symbolizer::function_index(uint32_t offset) const {
  Recent& entry = recent_[(offset * 0x9e3779b1u) >> 22];
  static_assert(kRecentEntries == 1u << (32 - 22));
  if (entry.offset == offset) return entry.index;
  entry = Recent{offset, lookup_function_index(offset)};
  return entry.index;
}

uint32_t Symbolizer::lookup_function_index(uint32_t offset) const {
  const uint32_t i = functions_.last_at_or_below(offset);
  if (i == OffsetIndex::kNone) return OffsetIndex::kNone;
  return offset - functions_.key(i) < function_info_[i].extent ? i : OffsetIndex::kNone;
}

const policy::Function* Symbolizer::function_at(uint32_t offset) const {
  if (mode_ == LookupMode::kReference) return policy_.find_function(offset);
  const uint32_t i = function_index(offset);
  return i == OffsetIndex::kNone ? nullptr : &policy_.functions()[i];
}

bool Symbolizer::is_function_start(uint32_t offset) const {
  if (mode_ == LookupMode::kReference) return policy_.is_function_start(offset);
  return functions_.find(offset) != OffsetIndex::kNone;
}

const policy::Site* Symbolizer::site_at(uint32_t offset) const {
  if (mode_ == LookupMode::kReference) return policy_.find_site(offset);
  const uint32_t i = sites_.find(offset);
  return i == OffsetIndex::kNone ? nullptr : &policy_.sites()[i];
}

const policy::Site* Symbolizer::site_at_or_before(uint32_t offset) const {
  if (mode_ == LookupMode::kIndexed) {
    const uint32_t i = sites_.last_at_or_below(offset);
    return i == OffsetIndex::kNone ? nullptr : &policy_.sites()[i];
  }
  const auto sites = policy_.sites();
  uint64_t low = 0;
  uint64_t high = sites.count;
  while (low < high) {
    const uint64_t mid = low + (high - low) / 2;
    if (sites[mid].offset <= offset) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low == 0 ? nullptr : &sites[low - 1];
}

void Symbolizer::prefetch(uint64_t address, unsigned step) const {
  const auto offset = text_offset(address);
  if (!offset || mode_ != LookupMode::kIndexed) return;
  switch (step) {
    case 0:
      __builtin_prefetch(&recent_[(*offset * 0x9e3779b1u) >> 22]);
      functions_.prefetch_bucket(*offset);
      sites_.prefetch_bucket(*offset);
      return;
    case 1:
      functions_.prefetch_keys(*offset);
      sites_.prefetch_keys(*offset);
      return;
    case 2:
    case 3: {
      const uint32_t function = functions_.last_at_or_below(*offset);
      const uint32_t site = sites_.last_at_or_below(*offset);
      if (step == 2) {
        if (function != OffsetIndex::kNone) __builtin_prefetch(&function_info_[function]);
        if (site != OffsetIndex::kNone) __builtin_prefetch(&policy_.sites()[site]);
        return;
      }
      if (function != OffsetIndex::kNone) __builtin_prefetch(function_info_[function].name);
      if (site != OffsetIndex::kNone) {
        const policy::Site& record = policy_.sites()[site];
        if (record.first_pattern < policy_.patterns().count) {
          __builtin_prefetch(&policy_.patterns()[record.first_pattern]);
        }
      }
      return;
    }
    default: return;
  }
}

Symbol Symbolizer::symbolize(uint64_t address) const {
  Symbol symbol;
  if (auto offset = text_offset(address)) {
    if (mode_ == LookupMode::kIndexed) {
      const uint32_t i = function_index(*offset);
      if (i != OffsetIndex::kNone) {
        symbol.space = Space::kKernel;
        symbol.kernel_name = function_info_[i].name;
        symbol.kernel_name_length = function_info_[i].name_length;
        symbol.offset = *offset - functions_.key(i);
        return symbol;
      }
    } else if (const auto* function = policy_.find_function(*offset)) {
      symbol.space = Space::kKernel;
      symbol.kernel_name = policy_.string(function->name);
      symbol.kernel_name_length = static_cast<uint32_t>(std::strlen(symbol.kernel_name));
      symbol.offset = *offset - function->offset;
      return symbol;
    }
    if (const auto* object = policy_.find_object(*offset)) {
      symbol.space = Space::kKernel;
      symbol.kernel_name = policy_.string(object->name);
      symbol.kernel_name_length = static_cast<uint32_t>(std::strlen(symbol.kernel_name));
      symbol.offset = *offset - object->offset;
      return symbol;
    }
    return symbol;
  }
  bool in_init = false;
  if (const auto* module = runtime_.find_module(address, &in_init)) {
    symbol.space = Space::kModule;
    symbol.module_name = module->name;
    symbol.module_name_length = module->name_length;
    symbol.module_init = in_init;
    symbol.offset = address - (in_init ? module->init_base : module->base);
    return symbol;
  }
  if (const auto* code = runtime_.find_code(address)) {
    symbol.space = Space::kRuntimeCode;
    symbol.module_name = code->name;
    symbol.module_name_length = code->name_length;
    symbol.offset = address - code->base;
  }
  return symbol;
}

const policy::CriticalObject* Symbolizer::object_at(uint64_t address) const {
  auto offset = text_offset(address);
  return offset ? policy_.find_object(*offset) : nullptr;
}

}  // namespace vg::agent
