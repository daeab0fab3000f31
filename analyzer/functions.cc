// collect_functions: every STT_FUNC symbol in executable code, for
// symbolization and for the "call any function" patterns of static calls.
#include <elf.h>

#include <algorithm>
#include <chrono>

#include "analyzer/layout.h"
#include "analyzer/stages.h"

namespace vg::analyzer {

Result<void, Diagnostic> collect_functions(const ElfImage& image, Analysis& out) {
  const auto started = std::chrono::steady_clock::now();
  const AddressRange init = init_range(image);
  std::vector<FunctionInfo> functions;
  functions.reserve(image.symbols().size() / 2);
  for (const Symbol& symbol : image.symbols()) {
    if (symbol.type != STT_FUNC) continue;
    const Section* home = image.section_at(symbol.value);
    // A function symbol outside executable code (ELF allows it) is not code
    // the monitor executes; the symbol table was validated in open().
    if (home == nullptr || !home->executable()) continue;
    FunctionInfo function;
    function.name = std::string(symbol.name);
    function.address = symbol.value;
    function.size = symbol.size;
    function.init = init.contains(symbol.value);
    functions.push_back(std::move(function));
  }
  // symbols() is sorted by address already; keep it stable for aliases.
  std::stable_sort(functions.begin(), functions.end(),
                   [](const FunctionInfo& a, const FunctionInfo& b) { return a.address < b.address; });
  out.functions = std::move(functions);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  out.timings.push_back({"functions", took.count()});
  return Ok{};
}

}  // namespace vg::analyzer
