// collect_privileged (analyzer/stages.h): the aligned sweep, then the
// unintended scan, then one PrivilegedSite per finding with its function,
// offset and text.
#include <algorithm>
#include <string>

#include "analyzer/insn/classify.h"
#include "analyzer/insn/decoder.h"
#include "analyzer/insn/elf_code_map.h"
#include "analyzer/insn/function_locator.h"
#include "analyzer/insn/sweep.h"
#include "analyzer/insn/unintended.h"
#include "analyzer/stages.h"

namespace vg::analyzer {
namespace {

// Two threads: the machines this runs on have two cores, and the sweep is
// the only long stage that splits cleanly (by function ranges).
constexpr insn::SweepOptions kSweepOptions{2, insn::SweepExtent::kToLastCandidate};
constexpr std::string_view kStage = "privileged";

PrivilegedSite make_site(const insn::FoundInsn& found, const insn::CodeSection& section,
                         const insn::FunctionLocator& locator, insn::Decoder& decoder) {
  PrivilegedSite site;
  site.address = found.address;
  site.kind = found.kind;
  site.length = found.length;
  site.unintended = found.unintended;
  site.replacement = section.replacement;
  const uint64_t offset = found.address - section.address;
  site.disassembly =
      decoder.disassemble(section.bytes.data + offset, section.bytes.size - offset, found.address);
  // Replacement code has no symbols of its own: it runs wherever an
  // alternative copies it, so it is reported by section, not by function.
  const insn::Located located = section.replacement ? insn::Located{} : locator.locate(found.address);
  site.function = std::string(located.name);
  site.function_offset = located.name.empty() ? offset : found.address - located.start;
  site.init = section.init || (located.function != nullptr && located.function->init);
  return site;
}

}  // namespace

Result<void, Diagnostic> collect_privileged(const ElfImage& image, Analysis& out, const Progress& progress) {
  const std::vector<insn::CodeSection> sections = insn::code_sections(image, out.functions);
  if (sections.empty()) return Err{image.error("no executable section to analyze")};

  const insn::SweepProgress sweep_progress = [&progress](uint64_t done, uint64_t total) {
    if (progress) progress(kStage, done, total);
  };
  auto swept = insn::sweep_code(sections, kSweepOptions, sweep_progress);
  if (!swept.ok()) return Err{image.error(swept.error())};

  auto decoder = insn::Decoder::open();
  if (!decoder.ok()) return Err{image.error(decoder.error())};
  insn::UnintendedStats unintended_stats;
  const std::vector<insn::FoundInsn> unintended =
      insn::find_unintended(sections, *swept, *decoder, &unintended_stats);

  const insn::FunctionLocator locator(image, out.functions);
  out.privileged.clear();
  out.privileged.reserve(swept->aligned.size() + unintended.size());
  const std::vector<insn::FoundInsn>& aligned = swept->aligned;
  for (const std::vector<insn::FoundInsn>* list : {&aligned, &unintended}) {
    for (const insn::FoundInsn& found : *list) {
      out.privileged.push_back(make_site(found, sections[found.section], locator, *decoder));
    }
  }
  std::stable_sort(out.privileged.begin(), out.privileged.end(),
                   [](const PrivilegedSite& a, const PrivilegedSite& b) { return a.address < b.address; });

  const insn::SweepStats& stats = swept->stats;
  out.notes.push_back("privileged: decoded " + std::to_string(stats.instructions) + " instructions in " +
                      std::to_string(sections.size()) + " code sections, skipping " +
                      std::to_string(stats.bytes_skipped) + " bytes past the last candidate opcode (" +
                      std::to_string(stats.segments) + " restart ranges, " + std::to_string(stats.overruns) +
                      " ending out of step, " + std::to_string(stats.gap_decoded) +
                      " decoded by the Capstone gap layer, " + std::to_string(stats.undecodable) +
                      " undecodable bytes skipped)");
  out.notes.push_back("privileged: " + std::to_string(swept->aligned.size()) + " aligned and " +
                      std::to_string(unintended.size()) + " unintended sites (" +
                      std::to_string(unintended_stats.candidates) + " candidate opcodes, " +
                      std::to_string(unintended_stats.decoded) + " decoded)");
  return Ok{};
}

}  // namespace vg::analyzer
