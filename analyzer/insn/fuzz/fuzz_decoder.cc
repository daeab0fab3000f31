// libFuzzer target for the decoder layer: any bytes must decode to a length
// within the input and the 15-byte limit, classify without reading past the
// instruction, and render text exactly when they decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "analyzer/insn/classify.h"
#include "analyzer/insn/decoder.h"
#include "analyzer/insn/prefixes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto decoder = vg::analyzer::insn::Decoder::open();
  if (!decoder.ok()) std::abort();
  const vg::analyzer::insn::DecodedInsn insn = decoder->decode(data, size, 0xffffffff81000000);
  if (insn.length > size || insn.length > vg::analyzer::insn::kMaxInsnLength) std::abort();
  if (insn.valid()) {
    // Classifying exactly the decoded bytes must agree with the decoder.
    const auto again = vg::analyzer::insn::classify(data, insn.length);
    if (!again.valid || again.privileged != insn.privileged()) std::abort();
    if (insn.privileged() && again.kind != insn.classification.kind) std::abort();
  }
  const bool has_text = !decoder->disassemble(data, size, 0xffffffff81000000).empty();
  if (has_text != insn.valid()) std::abort();
  return 0;
}
