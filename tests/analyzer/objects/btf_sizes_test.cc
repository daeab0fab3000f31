// BtfIndex on the .BTF section pahole wrote into the fixture kernel, and on
// damaged copies of it.
#include "analyzer/objects/btf_sizes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "fixture_paths.h"
#include "objects_fixture.h"

namespace vg::analyzer {
namespace {

using testing::fixture_path;

std::vector<uint8_t> fixture_btf() {
  auto image = ElfImage::open(fixture_path("objects_btf.elf"));
  EXPECT_TRUE(image.ok()) << image.error().to_string();
  if (!image.ok()) return {};
  const Section* btf = (*image)->section(".BTF");
  EXPECT_NE(btf, nullptr);
  if (btf == nullptr) return {};
  return std::vector<uint8_t>(btf->bytes.data, btf->bytes.data + btf->bytes.size);
}

constexpr std::string_view kVariables[] = {"gdt_page", "init_cred"};
constexpr std::string_view kTypes[] = {"struct cred",
                                       "struct task_struct",
                                       "int",
                                       "long unsigned int",
                                       "struct not_in_this_kernel",
                                       "struct ftrace_ops *",
                                       "struct not_in_this_kernel *"};

TEST(BtfIndex, PerCpuVariablesComeWithTheirSectionOffset) {
  std::vector<uint8_t> bytes = fixture_btf();
  auto index = BtfIndex::parse(ByteView{bytes.data(), bytes.size()}, kVariables, kTypes);
  ASSERT_TRUE(index.ok()) << index.error();
  ASSERT_EQ(index->variables("gdt_page").size(), 1u);
  EXPECT_EQ(index->variables("gdt_page")[0].size, sizeof(struct gdt_page));
  EXPECT_EQ(index->variables("gdt_page")[0].section_offset, 0u);
  // pahole encodes only per-CPU variables, like the kernel's BTF.
  EXPECT_TRUE(index->variables("init_cred").empty());
  EXPECT_GT(index->type_count(), 10u);
}

TEST(BtfIndex, DeclaredTypesAreSized) {
  std::vector<uint8_t> bytes = fixture_btf();
  auto index = BtfIndex::parse(ByteView{bytes.data(), bytes.size()}, kVariables, kTypes);
  ASSERT_TRUE(index.ok()) << index.error();
  EXPECT_EQ(index->type_size("struct cred"), sizeof(struct cred));
  EXPECT_EQ(index->type_size("struct task_struct"), sizeof(struct task_struct));
  EXPECT_EQ(index->type_size("int"), sizeof(int));
  EXPECT_EQ(index->type_size("long unsigned int"), sizeof(unsigned long));
  EXPECT_EQ(index->type_size("struct not_in_this_kernel"), std::nullopt);
  // Pointers take BTF's pointer size, but only to a type this BTF knows.
  EXPECT_EQ(index->type_size("struct ftrace_ops *"), sizeof(void*));
  EXPECT_EQ(index->type_size("struct not_in_this_kernel *"), std::nullopt);
  // Only the names asked for are indexed: `union cred` is not `struct cred`.
  EXPECT_EQ(index->type_size("union cred"), std::nullopt);
}

TEST(BtfIndex, EmptyAndGarbageSectionsAreRefusedWithTheReason) {
  auto empty = BtfIndex::parse(ByteView{}, kVariables, kTypes);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), "empty .BTF section");

  std::vector<uint8_t> garbage(256, 0x5a);
  auto refused = BtfIndex::parse(ByteView{garbage.data(), garbage.size()}, kVariables, kTypes);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rfind("corrupt .BTF section (libbpf: ", 0), 0u) << refused.error();
}

// A header whose type section runs past the end of the data: libbpf must
// refuse it rather than read beyond the section.
TEST(BtfIndex, TypeSectionPastTheEndIsRefused) {
  std::vector<uint8_t> bytes = fixture_btf();
  ASSERT_GE(bytes.size(), 24u);
  uint32_t huge = 0x7fffffff;
  std::memcpy(bytes.data() + 12, &huge, sizeof(huge));  // btf_header.type_len
  auto refused = BtfIndex::parse(ByteView{bytes.data(), bytes.size()}, kVariables, kTypes);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("corrupt .BTF section"), std::string::npos);
}

// Every truncation of a valid section is refused or parsed, never a crash
// (the fuzzer explores further; this pins the easy cases in the unit suite).
TEST(BtfIndex, TruncatedSectionsNeverCrash) {
  std::vector<uint8_t> bytes = fixture_btf();
  ASSERT_FALSE(bytes.empty());
  int refused = 0;
  for (size_t length = 0; length < bytes.size(); length += 7) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
    auto index = BtfIndex::parse(ByteView{prefix.data(), prefix.size()}, kVariables, kTypes);
    if (!index.ok()) ++refused;
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace vg::analyzer
