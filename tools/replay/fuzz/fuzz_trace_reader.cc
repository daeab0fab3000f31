// libFuzzer target for the vgtrace reader: any bytes must give a trace or an
// error with file:line, never a crash, a hang or a read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "replay/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto trace = vg::replay::parse_trace(text, "fuzz");
  if (trace.ok()) {
    // Invariants the replay relies on.
    for (const auto& event : trace.value().events) {
      for (const auto& patch : event.patches)
        if (patch.length == 0 || patch.length > vg::replay::kMaxPatchBytes) __builtin_trap();
      if (event.phase >= trace.value().phases.size()) __builtin_trap();
      // A data record's pieces lie inside its object, in order, and hold at
      // most CHANGED bytes: the replay writes them at their VA unchecked.
      if (event.kind == vg::replay::EventKind::kData) {
        if (event.patches.empty() || event.patches.size() > vg::replay::kMaxDataPieces) __builtin_trap();
        uint64_t held = 0, next = event.va;
        for (const auto& piece : event.patches) {
          if (piece.va < next || piece.va + piece.length > event.va + event.size) __builtin_trap();
          next = piece.va + piece.length;
          held += piece.length;
        }
        if (held > event.value || event.value > event.size) __builtin_trap();
      }
    }
  } else if (trace.error().rfind("fuzz:", 0) != 0) {
    __builtin_trap();
  }
  return 0;
}
