// Every malformed policy is refused with the error that names its defect.
// Each case corrupts a valid policy in one place and re-seals the digest, so
// the check under test (not the digest) is what must catch it.
#include <gtest/gtest.h>

#include <functional>

#include "policy_fixture.h"

namespace vg::policy {
namespace {

using testing::AlignedPolicy;
using testing::sample_builder;

std::vector<uint8_t> valid_policy() {
  return sample_builder().build().value();
}

void reseal(std::vector<uint8_t>& bytes) {
  Sha256Digest digest = Sha256::of(bytes.data(), bytes.size() - kDigestSize);
  std::memcpy(bytes.data() + bytes.size() - kDigestSize, digest.bytes, kDigestSize);
}

ParseError parse_error_of(const std::vector<uint8_t>& bytes) {
  AlignedPolicy aligned(bytes);
  auto parsed = PolicyView::parse(aligned.view());
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? ParseError::kTooSmall : parsed.error();
}

FileHeader& header_of(std::vector<uint8_t>& bytes) {
  return *reinterpret_cast<FileHeader*>(bytes.data());
}

TableEntry& table_of(std::vector<uint8_t>& bytes, TableKind kind) {
  auto* directory = reinterpret_cast<TableEntry*>(bytes.data() + sizeof(FileHeader));
  for (uint32_t i = 0; i < header_of(bytes).table_count; ++i) {
    if (directory[i].kind == static_cast<uint32_t>(kind)) return directory[i];
  }
  ADD_FAILURE() << "no table";
  return directory[0];
}

template <typename T>
T& entry_of(std::vector<uint8_t>& bytes, TableKind kind, size_t index) {
  return reinterpret_cast<T*>(bytes.data() + table_of(bytes, kind).offset)[index];
}

struct Corruption {
  const char* name;
  std::function<void(std::vector<uint8_t>&)> apply;
  ParseError expected;
};

TEST(PolicyParseErrors, EachDefectIsNamed) {
  const std::vector<Corruption> cases = {
      {"bad magic", [](auto& b) { b[0] = 'X'; }, ParseError::kBadMagic},
      {"future major version", [](auto& b) { header_of(b).format_major = 2; },
       ParseError::kUnsupportedVersion},
      {"header size", [](auto& b) { header_of(b).header_size = 64; }, ParseError::kBadHeaderSize},
      {"file size", [](auto& b) { header_of(b).file_size += 8; }, ParseError::kSizeMismatch},
      {"reserved byte", [](auto& b) { header_of(b).reserved0[3] = 1; }, ParseError::kBadReserved},
      {"build id size", [](auto& b) { header_of(b).build_id_size = 33; }, ParseError::kBadBuildId},
      {"table count", [](auto& b) { header_of(b).table_count = 1000; }, ParseError::kTooManyTables},
      {"duplicate table", [](auto& b) { table_of(b, TableKind::kBytes).kind = 1; },
       ParseError::kDuplicateTable},
      {"entry size", [](auto& b) { table_of(b, TableKind::kSites).entry_size = 12; },
       ParseError::kBadEntrySize},
      {"table past end", [](auto& b) { table_of(b, TableKind::kSites).count = 1u << 30; },
       ParseError::kTableOutOfBounds},
      {"count overflow", [](auto& b) { table_of(b, TableKind::kSites).count = ~uint64_t{0} / 8; },
       ParseError::kTableOutOfBounds},
      {"misaligned table", [](auto& b) { table_of(b, TableKind::kSites).offset += 4; },
       ParseError::kTableMisaligned},
      {"overlapping tables",
       [](auto& b) { table_of(b, TableKind::kPatterns).offset = table_of(b, TableKind::kSites).offset; },
       ParseError::kTablesOverlap},
      {"missing sites", [](auto& b) { table_of(b, TableKind::kSites).kind = 99; }, ParseError::kMissingTable},
      {"unsorted sites", [](auto& b) { entry_of<Site>(b, TableKind::kSites, 1).offset = 0; },
       ParseError::kUnsorted},
      {"site length", [](auto& b) { entry_of<Site>(b, TableKind::kSites, 0).length = 17; },
       ParseError::kBadSite},
      {"site pattern ref", [](auto& b) { entry_of<Site>(b, TableKind::kSites, 0).first_pattern = 1000; },
       ParseError::kBadSite},
      {"pattern kind", [](auto& b) { entry_of<Pattern>(b, TableKind::kPatterns, 0).kind = 99; },
       ParseError::kBadPattern},
      {"empty region", [](auto& b) { entry_of<Region>(b, TableKind::kRegions, 1).size = 0; },
       ParseError::kBadRegion},
      {"region overlap", [](auto& b) { entry_of<Region>(b, TableKind::kRegions, 0).size = 0x10001; },
       ParseError::kBadRegion},
      {"region perms", [](auto& b) { entry_of<Region>(b, TableKind::kRegions, 0).perms_boot = 0x80; },
       ParseError::kBadRegion},
      {"privileged kind", [](auto& b) { entry_of<PrivilegedInsn>(b, TableKind::kPrivileged, 0).kind = 0; },
       ParseError::kBadPrivileged},
      {"function name", [](auto& b) { entry_of<Function>(b, TableKind::kFunctions, 0).name = 1u << 20; },
       ParseError::kBadString},
      {"object protection",
       [](auto& b) { entry_of<CriticalObject>(b, TableKind::kObjects, 0).protection = 9; },
       ParseError::kBadObject},
  };
  for (const Corruption& corruption : cases) {
    std::vector<uint8_t> bytes = valid_policy();
    corruption.apply(bytes);
    reseal(bytes);
    EXPECT_EQ(parse_error_of(bytes), corruption.expected) << corruption.name;
  }
}

TEST(PolicyParseErrors, AnyFlippedBitIsCaughtByTheDigest) {
  const std::vector<uint8_t> original = valid_policy();
  for (size_t i = sizeof(FileHeader); i < original.size() - kDigestSize; i += 97) {
    std::vector<uint8_t> bytes = original;
    bytes[i] ^= 0x10;
    EXPECT_EQ(parse_error_of(bytes), ParseError::kDigestMismatch) << "byte " << i;
  }
}

TEST(PolicyParseErrors, TruncationIsRefusedAtEveryLength) {
  const std::vector<uint8_t> original = valid_policy();
  for (size_t length = 0; length < original.size(); length += 13) {
    std::vector<uint8_t> bytes(original.begin(), original.begin() + static_cast<long>(length));
    AlignedPolicy aligned(bytes);
    EXPECT_FALSE(PolicyView::parse(aligned.view()).ok()) << "length " << length;
  }
}

TEST(PolicyParseErrors, UnalignedBufferIsRefused) {
  std::vector<uint8_t> bytes = valid_policy();
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  ByteView view{shifted.data() + 1, bytes.size()};
  auto parsed = PolicyView::parse(view);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error(), ParseError::kTableMisaligned);
}

TEST(PolicyParseErrors, EveryErrorHasADescription) {
  for (int e = 0; e <= static_cast<int>(ParseError::kDigestMismatch); ++e) {
    EXPECT_STRNE(describe(static_cast<ParseError>(e)), "unknown policy error");
  }
}

}  // namespace
}  // namespace vg::policy
