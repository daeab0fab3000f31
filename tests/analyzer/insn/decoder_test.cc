// The decoder layer: Capstone 4's gaps closed, non-existent control and debug
// registers rejected, privileged kinds read from bytes. Encodings were checked
// with binutils 2.40 (`as`/`objdump -d`) and AMD APM vol. 3.
#include "analyzer/insn/decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analyzer/insn/gap_table.h"

namespace vg::analyzer::insn {
namespace {

using policy::PrivilegedKind;

constexpr uint64_t kAddress = 0xffffffff81000000;

class DecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Decoder::open();
    ASSERT_TRUE(opened.ok()) << opened.error();
    decoder_.emplace(std::move(*opened));
  }
  DecodedInsn decode(const std::vector<uint8_t>& bytes) {
    return decoder_->decode(bytes.data(), bytes.size(), kAddress);
  }
  std::string text(const std::vector<uint8_t>& bytes) {
    return decoder_->disassemble(bytes.data(), bytes.size(), kAddress);
  }
  std::optional<Decoder> decoder_;
};

struct PrivilegedCase {
  std::vector<uint8_t> bytes;
  PrivilegedKind kind;
  const char* text;
};

// Every instruction Capstone 4 cannot decode or misnames, with the kind it is.
TEST_F(DecoderTest, DecodesTheSnpAndTlbInstructionsCapstone4Rejects) {
  const std::vector<PrivilegedCase> cases = {
      {{0xF2, 0x0F, 0x01, 0xFF}, PrivilegedKind::kPvalidate, "pvalidate"},
      {{0xF3, 0x0F, 0x01, 0xFE}, PrivilegedKind::kRmpadjust, "rmpadjust"},
      {{0xF3, 0x0F, 0x01, 0xFF}, PrivilegedKind::kPsmash, "psmash"},
      {{0xF3, 0x0F, 0x01, 0xFD}, PrivilegedKind::kRmpquery, "rmpquery"},
      {{0x0F, 0x01, 0xFE}, PrivilegedKind::kInvlpgb, "invlpgb"},
      {{0x0F, 0x01, 0xFF}, PrivilegedKind::kTlbsync, "tlbsync"},
      {{0x0F, 0x01, 0xEF}, PrivilegedKind::kWrpkru, "wrpkru"},
      // Capstone says "vmmcall" for both; the REP/REPNE prefix makes VMGEXIT.
      {{0xF3, 0x0F, 0x01, 0xD9}, PrivilegedKind::kVmgexit, "vmgexit"},
      {{0xF2, 0x0F, 0x01, 0xD9}, PrivilegedKind::kVmgexit, "vmgexit"},
      // The last of F2/F3 selects the instruction, as binutils decodes it.
      {{0xF3, 0xF2, 0x0F, 0x01, 0xFF}, PrivilegedKind::kPvalidate, "pvalidate"},
      {{0xF2, 0xF3, 0x0F, 0x01, 0xFF}, PrivilegedKind::kPsmash, "psmash"},
      // AMD's alias: LOCK MOV CR0 writes CR8 [APM3 MOV(CRn)].
      {{0xF0, 0x0F, 0x22, 0xC0}, PrivilegedKind::kMovToCr8, "mov cr8, rax"},
      {{0xF0, 0x41, 0x0F, 0x22, 0xC1}, PrivilegedKind::kMovToCr8, "mov cr8, r9"},
  };
  for (const PrivilegedCase& c : cases) {
    const DecodedInsn insn = decode(c.bytes);
    EXPECT_EQ(insn.length, c.bytes.size()) << c.text;
    EXPECT_TRUE(insn.privileged()) << c.text;
    EXPECT_EQ(insn.classification.kind, c.kind) << c.text;
    EXPECT_EQ(text(c.bytes), c.text);
  }
}

