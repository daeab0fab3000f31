// vmplguard-replay's session over hand-written traces against the synthetic
// kernel (tests/scenarios/kernel.txt): the real monitor and KCI on the
// simulated platform, reached through the guest's call path. Proves the
// counting a user reads in the summary: allowed, denied, false positives,
// round trips, sites patched, boot-check misses, attack attribution.
#include <gtest/gtest.h>

#include <cstring>

#include "replay/session.h"
#include "replay/summary.h"
#include "world.h"

namespace vg::replay {
namespace {

using kci::testing::synthetic_kernel;

// The synthetic kernel's image as a loader would place it: zeros, with the
// on-disk NOP at the jump-label site 0x1010 and at the ftrace site 0x2000.
KernelImage synthetic_image() {
  const auto& kernel = synthetic_kernel();
  KernelImage image;
  image.path = "synthetic";
  image.build_id = kernel.build_id;
  image.link_text = kernel.link_text_va;
  image.entry_syscall = kernel.link_text_va + 0x800;
  image.bytes.assign((kernel.image_size() + 4095) & ~uint64_t{4095}, 0);
  const uint8_t nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
  std::memcpy(image.bytes.data() + 0x1010, nop5, 5);
  std::memcpy(image.bytes.data() + 0x2000, nop5, 5);
  return image;
}

std::string header() {
  std::string id;
  char pair[3];
  for (uint8_t byte : synthetic_kernel().build_id) {
    std::snprintf(pair, sizeof(pair), "%02x", byte);
    id += pair;
  }
  return "vgtrace 1\nkernel 6.12.0-vg-synthetic " + id + " ffffffff81000000 3e00000\n";
}

struct Replayed {
  ReplayReport report;
  PhaseStats total(const std::string& phase) const {
    for (const PhaseStats& p : report.phases)
      if (p.phase == phase) return p;
    return {};
  }
};

void replay(const std::string& body, Replayed& out, bool scenarios = false, uint32_t version = 1) {
  static const KernelImage image = synthetic_image();
  static const std::vector<uint8_t> policy = kci::testing::build_policy(synthetic_kernel());
  std::string text = header() + body + "end 0 0\n";
  text[8] = static_cast<char>('0' + version);  // "vgtrace N"
  auto trace = parse_trace(text, "hand.vgtrace");
  ASSERT_TRUE(trace.ok()) << trace.error();
  Session session(image, policy, trace.value(), out.report, "benign");
  auto booted = session.boot();
  ASSERT_TRUE(booted.ok()) << booted.error();
  session.replay_events();
  if (scenarios) session.run_attack_scenarios();
}

// A static key flipped on and off: two batches at a jump-label site, each
// one round trip, both allowed; the summary reports no false positive.
TEST(ReplaySynthetic, StaticKeyFlipsAreAllowedOneRoundTripPerBatch) {
  Replayed r;
  replay(
      "phase static-key\n"
      "batch 1 jump_label 1\npoke ffffffff81001010 0f1f440000 e9eb000000\n"
      "batch 2 jump_label 1\npoke ffffffff81001010 e9eb000000 0f1f440000\n",
      r);
  const PhaseStats s = r.total("static-key");
  EXPECT_EQ(s.events, 2u);
  EXPECT_EQ(s.allowed, 2u);
  EXPECT_EQ(s.false_positives, 0u);
  EXPECT_EQ(s.round_trips, 2u);
  EXPECT_EQ(s.sites_patched, 2u);
  EXPECT_EQ(r.report.trace_mismatches, 0u);
  EXPECT_EQ(summary_status(r.report), 0);
}

// Format 2's data records go to the monitor as the kernel's writes would:
// a locked object (init_cred owns its page here) is refused, and since the
// kernel did it, that is a false positive the summary names loudly; a
// write-mediated one goes through MEDIATED_WRITE (allowed, or refused by the
// path rule); a watched one is written and reported at the next entry.
TEST(ReplaySynthetic, DataRecordsReachTheMonitorByProtectionClass) {
  Replayed r;
  replay(
      "phase module\n"
      "data init_cred ffffffff81016000 4096 locked_after_boot 2 1\npiece 8 0000 0101\n"
      "data kptr_restrict ffffffff81019200 4 write_mediated 1 1\npiece 0 00 01\n"
      "data init_task ffffffff81019400 1024 watched 1 1\npiece 10 00 01\n"
      "phase sysctl\n"
      "data modprobe_path ffffffff81017000 4096 write_mediated 4 1\npiece 0 00000000 2e2e2f00\n",
      r, false, 2);
  const PhaseStats module = r.total("module");
  EXPECT_EQ(module.events, 3u);
  EXPECT_EQ(module.allowed, 2u);
  EXPECT_EQ(module.false_positives, 1u);
  EXPECT_EQ(module.round_trips, 1u);  // the mediated write
  ASSERT_EQ(r.report.data.size(), 4u);
  const DataStats& locked = r.report.data[0];
  EXPECT_EQ(locked.protection, "locked_after_boot");
  EXPECT_EQ(locked.records, 1u);
  EXPECT_EQ(locked.bytes_changed, 2u);
  EXPECT_EQ(locked.denied, 1u);
  EXPECT_EQ(r.report.data[1].protection, "write_mediated");
  EXPECT_EQ(r.report.data[1].allowed, 1u);
  EXPECT_EQ(r.report.data[2].protection, "watched");
  EXPECT_EQ(r.report.data[2].allowed, 1u);
  EXPECT_EQ(r.report.data[2].reported, 1u);
  EXPECT_EQ(r.report.data[3].phase, "sysctl");
  EXPECT_EQ(r.report.data[3].denied, 1u);  // "../" is not an absolute path
  ASSERT_EQ(r.report.locked_rewrites.size(), 1u);
  EXPECT_EQ(r.report.locked_rewrites[0].rfind("benign module init_cred: 2 bytes, write denied", 0), 0u)
      << r.report.locked_rewrites[0];
  // The mediated write landed; the refused ones are kept in step by the harness.
  EXPECT_EQ(r.report.allowed_not_written, 0u);
  EXPECT_EQ(r.report.false_positive_causes.count(
                "locked_after_boot object rewritten by the kernel after boot (write denied): init_cred"),
            1u);
  const std::string text = summary_text(r.report, RunFacts{});
  EXPECT_NE(text.find("FALSE POSITIVE benign module init_cred"), std::string::npos) << text;
  EXPECT_EQ(summary_status(r.report), 1);
}

// A benign event the policy does not allow is a false positive, and the
// replay exits non-zero.
TEST(ReplaySynthetic, ABenignPatchOutsideEverySiteIsAFalsePositive) {
  Replayed r;
  replay("phase kprobe\npoke ffffffff81001020 00 cc\n", r);
  const PhaseStats s = r.total("kprobe");
  EXPECT_EQ(s.false_positives, 1u);
  EXPECT_EQ(s.denied, 1u);
  ASSERT_EQ(r.report.false_positive_details.size(), 1u);
  EXPECT_NE(r.report.false_positive_details[0].find("kNotASite"), std::string::npos);
  EXPECT_NE(r.report.false_positive_details[0].find("static_key_user+0x20"), std::string::npos);
  EXPECT_EQ(summary_status(r.report), 1);
}

// A batch larger than one request page goes as several round trips, as the
// guest patch splits it (VG_PATCH_MAX_ENTRIES = 127).
TEST(ReplaySynthetic, BatchesOverOnePageSplitIntoSeveralRoundTrips) {
  std::string body = "phase attack\nbatch 9 unknown 130\n";
  for (int i = 0; i < 130; ++i) body += "poke ffffffff81001010 0f1f440000 0f1f440000\n";
  Replayed r;
  replay(body, r);
  const PhaseStats s = r.total("attack");
  EXPECT_EQ(s.round_trips, 2u);
  EXPECT_EQ(s.patch_entries, 130u);
  EXPECT_EQ(s.denied, 1u);  // overlapping entries: the batch is one hostile event
  EXPECT_EQ(s.attacks_missed, 0u);
}

// The boot check: a pre-lock change inside a site to an allowed pattern
// passes; one outside every site, and one that leaves a site in bytes no
// pattern allows, are misses counted by site kind.
TEST(ReplaySynthetic, BootCheckCountsMissesPerSiteKind) {
  Replayed r;
  replay(
      "phase boot\n"
      "boot ffffffff81001010 0f1f440000 e9eb000000\n"
      "boot ffffffff81001020 00 90\n"
      "boot ffffffff81002001 1f4400 fbffff\n",
      r);
  const BootCheck& b = r.report.boot;
  EXPECT_EQ(b.lines, 3u);
  EXPECT_EQ(b.sites, 2u);
  EXPECT_EQ(b.sites_allowed, 1u);
  EXPECT_EQ(b.outside_sites, 1u);
  EXPECT_EQ(b.misses_by_kind.at("no site"), 1u);
  EXPECT_EQ(b.misses_by_kind.at("ftrace"), 1u);
}

// The in-guest attack: a text_poke outside any site in the attack phase is
// denied and attributed to function+offset; an unlisted module is denied
// with kHashNotAllowed; clearing CR0.WP is reported as a pinned register.
TEST(ReplaySynthetic, AttackPhaseEventsAreDeniedWithAttribution) {
  Replayed r;
  replay(
      "phase attack\n"
      "module vg_attack ffffffffc0800000 100 " +
          std::string(64, 'a') +
          "\n"
          "poke ffffffff81005010 00 cc\n"
          "cr cr0 80040033\n",
      r);
  const PhaseStats s = r.total("attack");
  EXPECT_EQ(s.attacks, 3u);
  EXPECT_EQ(s.attacks_missed, 0u);
  ASSERT_EQ(r.report.attacks.size(), 3u);
  EXPECT_TRUE(r.report.attacks[0].denied);
  EXPECT_TRUE(r.report.attacks[0].attributed) << r.report.attacks[0].got;
  EXPECT_TRUE(r.report.attacks[1].denied);
  EXPECT_TRUE(r.report.attacks[1].attributed) << r.report.attacks[1].got;
  EXPECT_NE(r.report.attacks[1].got.find("x64_sys_read+0x10"), std::string::npos) << r.report.attacks[1].got;
  EXPECT_TRUE(r.report.attacks[2].denied);
  EXPECT_TRUE(r.report.attacks[2].attributed) << r.report.attacks[2].got;
}

}  // namespace
}  // namespace vg::replay
