// ElfImage on the fixture kernels: identity, sections, symbols, bytes.
#include <gtest/gtest.h>

#include "fixture.h"

namespace vg::analyzer {
namespace {

using testing::fixture_path;

// Proves open() reads the GNU build id and the Linux release note.
TEST(ElfImage, ReadsBuildIdAndReleaseFromNotes) {
  auto image = ElfImage::open(fixture_path("612"));
  ASSERT_TRUE(image.ok()) << image.error().to_string();
  EXPECT_EQ(image.value()->build_id().size(), 20u);  // ld --build-id=sha1
  EXPECT_EQ(image.value()->release(), "6.12.0-fixture");
  EXPECT_EQ(image.value()->text_base(), 0xffffffff81000000ull);
}

// Proves symbols are sorted by address and found by name.
TEST(ElfImage, SymbolsSortedAndFoundByName) {
  auto image = ElfImage::open(fixture_path("61"));
  ASSERT_TRUE(image.ok());
  const auto& symbols = image.value()->symbols();
  ASSERT_FALSE(symbols.empty());
  for (size_t i = 1; i < symbols.size(); ++i) EXPECT_LE(symbols[i - 1].value, symbols[i].value);
  const Symbol* fn = image.value()->symbol("target_fn");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn->type, STT_FUNC);
  EXPECT_EQ(fn->size, 1u);
  EXPECT_EQ(image.value()->symbol("no_such_symbol"), nullptr);
}

// Proves the per-CPU section (VA 0) is not taken for a kernel address and
// does not count as overlapping the kernel's other sections.
TEST(ElfImage, PerCpuSectionAtVaZeroIsNotAKernelAddress) {
  auto image = ElfImage::open(fixture_path("612"));
  ASSERT_TRUE(image.ok());
  const Section* percpu = image.value()->section(".data..percpu");
  ASSERT_NE(percpu, nullptr);
  EXPECT_EQ(percpu->address, 0u);
  EXPECT_EQ(image.value()->section_at(0), nullptr);
  const Section* text = image.value()->section_at(image.value()->text_base() + 1);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->name, ".text");
}

// Proves bytes_at serves file bytes and refuses ranges without them.
TEST(ElfImage, BytesAtChecksTheRange) {
  auto image = ElfImage::open(fixture_path("612"));
  ASSERT_TRUE(image.ok());
  const ElfImage& elf = *image.value();
  const uint64_t mcount = *elf.symbol_address("traced_fn");
  auto call = elf.bytes_at(mcount, 5);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->data[0], 0xe8);  // call __fentry__
  const Section* text = elf.section(".text");
  auto past = elf.bytes_at(text->address + text->size - 2, 4);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message.find("run past the end of .text"), std::string::npos);
  auto bss = elf.bytes_at(*elf.symbol_address("bss_var"), 4);
  ASSERT_FALSE(bss.ok());
  EXPECT_NE(bss.error().message.find("which has no file bytes"), std::string::npos);
  EXPECT_NE(elf.libelf_handle(), nullptr);
}

}  // namespace
}  // namespace vg::analyzer
