// Text symbols of /proc/kallsyms, sorted, to name the function a stack frame
// is in. Record mode uses it to tell which kernel machinery asked for a text
// patch when no origin probe marked the thread (ftrace's own functions cannot
// be probed). Parsed from untrusted text: malformed lines are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vg::agent {

class KallsymsTable {
 public:
  static KallsymsTable parse(std::string_view kallsyms_text);

  // The name of the text symbol at or below `address`, or "" when there is
  // none (or the symbol belongs to a module: modules are named "[mod]" here
  // and never asked for an origin).
  std::string_view function_at(uint64_t address) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t address;
    uint32_t name_offset;
    uint32_t name_length;
  };
  std::vector<Entry> entries_;
  std::string names_;
};

}  // namespace vg::agent
