// The instruction-length decoder against GNU as (insn_length_fixture.S) and
// against the errors bad bytes must get.
#include "monitor/insn_length.h"

#include <gtest/gtest.h>

#include <vector>

extern "C" const uint8_t vg_insn_code_begin[], vg_insn_code_end[];
extern "C" const uint8_t vg_insn_length_begin[], vg_insn_length_end[];

namespace vg::test {
namespace {

using monitor::instruction_length;
using monitor::LengthError;

Result<uint8_t, LengthError> length_of(std::initializer_list<uint8_t> bytes) {
  static std::vector<uint8_t> storage;
  storage.assign(bytes);
  return instruction_length(ByteView{storage.data(), storage.size()});
}

TEST(InstructionLength, MatchesTheAssemblerOnKernelInstructionForms) {
  const size_t count = static_cast<size_t>(vg_insn_length_end - vg_insn_length_begin);
  ASSERT_GT(count, 90u);
  const uint8_t* code = vg_insn_code_begin;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t expected = vg_insn_length_begin[i];
    // Decode with the following instructions' bytes after it, as in memory.
    const size_t available = static_cast<size_t>(vg_insn_code_end - code);
    const auto decoded = instruction_length(ByteView{code, available < 15 ? available : 15});
    ASSERT_TRUE(decoded.ok()) << "fixture instruction " << i << ": " << monitor::describe(decoded.error());
    EXPECT_EQ(*decoded, expected) << "fixture instruction " << i;
    code += expected;
  }
  EXPECT_EQ(code, vg_insn_code_end);
}

TEST(InstructionLength, TruncatedBytesAreReported) {
  EXPECT_EQ(length_of({}).error(), LengthError::kTruncated);
  EXPECT_EQ(length_of({0x48}).error(), LengthError::kTruncated);
  EXPECT_EQ(length_of({0x48, 0x89}).error(), LengthError::kTruncated);
  EXPECT_EQ(length_of({0x48, 0x89, 0x04}).error(), LengthError::kTruncated);              // SIB missing
  EXPECT_EQ(length_of({0x48, 0x89, 0x87, 0x00, 0x10}).error(), LengthError::kTruncated);  // disp32 cut
  EXPECT_EQ(length_of({0xc7, 0x07, 0x01, 0x00}).error(), LengthError::kTruncated);        // imm32 cut
  EXPECT_EQ(length_of({0x0f}).error(), LengthError::kTruncated);
}

TEST(InstructionLength, InvalidIn64BitModeIsUnsupported) {
  for (uint8_t opcode : std::initializer_list<uint8_t>{0x06, 0x07, 0x27, 0x37, 0x60, 0x61, 0x82, 0x9a, 0xce,
                                                       0xd4, 0xd6, 0xea}) {
    EXPECT_EQ(length_of({opcode, 0, 0, 0, 0, 0, 0, 0}).error(), LengthError::kUnsupported) << int{opcode};
  }
}

TEST(InstructionLength, VexEvexXopAnd3DNowAreRefusedNotGuessed) {
  EXPECT_EQ(length_of({0xc5, 0xfe, 0x7f, 0x07}).error(), LengthError::kUnsupported);
  EXPECT_EQ(length_of({0xc4, 0xe2, 0x7d, 0x18, 0x07}).error(), LengthError::kUnsupported);
  EXPECT_EQ(length_of({0x62, 0xf1, 0x7e, 0x48, 0x7f, 0x07}).error(), LengthError::kUnsupported);
  EXPECT_EQ(length_of({0x8f, 0xe9, 0x78, 0xe1, 0xc1}).error(), LengthError::kUnsupported);
  EXPECT_EQ(length_of({0x0f, 0x0f, 0xc1, 0xb4}).error(), LengthError::kUnsupported);
  // 8F /0 is POP r/m, not XOP.
  EXPECT_EQ(*length_of({0x8f, 0x07}), 2);
}

TEST(InstructionLength, PrefixAfterRexIsRefused) {
  EXPECT_EQ(length_of({0x48, 0x66, 0x89, 0x07}).error(), LengthError::kUnsupported);
  EXPECT_EQ(length_of({0x48, 0x48, 0x89, 0x07}).error(), LengthError::kUnsupported);
}

TEST(InstructionLength, OverFifteenBytesIsTooLong) {
  // 14 prefixes + mov %eax,(%rdi) = 16 bytes.
  std::vector<uint8_t> bytes(14, 0x66);
  bytes.push_back(0x89);
  bytes.push_back(0x07);
  EXPECT_EQ(instruction_length(ByteView{bytes.data(), bytes.size()}).error(), LengthError::kTooLong);
  // 13 prefixes: exactly 15, fine.
  bytes.erase(bytes.begin());
  EXPECT_EQ(*instruction_length(ByteView{bytes.data(), bytes.size()}), 15);
  // 12 prefixes + mov $imm32, (%rdi): 12 + 6 = 18.
  std::vector<uint8_t> long_immediate(12, 0x2e);
  for (uint8_t byte : std::initializer_list<uint8_t>{0xc7, 0x07, 0x01, 0x00, 0x00, 0x00})
    long_immediate.push_back(byte);
  EXPECT_EQ(instruction_length(ByteView{long_immediate.data(), 15}).error(), LengthError::kTooLong);
}

TEST(InstructionLength, OperandSizeChangesImmediates) {
  EXPECT_EQ(*length_of({0xc7, 0x07, 1, 0, 0, 0}), 6);               // movl $1,(%rdi)
  EXPECT_EQ(*length_of({0x66, 0xc7, 0x07, 1, 0}), 5);               // movw $1,(%rdi)
  EXPECT_EQ(*length_of({0x48, 0xc7, 0x07, 1, 0, 0, 0}), 7);         // movq $1,(%rdi): imm32 sign-extended
  EXPECT_EQ(*length_of({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}), 10);  // movabs
  EXPECT_EQ(*length_of({0x67, 0xa3, 1, 2, 3, 4}), 6);               // moffs32 with 67
}

}  // namespace
}  // namespace vg::test