TEST_F(DecoderTest, DecodesTheNonPrivilegedGapsSoTheSweepStaysInStep) {
  const std::vector<std::pair<std::vector<uint8_t>, const char*>> cases = {
      {{0x0F, 0x01, 0xE8}, "serialize"},       {{0x0F, 0x01, 0xEE}, "rdpkru"},
      {{0xF2, 0x0F, 0x01, 0xFE}, "rmpupdate"}, {{0x0F, 0x01, 0xFC}, "clzero"},
      {{0x0F, 0x01, 0xFD}, "rdpru"},           {{0xF3, 0x0F, 0x01, 0xEF}, "stui"},
      {{0x66, 0x0F, 0x01, 0xFC}, "clzero"},    {{0x0F, 0x01, 0xC6}, "wrmsrns"},
  };
  for (const auto& [bytes, name] : cases) {
    const DecodedInsn insn = decode(bytes);
    EXPECT_EQ(insn.length, bytes.size()) << name;
    EXPECT_EQ(insn.source, DecodeSource::kGapTable) << name;
    EXPECT_FALSE(insn.privileged()) << name;
    EXPECT_EQ(text(bytes), name);
  }
}

TEST_F(DecoderTest, GapEncodingsWithTheWrongPrefixStayInvalid) {
  // binutils rejects these; so must we, or a sweep would invent instructions.
  EXPECT_FALSE(decode({0x66, 0x0F, 0x01, 0xFE}).valid());  // 66 invlpgb
  EXPECT_FALSE(decode({0xF2, 0x0F, 0x01, 0xFA}).valid());  // F2 monitorx
  EXPECT_FALSE(decode({0x0F, 0x01}).valid());              // truncated
}

TEST_F(DecoderTest, RejectsMovToControlRegistersThatDoNotExist) {
  // Capstone 4 accepts all of these; each raises #UD [APM3 MOV(CRn)].
  const std::vector<std::vector<uint8_t>> cases = {
      {0x0F, 0x22, 0xC8},        // cr1
      {0x0F, 0x22, 0xE8},        // cr5
      {0x0F, 0x22, 0xF0},        // cr6
      {0x0F, 0x22, 0xF8},        // cr7
      {0x44, 0x0F, 0x22, 0xC8},  // cr9
      {0x44, 0x0F, 0x22, 0xF8},  // cr15
      {0x0F, 0x20, 0xE8},        // mov from cr5
      {0xF0, 0x0F, 0x22, 0xD8},  // lock mov cr3: only the CR0 form has the CR8 alias
      {0x44, 0x0F, 0x23, 0xC0},  // dr8 [APM3 MOV(DRn)]
  };
  for (const auto& bytes : cases) {
    EXPECT_FALSE(decode(bytes).valid()) << text(bytes);
    EXPECT_EQ(text(bytes), "");
  }
}

