// collect_kernel_info: identity of the kernel and its special-section layout.
#include <chrono>

#include "analyzer/layout.h"
#include "analyzer/site_tables.h"
#include "analyzer/stages.h"

namespace vg::analyzer {
namespace {

bool executable_at(const ElfImage& image, uint64_t va) {
  const Section* section = image.section_at(va);
  return section != nullptr && section->executable();
}

// True if every entry of `table`, read with `entry_size`, has its
// instruction and replacement inside executable sections.
bool alternatives_fit(const ElfImage& image, const Table& table, uint64_t entry_size) {
  if (table.bytes.size == 0 || table.bytes.size % entry_size != 0) return false;
  const uint64_t count = table.bytes.size / entry_size;
  const uint64_t length_at = entry_size == kAltEntry61 ? 10 : 12;
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* entry = table.bytes.data + i * entry_size;
    const uint64_t va = table.address + i * entry_size;
    const uint64_t instr = self_relative(va, entry);
    const uint64_t repl = self_relative(va + 4, entry + 4);
    const uint8_t instr_length = entry[length_at];
    const uint8_t repl_length = entry[length_at + 1];
    if (!executable_at(image, instr)) return false;
    if (repl_length > 0 && !executable_at(image, repl)) return false;
    if (instr_length == 0 && repl_length == 0) return false;
  }
  return true;
}

}  // namespace

const char* layout_name(KernelLayout layout) {
  switch (layout) {
    case KernelLayout::kLinux61: return "6.1";
    case KernelLayout::kLinux612: return "6.12";
    case KernelLayout::kUnknown: break;
  }
  return "unknown";
}

Result<KernelLayout, Diagnostic> detect_layout(const ElfImage& image) {
  const bool hints_61 = image.symbol("__parainstructions") != nullptr;
  const bool hints_612 = image.symbol("__call_sites") != nullptr ||
                         image.symbol("__ibt_endbr_seal") != nullptr ||
                         image.symbol("__start_runtime_shift_d_hash_shift") != nullptr;
  auto table = VG_TRY(find_table(
      image, {".altinstructions", "__alt_instructions", "__alt_instructions_end", ".altinstructions"}));
  if (!table || table->bytes.size == 0) {
    if (hints_61 != hints_612) return hints_61 ? KernelLayout::kLinux61 : KernelLayout::kLinux612;
    return KernelLayout::kUnknown;
  }
  const bool fits_61 = alternatives_fit(image, *table, kAltEntry61);
  const bool fits_612 = alternatives_fit(image, *table, kAltEntry612);
  if (fits_61 && !fits_612) return KernelLayout::kLinux61;
  if (fits_612 && !fits_61) return KernelLayout::kLinux612;
  if (fits_61 && fits_612) return hints_61 && !hints_612 ? KernelLayout::kLinux61 : KernelLayout::kLinux612;
  if (table->bytes.size % kAltEntry61 != 0 && table->bytes.size % kAltEntry612 != 0) {
    return Err{image.error(".altinstructions: size " + std::to_string(table->bytes.size) +
                           " is not a multiple of its entry size (12 in 6.1, 14 in 6.12)")};
  }
  return Err{
      image.error(".altinstructions: entries point outside kernel text under both the 6.1 (12-byte) "
                  "and the 6.12 (14-byte) layout")};
}

Result<void, Diagnostic> collect_kernel_info(const ElfImage& image, Analysis& out) {
  const auto started = std::chrono::steady_clock::now();
  out.kernel.path = image.path();
  out.kernel.release = image.release();
  out.kernel.build_id = image.build_id();
  out.kernel.text_va = image.text_base();
  out.kernel.layout = VG_TRY(detect_layout(image));
  if (out.kernel.build_id.empty())
    out.notes.push_back("no GNU build-id note: the policy cannot be bound to this build");
  if (out.kernel.release.empty()) out.notes.push_back("no Linux release note");
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  out.timings.push_back({"kernel_info", took.count()});
  return Ok{};
}

}  // namespace vg::analyzer
