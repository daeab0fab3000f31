// libFuzzer target for the two passes over arbitrary code bytes: every
// finding lies inside the section, the bounded sweep finds exactly what the
// full sweep finds, and the unintended pass never reads past the section.
// The first input byte spaces the restart points, as function symbols would.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "analyzer/insn/sweep.h"
#include "analyzer/insn/unintended.h"

using namespace vg::analyzer::insn;

namespace {

void check_inside(const std::vector<FoundInsn>& found, const CodeSection& section) {
  for (const FoundInsn& insn : found) {
    if (insn.address < section.address) std::abort();
    const uint64_t offset = insn.address - section.address;
    if (offset >= section.bytes.size || insn.length == 0 || insn.length > section.bytes.size - offset)
      std::abort();
  }
}

bool same(const std::vector<FoundInsn>& a, const std::vector<FoundInsn>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].address != b[i].address || a[i].kind != b[i].kind || a[i].length != b[i].length) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // An exact-size copy, so that ASan catches any read past the section.
  const std::vector<uint8_t> code(data + 1, data + size);
  CodeSection section;
  section.name = ".text";
  section.address = 0xffffffff81000000;
  section.bytes = vg::ByteView{code.data(), code.size()};
  const uint64_t spacing = data[0] == 0 ? code.size() : data[0];
  for (uint64_t at = 0; at < code.size(); at += spacing) section.restarts.push_back(at);
  const std::vector<CodeSection> sections{section};

  auto full = sweep_code(sections, {2, SweepExtent::kFull}, nullptr);
  auto bounded = sweep_code(sections, {1, SweepExtent::kToLastCandidate}, nullptr);
  if (!full.ok() || !bounded.ok()) std::abort();
  auto decoder = Decoder::open();
  if (!decoder.ok()) std::abort();
  const std::vector<FoundInsn> full_unintended = find_unintended(sections, *full, *decoder);
  const std::vector<FoundInsn> bounded_unintended = find_unintended(sections, *bounded, *decoder);
  check_inside(full->aligned, section);
  check_inside(full_unintended, section);
  if (!same(full->aligned, bounded->aligned) || !same(full_unintended, bounded_unintended)) std::abort();
  return 0;
}
