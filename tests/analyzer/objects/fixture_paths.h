// Where the critical-objects fixture kernels are (built by CMakeLists.txt),
// and a helper that runs the stage on one of them.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "analyzer/elf_image.h"
#include "analyzer/model.h"
#include "analyzer/stages.h"

namespace vg::analyzer::testing {

inline std::string fixture_path(std::string_view name) {
  return std::string(VG_OBJECTS_FIXTURE_DIR) + "/" + std::string(name);
}

inline const CriticalObjectInfo* find_object(const Analysis& analysis, std::string_view name) {
  for (const CriticalObjectInfo& object : analysis.objects) {
    if (object.name == name) return &object;
  }
  return nullptr;
}

// Notes that contain `needle`.
inline int count_notes(const Analysis& analysis, std::string_view needle) {
  int count = 0;
  for (const std::string& note : analysis.notes) {
    if (note.find(needle) != std::string::npos) ++count;
  }
  return count;
}

}  // namespace vg::analyzer::testing
