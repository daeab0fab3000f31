#include "analyzer/insn/unintended.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "analyzer/insn/candidates.h"
#include "analyzer/insn/prefixes.h"

namespace vg::analyzer::insn {
namespace {

class Scanner {
 public:
  Scanner(const std::vector<CodeSection>& sections, const SweepResult& sweep, Decoder& decoder,
          UnintendedStats& stats)
      : sections_(sections), sweep_(sweep), decoder_(decoder), stats_(stats) {
    // Opcode positions of the swept privileged instructions, with their kind.
    aligned_opcodes_.reserve(sweep.aligned.size());
    for (const FoundInsn& insn : sweep.aligned) {
      const CodeSection& section = sections[insn.section];
      const uint64_t offset = insn.address - section.address;
      const Prefixes prefixes = read_prefixes(section.bytes.data + offset, insn.length);
      aligned_opcodes_.emplace_back(insn.address + prefixes.length, insn.kind);
    }
    std::sort(aligned_opcodes_.begin(), aligned_opcodes_.end());
  }

  std::vector<FoundInsn> run() {
    for (uint32_t index = 0; index < sections_.size(); ++index) scan_section(index);
    std::sort(found_.begin(), found_.end(), [](const FoundInsn& a, const FoundInsn& b) {
      return a.address != b.address ? a.address < b.address : a.kind < b.kind;
    });
    return std::move(found_);
  }

 private:
  void scan_section(uint32_t index) {
    const CodeSection& section = sections_[index];
    const uint8_t* bytes = section.bytes.data;
    const size_t size = section.bytes.size;
    if (size < 2) return;
    // Two-byte opcodes: 0F xx.
    for (const uint8_t* hit = bytes; hit != nullptr && hit < bytes + size - 1;) {
      hit = static_cast<const uint8_t*>(std::memchr(hit, 0x0F, static_cast<size_t>(bytes + size - 1 - hit)));
      if (hit == nullptr) break;
      if (kPrivilegedSecondByte[hit[1]]) try_opcode(index, static_cast<uint64_t>(hit - bytes));
      ++hit;
    }
    // IRETQ: REX.W CF. The REX is part of the run tried before the opcode.
    for (const uint8_t* hit = bytes + 1; hit != nullptr && hit < bytes + size;) {
      hit = static_cast<const uint8_t*>(std::memchr(hit, 0xCF, static_cast<size_t>(bytes + size - hit)));
      if (hit == nullptr) break;
      if (is_rex(hit[-1]) && (hit[-1] & 0x08) != 0) try_opcode(index, static_cast<uint64_t>(hit - bytes));
      ++hit;
    }
  }

  bool aligned_opcode(uint64_t address, policy::PrivilegedKind kind) const {
    return std::binary_search(aligned_opcodes_.begin(), aligned_opcodes_.end(),
                              std::make_pair(address, kind));
  }

  // Tries the starts opcode, opcode-1, ... through the run of prefix bytes.
  void try_opcode(uint32_t index, uint64_t opcode) {
    ++stats_.candidates;
    const CodeSection& section = sections_[index];
    const uint8_t* bytes = section.bytes.data;
    const std::vector<uint8_t>& starts = sweep_.starts[index];
    uint32_t reported = 0;  // bit per PrivilegedKind already reported at this opcode
    for (size_t run = 0; run <= kMaxPrefixRun && run <= opcode; ++run) {
      const uint64_t start = opcode - run;
      if (run > 0) {
        const uint8_t byte = bytes[start];
        if (!is_legacy_prefix(byte) && !is_rex(byte)) break;
      }
      // IRET is searched as IRETQ only (unintended.h): a bare CF start is not one.
      if (run == 0 && bytes[opcode] == 0xCF) continue;
      if (starts[start] != 0) continue;  // the sweep decoded from here: aligned
      const size_t left = section.bytes.size - start;
      const size_t window = left < kMaxInsnLength ? left : kMaxInsnLength;
      // Cheap byte filter first; Capstone confirms the length and validity.
      const Classification quick = classify(bytes + start, window);
      if (!quick.privileged) continue;
      ++stats_.decoded;
      const DecodedInsn insn = decoder_.decode(bytes + start, left, section.address + start);
      if (!insn.valid() || !insn.privileged()) continue;
      // The opcode must be the one this candidate is about: a decode from an
      // earlier start whose prefixes do not all lead to `opcode` is another
      // candidate's business.
      if (read_prefixes(bytes + start, insn.length).length != run) continue;
      const policy::PrivilegedKind kind = insn.classification.kind;
      const uint32_t bit = 1u << static_cast<uint16_t>(kind);
      if ((reported & bit) != 0) continue;
      reported |= bit;
      if (aligned_opcode(section.address + opcode, kind)) continue;
      found_.push_back(FoundInsn{section.address + start, index, kind, insn.length, true});
    }
  }

  const std::vector<CodeSection>& sections_;
  const SweepResult& sweep_;
  Decoder& decoder_;
  UnintendedStats& stats_;
  std::vector<std::pair<uint64_t, policy::PrivilegedKind>> aligned_opcodes_;
  std::vector<FoundInsn> found_;
};

}  // namespace

std::vector<FoundInsn> find_unintended(const std::vector<CodeSection>& sections, const SweepResult& sweep,
                                       Decoder& decoder, UnintendedStats* stats) {
  UnintendedStats local;
  Scanner scanner(sections, sweep, decoder, stats != nullptr ? *stats : local);
  return scanner.run();
}

}  // namespace vg::analyzer::insn
