// libFuzzer target: the policy parser must refuse or accept any byte string
// without crashing, and every lookup on an accepted policy must stay in bounds.
#include <cstdint>
#include <cstring>
#include <vector>

#include "policy/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The parser requires 8-byte alignment (the monitor copies the policy into
  // aligned memory first); mimic that copy.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size == 0) return 0;  // memcpy must not get the null data() of an empty vector
  std::memcpy(aligned.data(), data, size);
  auto* raw = reinterpret_cast<uint8_t*>(aligned.data());
  // A random input never carries a matching SHA-256 trailer; repair the
  // trailer (and file_size) so the structural checks behind it get fuzzed.
  // The digest check itself is covered by unit tests.
  if (size >= sizeof(vg::policy::FileHeader) + vg::policy::kDigestSize) {
    uint64_t file_size = size;
    std::memcpy(raw + offsetof(vg::policy::FileHeader, file_size), &file_size, sizeof(file_size));
    vg::Sha256Digest digest = vg::Sha256::of(raw, size - vg::policy::kDigestSize);
    std::memcpy(raw + size - vg::policy::kDigestSize, digest.bytes, vg::policy::kDigestSize);
  }
  vg::ByteView bytes{raw, size};
  auto parsed = vg::policy::PolicyView::parse(bytes);
  if (!parsed.ok()) return 0;
  const vg::policy::PolicyView& view = parsed.value();
  for (const auto& site : view.sites()) {
    uint8_t candidate[vg::policy::kMaxSiteLength] = {};
    (void)vg::policy::site_allows(view, site, candidate, site.length);
  }
  for (uint32_t probe : {0u, 1u, 0x1000u, 0xffffffffu}) {
    (void)view.find_site(probe);
    (void)view.find_region(probe);
    if (const auto* function = view.find_function(probe)) (void)std::strlen(view.string(function->name));
    (void)view.find_object(probe);
  }
  return 0;
}
