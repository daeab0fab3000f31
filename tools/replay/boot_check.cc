// The analyzer's acid test: every byte the pre-lock kernel changed in its
// own text must lie inside a policy site, and each touched site must end in
// bytes one of its patterns allows. A miss is a patch the monitor would
// refuse if the kernel asked it after registration: a policy gap.
#include <algorithm>
#include <cstdio>
#include <set>

#include "replay/session.h"

namespace vg::replay {
namespace {

std::string site_kinds(uint16_t kinds) {
  static const char* const kNames[] = {"alternative", "jump_label",    "static_call", "ftrace",
                                       "retpoline",   "return",        "call",        "endbr_seal",
                                       "paravirt",    "runtime_const", "smp_lock"};
  std::string out;
  for (unsigned bit = 0; bit < sizeof(kNames) / sizeof(kNames[0]); ++bit) {
    if ((kinds & (1u << bit)) == 0) continue;
    if (!out.empty()) out += "+";
    out += kNames[bit];
  }
  return out.empty() ? "?" : out;
}

// The site whose [offset, offset + length) holds `offset`, or nullptr.
const policy::Site* containing_site(const policy::PolicyView& policy, uint64_t offset) {
  const auto sites = policy.sites();
  const policy::Site* it =
      std::upper_bound(sites.begin(), sites.end(), offset,
                       [](uint64_t value, const policy::Site& site) { return value < site.offset; });
  // Sites may nest (a 1-byte site inside a longer one): look back a few.
  for (int back = 0; back < 4 && it != sites.begin(); ++back) {
    --it;
    if (offset < uint64_t{it->offset} + it->length) return it;
  }
  return nullptr;
}

}  // namespace

void Session::check_boot_patches(const std::vector<const PatchBytes*>& boot) {
  BootCheck& check = report_.boot;
  std::set<const policy::Site*> touched;
  auto miss = [&](const std::string& kind, const std::string& example) {
    check.misses_by_kind[kind] += 1;
    if (check.examples.size() < 24) check.examples.push_back(example);
  };
  for (const PatchBytes* patch : boot) {
    const uint64_t offset = patch->va - image_.link_text;
    bool outside = false;
    for (uint64_t i = 0; i < patch->length; ++i) {
      if (patch->old_bytes[i] == patch->new_bytes[i]) continue;
      const policy::Site* site = containing_site(view_, offset + i);
      if (site == nullptr) {
        outside = true;
        continue;
      }
      touched.insert(site);
    }
    if (outside) {
      check.outside_sites += 1;
      miss("no site",
           symbolize(offset) + ": changed outside every site (line " + std::to_string(patch->line) + ")");
    }
  }
  check.sites += touched.size();
  for (const policy::Site* site : touched) {
    uint8_t bytes[policy::kMaxSiteLength];
    guest_->read(image_gpa(site->offset), bytes, site->length);
    if (policy::site_allows(view_, *site, bytes, site->length)) {
      check.sites_allowed += 1;
      continue;
    }
    // The format's rule (docs/policy-format.md): runtime_const_init() fills
    // these immediates once with values known only at boot, so before the
    // lock any bytes are legitimate; the policy lists only the placeholder.
    if ((site->kinds & policy::kSiteRuntimeConst) != 0) {
      check.sites_allowed += 1;
      check.runtime_const_filled += 1;
      continue;
    }
    std::string hex;
    char pair[3];
    for (uint8_t i = 0; i < site->length; ++i) {
      std::snprintf(pair, sizeof(pair), "%02x", bytes[i]);
      hex += pair;
    }
    miss(site_kinds(site->kinds), symbolize(site->offset) + ": " + site_kinds(site->kinds) +
                                      " site ends as " + hex + ", no pattern allows it");
  }
}

}  // namespace vg::replay
