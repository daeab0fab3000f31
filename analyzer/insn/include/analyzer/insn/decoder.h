// The decoder of record: Capstone 4 (64-bit mode, detail off) with its gaps
// closed. Capstone gives lengths and text; this layer
//   - decodes the 0F 01 instructions Capstone 4 rejects (gap_table.h),
//   - names F2/F3 0F 01 D9 VMGEXIT instead of VMMCALL,
//   - decodes LOCK MOV CR0 as the AMD alias of MOV CR8,
//   - rejects MOV CR1, CR5-CR7, CR9-CR15 and DR8-DR15, which raise #UD,
// and classifies privileged instructions from their bytes (classify.h).
//
// A Decoder owns a Capstone handle, which is not thread-safe: one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "analyzer/insn/classify.h"
#include "base/result.h"

struct cs_insn;

namespace vg::analyzer::insn {

enum class DecodeSource : uint8_t {
  kCapstone,  // Capstone decoded it and we agree
  kGapTable,  // Capstone rejected it; gap_table.h knows it
  kVmgexit,   // Capstone said VMMCALL; the REP/REPNE prefix makes it VMGEXIT
  kLockCr8,   // Capstone rejected LOCK MOV CRn; AMD reads it as CR8
};

struct DecodedInsn {
  uint8_t length = 0;  // 0: not a valid instruction
  DecodeSource source = DecodeSource::kCapstone;
  Classification classification;

  bool valid() const { return length != 0; }
  bool privileged() const { return classification.privileged; }
};

class Decoder {
 public:
  static Result<Decoder, std::string> open();
  Decoder(Decoder&& other) noexcept;
  Decoder& operator=(Decoder&& other) noexcept;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  ~Decoder();

  // Decodes the instruction at `code` (`size` bytes readable). Allocates
  // nothing: the sweep calls it millions of times.
  DecodedInsn decode(const uint8_t* code, size_t size, uint64_t address);

  // Intel-syntax text ("mov cr4, rdi") of the instruction at `code`, or ""
  // when it is not valid. For reports: allocates.
  std::string disassemble(const uint8_t* code, size_t size, uint64_t address);

 private:
  Decoder() = default;
  void close();

  size_t handle_ = 0;  // csh
  cs_insn* insn_ = nullptr;
};

}  // namespace vg::analyzer::insn
