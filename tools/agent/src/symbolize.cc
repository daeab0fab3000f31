#include "agent/symbolize.h"

#include <algorithm>
#include <cstring>

namespace vg::agent {

bool RuntimeMap::add_module(const Module& module) {
  remove_module(module.name.data(), module.name_length);
  if (modules_.size() >= kMaxModules) {
    return false;
  }
  modules_.push_back(module);
  return true;
}

void RuntimeMap::remove_module(const char* name, uint8_t name_length) {
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
  remove_code(code.base);
  if (code_.size() >= kMaxCode) {
    code_.erase(code_.begin());
  }
  code_.push_back(code);
}

void RuntimeMap::remove_code(uint64_t base) {
  std::erase_if(code_, [&](const Code& c) { return c.base == base; });
}

const RuntimeMap::Code* RuntimeMap::find_code(uint64_t address) const {
  // Newest first: a reused address belongs to the latest registration.
  for (auto it = code_.rbegin(); it != code_.rend(); ++it) {
    if (address - it->base < it->size) return &*it;
  }
  return nullptr;
}

Symbolizer::Symbolizer(const policy::PolicyView& policy, uint64_t runtime_text, const RuntimeMap& runtime)
    : policy_(policy), runtime_text_(runtime_text), image_size_(0), runtime_(runtime) {
  // The image spans from _text to the end of the last region the policy knows.
  for (const auto& region : policy.regions()) {
    image_size_ = std::max(image_size_, region.start + region.size);
  }
  cache_.resize(kCacheEntries);
  const auto functions = policy.functions();
  const uint64_t pages = std::min<uint64_t>(image_size_, uint64_t{UINT32_MAX} + 1) / 4096 + 2;
  page_first_.resize(pages);
  uint64_t index = 0;
  for (uint64_t page = 0; page < pages; ++page) {
    while (index < functions.count && functions[index].offset < page * 4096) ++index;
    page_first_[page] = static_cast<uint32_t>(index);
  }
}

const policy::Function* Symbolizer::function_at(uint32_t offset) const {
  CacheEntry& entry = cache_[(offset * 0x9e3779b1u) >> 20 & (kCacheEntries - 1)];
  if (entry.offset == offset) return entry.function;
  entry.offset = offset;
  entry.function = lookup_function(offset);
  return entry.function;
}

const policy::Function* Symbolizer::lookup_function(uint32_t offset) const {
  const auto functions = policy_.functions();
  const uint64_t page = offset / 4096;
  if (page + 1 >= page_first_.size()) return policy_.find_function(offset);
  // The answer is the last function starting at or before `offset`: among
  // those starting in this page, or else the last one before the page.
  uint64_t low = page_first_[page];
  uint64_t high = page_first_[page + 1];
  while (low < high) {
    const uint64_t mid = low + (high - low) / 2;
    if (functions[mid].offset <= offset) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  if (low == 0) return nullptr;
  const policy::Function& function = functions[low - 1];
  const uint32_t size = function.size == 0 ? 1 : function.size;
  return offset - function.offset < size ? &function : nullptr;
}

const policy::Site* Symbolizer::site_at_or_before(uint32_t offset) const {
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

std::optional<uint32_t> Symbolizer::text_offset(uint64_t address) const {
  const uint64_t offset = address - runtime_text_;  // wraps for addresses below _text
  if (offset >= image_size_ || offset > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(offset);
}

Symbol Symbolizer::symbolize(uint64_t address) const {
  Symbol symbol;
  if (auto offset = text_offset(address)) {
    if (const auto* function = function_at(*offset)) {
      symbol.space = Space::kKernel;
      symbol.kernel_name = policy_.string(function->name);
      symbol.offset = *offset - function->offset;
      return symbol;
    }
    if (const auto* object = policy_.find_object(*offset)) {
      symbol.space = Space::kKernel;
      symbol.kernel_name = policy_.string(object->name);
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