TEST_F(DecoderTest, ClassifiesEveryPrivilegedKindCapstoneDecodes) {
  const std::vector<PrivilegedCase> cases = {
      {{0x0F, 0x22, 0xC0}, PrivilegedKind::kMovToCr0, "mov cr0, rax"},
      {{0x0F, 0x22, 0xD7}, PrivilegedKind::kMovToCr2, "mov cr2, rdi"},
      {{0x0F, 0x22, 0xDF}, PrivilegedKind::kMovToCr3, "mov cr3, rdi"},
      {{0x0F, 0x22, 0xE7}, PrivilegedKind::kMovToCr4, "mov cr4, rdi"},
      {{0x44, 0x0F, 0x22, 0xC7}, PrivilegedKind::kMovToCr8, "mov cr8, rdi"},
      {{0x0F, 0x23, 0xF8}, PrivilegedKind::kMovToDr, "mov dr7, rax"},
      {{0x0F, 0x30}, PrivilegedKind::kWrmsr, "wrmsr"},
      {{0x0F, 0x32}, PrivilegedKind::kRdmsr, "rdmsr"},
      {{0x0F, 0x01, 0x17}, PrivilegedKind::kLgdt, "lgdt [rdi]"},
      {{0x0F, 0x01, 0x1F}, PrivilegedKind::kLidt, "lidt [rdi]"},
      {{0x0F, 0x00, 0xD7}, PrivilegedKind::kLldt, "lldt di"},
      {{0x0F, 0x00, 0xDF}, PrivilegedKind::kLtr, "ltr di"},
      {{0x0F, 0x01, 0x3F}, PrivilegedKind::kInvlpg, "invlpg byte ptr [rdi]"},
      {{0x66, 0x0F, 0x38, 0x82, 0x3E}, PrivilegedKind::kInvpcid, "invpcid rdi, xmmword ptr [rsi]"},
      {{0x0F, 0x09}, PrivilegedKind::kWbinvd, "wbinvd"},
      {{0x0F, 0x08}, PrivilegedKind::kInvd, "invd"},
      {{0x0F, 0x01, 0xD1}, PrivilegedKind::kXsetbv, "xsetbv"},
      {{0x0F, 0x01, 0xF8}, PrivilegedKind::kSwapgs, "swapgs"},
      {{0x48, 0x0F, 0x07}, PrivilegedKind::kSysret, "sysret"},
      {{0x0F, 0x35}, PrivilegedKind::kSysexit, "sysexit"},
      {{0x48, 0xCF}, PrivilegedKind::kIretq, "iretq"},
      {{0x0F, 0x06}, PrivilegedKind::kClts, "clts"},
      {{0xF4}, PrivilegedKind::kHlt, "hlt"},
  };
  for (const PrivilegedCase& c : cases) {
    const DecodedInsn insn = decode(c.bytes);
    EXPECT_EQ(insn.length, c.bytes.size()) << c.text;
    EXPECT_EQ(insn.source, DecodeSource::kCapstone) << c.text;
    EXPECT_TRUE(insn.privileged()) << c.text;
    EXPECT_EQ(insn.classification.kind, c.kind) << c.text;
    EXPECT_EQ(text(c.bytes), c.text);
  }
}

TEST_F(DecoderTest, OrdinaryInstructionsAreNotPrivileged) {
  const std::vector<std::vector<uint8_t>> cases = {
      {0x0F, 0x20, 0xD8},  // mov rax, cr3: a read
      {0x0F, 0x01, 0xD0},  // xgetbv
      {0x0F, 0x01, 0xD9},  // vmmcall without a prefix
      {0x0F, 0x01, 0xCA},  // clac
      {0x48, 0x89, 0xE5},  // mov rbp, rsp
      {0x0F, 0x1F, 0x44, 0x00, 0x00},
      {0xE8, 0x00, 0x00, 0x00, 0x00},
  };
  for (const auto& bytes : cases) {
    const DecodedInsn insn = decode(bytes);
    EXPECT_EQ(insn.length, bytes.size()) << text(bytes);
    EXPECT_FALSE(insn.privileged()) << text(bytes);
  }
}

TEST_F(DecoderTest, NeverReadsPastTheBytesItIsGiven) {
  // Every gap entry cut short by one byte must not decode.
  size_t count = 0;
  const GapInsn* table = gap_table(count);
  ASSERT_GT(count, 20u);
  for (size_t i = 0; i < count; ++i) {
    std::vector<uint8_t> bytes;
    if (table[i].prefix == PrefixClass::kRepne) bytes.push_back(0xF2);
    if (table[i].prefix == PrefixClass::kRep) bytes.push_back(0xF3);
    if (table[i].prefix == PrefixClass::kOperandSize) bytes.push_back(0x66);
    bytes.insert(bytes.end(), {0x0F, 0x01, table[i].modrm});
    EXPECT_EQ(decode(bytes).length, bytes.size()) << table[i].mnemonic;
    bytes.pop_back();
    EXPECT_FALSE(decoder_->decode(bytes.data(), bytes.size(), kAddress).valid()) << table[i].mnemonic;
  }
}

}  // namespace
}  // namespace vg::analyzer::insn
