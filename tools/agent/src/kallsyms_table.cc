#include "agent/kallsyms_table.h"

#include <algorithm>

#include "base/hex.h"

namespace vg::agent {

KallsymsTable KallsymsTable::parse(std::string_view text) {
  KallsymsTable table;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    // "ADDRESS TYPE NAME[\t[MODULE]]"
    const size_t first = line.find(' ');
    if (first == std::string_view::npos || first + 3 > line.size() || line[first + 2] != ' ') continue;
    const char type = line[first + 1];
    if (type != 't' && type != 'T') continue;
    uint64_t address = 0;
    if (!parse_hex_u64(line.substr(0, first), address, HexCase::kEither) || address == 0) continue;
    std::string_view name = line.substr(first + 3);
    const size_t tab = name.find('\t');
    const bool in_module = tab != std::string_view::npos;
    if (in_module) name = "[mod]";
    if (name.empty() || name.size() > 255) continue;
    table.entries_.push_back(
        Entry{address, static_cast<uint32_t>(table.names_.size()), static_cast<uint32_t>(name.size())});
    table.names_.append(name);
  }
  std::stable_sort(table.entries_.begin(), table.entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.address < b.address; });
  return table;
}

std::string_view KallsymsTable::function_at(uint64_t address) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), address,
                             [](uint64_t value, const Entry& entry) { return value < entry.address; });
  if (it == entries_.begin()) return {};
  --it;
  return std::string_view(names_).substr(it->name_offset, it->name_length);
}

}  // namespace vg::agent
