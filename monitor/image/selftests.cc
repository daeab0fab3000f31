#include "selftests.h"

#include "base/sha256.h"
#include "console.h"
#include "hal/hal.h"
#include "monitor/insn_length.h"
#include "monitor/pinned_registers.h"
#include "policy/reader.h"
#include "selftest_policy.h"

extern "C" const uint8_t vg_selftest_policy[];
extern "C" const uint8_t vg_selftest_policy_end[];

namespace vg::image {
namespace {

namespace k = selftest_kernel;

// The policy is parsed from an aligned private copy, as the monitor does
// with the policy the host hands it.
alignas(8) uint8_t policy_copy[4096];

bool equal(const char* a, const char* b) {
  for (; *a != '\0' && *a == *b; ++a, ++b) {
  }
  return *a == *b;
}

uint64_t policy_size() {
  return static_cast<uint64_t>(vg_selftest_policy_end - vg_selftest_policy);
}

bool copy_policy() {
  if (policy_size() > sizeof(policy_copy)) return false;
  __builtin_memcpy(policy_copy, vg_selftest_policy, policy_size());
  return true;
}

bool sha256_matches_fips_vectors() {
  char hex[65];
  to_hex(Sha256::of("abc", 3), hex);
  return equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

bool policy_parses_with_its_digest() {
  if (!copy_policy()) return false;
  auto parsed = policy::PolicyView::parse(ByteView{policy_copy, policy_size()});
  return parsed.ok() && parsed->header().link_text_va == k::kLinkTextVa &&
         equal(parsed->header().kernel_release, k::kRelease) && parsed->sites().count == 2;
}

bool tampered_policy_is_refused() {
  if (!copy_policy()) return false;
  policy_copy[200] ^= 1;
  auto parsed = policy::PolicyView::parse(ByteView{policy_copy, policy_size()});
  return !parsed.ok() && parsed.error() == policy::ParseError::kDigestMismatch;
}

bool jump_label_site_allows_only_its_patterns() {
  if (!copy_policy()) return false;
  auto parsed = policy::PolicyView::parse(ByteView{policy_copy, policy_size()});
  if (!parsed.ok()) return false;
  const policy::Site* site = parsed->find_site(k::kJumpLabelSite);
  if (site == nullptr) return false;
  const int32_t rel = static_cast<int32_t>(k::kJumpLabelTarget) - static_cast<int32_t>(k::kJumpLabelSite + 5);
  uint8_t jump[5] = {0xe9};
  __builtin_memcpy(jump + 1, &rel, 4);
  uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
  uint8_t attacker[5] = {0xe9, 0x00, 0x10, 0x00, 0x00};
  return policy::site_allows(*parsed, *site, jump, 5) && policy::site_allows(*parsed, *site, nop5, 5) &&
         !policy::site_allows(*parsed, *site, attacker, 5);
}

bool static_call_targets_function_starts_only() {
  if (!copy_policy()) return false;
  auto parsed = policy::PolicyView::parse(ByteView{policy_copy, policy_size()});
  if (!parsed.ok()) return false;
  const policy::Site* site = parsed->find_site(k::kStaticCallSite);
  if (site == nullptr) return false;
  const int32_t to_b = static_cast<int32_t>(k::kFunctionB) - static_cast<int32_t>(k::kStaticCallSite + 5);
  uint8_t call[5] = {0xe8};
  __builtin_memcpy(call + 1, &to_b, 4);
  const bool start_ok = policy::site_allows(*parsed, *site, call, 5);
  const int32_t into_b = to_b + 4;
  __builtin_memcpy(call + 1, &into_b, 4);
  return start_ok && !policy::site_allows(*parsed, *site, call, 5);
}

bool instruction_lengths_decode() {
  const uint8_t mov_store[] = {0x48, 0x89, 0x07};                      // mov %rax,(%rdi)
  const uint8_t mov_imm_rip[] = {0xc7, 0x05, 1, 2, 3, 4, 5, 6, 7, 8};  // movl $imm32,disp32(%rip)
  const uint8_t rep_stos[] = {0xf3, 0x48, 0xab};                       // rep stos %rax,(%rdi)
  const uint8_t truncated[] = {0x48, 0x89};
  auto a = monitor::instruction_length(ByteView{mov_store, sizeof(mov_store)});
  auto b = monitor::instruction_length(ByteView{mov_imm_rip, sizeof(mov_imm_rip)});
  auto c = monitor::instruction_length(ByteView{rep_stos, sizeof(rep_stos)});
  auto d = monitor::instruction_length(ByteView{truncated, sizeof(truncated)});
  return a.ok() && a.value() == 3 && b.ok() && b.value() == 10 && c.ok() && c.value() == 3 && !d.ok();
}

bool pinned_registers_catch_cleared_wp_and_smep() {
  hal::VmsaState state{};
  state.cr0 = 1ull << 0 | 1ull << 16 | 1ull << 31;
  state.cr4 = 1ull << 20 | 1ull << 21;
  state.efer = 1ull << 0 | 1ull << 8 | 1ull << 11;
  monitor::PinnedRegisters pins;
  pins.lock(state);
  monitor::PinDeviation deviations[monitor::kPinnedRegisterCount];
  if (pins.check(state, deviations) != 0) return false;
  state.cr0 &= ~(1ull << 16);  // CR0.WP cleared: the classic write-protect bypass
  state.cr4 &= ~(1ull << 20);  // CR4.SMEP cleared
  const size_t found = pins.check(state, deviations);
  pins.restore(state);
  return found == 2 && (state.cr0 & (1ull << 16)) != 0 && (state.cr4 & (1ull << 20)) != 0;
}

struct SelfTest {
  const char* name;
  bool (*run)();
};

constexpr SelfTest kSelfTests[] = {
    {"sha256 matches FIPS 180-4 vectors", sha256_matches_fips_vectors},
    {"policy parses and its digest verifies", policy_parses_with_its_digest},
    {"tampered policy is refused (digest)", tampered_policy_is_refused},
    {"jump-label site allows only NOP5 or its own target", jump_label_site_allows_only_its_patterns},
    {"static-call site targets function starts only", static_call_targets_function_starts_only},
    {"instruction lengths decode, truncation refused", instruction_lengths_decode},
    {"pinned CR0.WP/CR4.SMEP changes caught and restored", pinned_registers_catch_cleared_wp_and_smep},
};

}  // namespace

SelfTestSummary run_selftests() {
  SelfTestSummary summary;
  for (const SelfTest& test : kSelfTests) {
    const bool ok = test.run();
    console_write(ok ? "  PASS " : "  FAIL ");
    console_write(test.name);
    console_write("\n");
    if (ok) {
      ++summary.passed;
    } else {
      ++summary.failed;
    }
  }
  return summary;
}

}  // namespace vg::image
