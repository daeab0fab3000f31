#include "analyzer/objects/object_sizing.h"

namespace vg::analyzer {
namespace {

bool accept(std::string_view name, std::string_view source, std::optional<uint64_t> size,
            const SizeEvidence& evidence, SizeChoice& choice) {
  if (!size) return false;
  std::string prefix =
      std::string(name) + ": " + std::string(source) + " gives " + std::to_string(*size) + " bytes";
  if (*size > evidence.room) {
    choice.notes.push_back(prefix + ", past the end of its section (" + std::to_string(evidence.room) +
                           " bytes left); ignored");
    return false;
  }
  if (evidence.symbol_size != 0 && *size != evidence.symbol_size) {
    choice.notes.push_back(prefix + " but the symbol is " + std::to_string(evidence.symbol_size) +
                           " bytes; ignored");
    return false;
  }
  choice.size = *size;
  choice.source = std::string(source);
  return true;
}

}  // namespace

SizeChoice choose_size(std::string_view name, const SizeEvidence& evidence) {
  SizeChoice choice;
  if (accept(name, "BTF", evidence.btf_size, evidence, choice)) return choice;
  if (accept(name, "DWARF", evidence.dwarf_size, evidence, choice)) return choice;
  if (evidence.symbol_size != 0 && evidence.symbol_size <= evidence.room) {
    choice.size = evidence.symbol_size;
    choice.source = "symbol";
    return choice;
  }
  if (evidence.symbol_size > evidence.room) {
    choice.notes.push_back(std::string(name) + ": the symbol's " + std::to_string(evidence.symbol_size) +
                           " bytes run past the end of its section; size unknown");
  } else {
    choice.notes.push_back(std::string(name) + ": no size in BTF, DWARF or the symbol table; size unknown");
  }
  choice.size = 0;
  choice.source = "none";
  return choice;
}

}  // namespace vg::analyzer
