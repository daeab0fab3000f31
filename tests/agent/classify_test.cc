// Verdicts: what the agent calls allowed, a violation, or unverified.
#include <gtest/gtest.h>

#include "agent_fixture.h"

namespace vg::agent {
namespace {

using namespace testing;

constexpr uint64_t kModuleBase = 0xffffffffc0400000ull;
constexpr uint64_t kModuleInit = 0xffffffffc0500000ull;

TEST(Classify, JumpLabelNopAndJumpAtItsSiteAreAllowed) {
  Agent agent;
  ASSERT_TRUE(agent.holder.ok);
  // jmp rel32 from 0x110 to 0x130: e9 + (0x130 - 0x115).
  for (auto bytes :
       {std::vector<uint8_t>{0x0f, 0x1f, 0x44, 0x00, 0x00}, std::vector<uint8_t>{0xe9, 0x1b, 0, 0, 0}}) {
    const Finding finding = agent.classifier.classify(text_patch(at(0x110), bytes));
    EXPECT_EQ(finding.verdict, Verdict::kAllowed);
    EXPECT_EQ(finding.reason, Reason::kSitePattern);
    EXPECT_EQ(finding.site_kinds, policy::kSiteJumpLabel);
  }
  // The two-byte form: nop2 and jmp8 to 0x128.
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x120), {0x66, 0x90})).verdict, Verdict::kAllowed);
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x120), {0xeb, 0x06})).verdict, Verdict::kAllowed);
}

TEST(Classify, JumpToAnotherTargetAtAJumpLabelIsAViolation) {
  Agent agent;
  const Finding finding = agent.classifier.classify(text_patch(at(0x110), {0xe9, 0x00, 0x10, 0, 0}));
  EXPECT_EQ(finding.verdict, Verdict::kViolation);
  EXPECT_EQ(finding.reason, Reason::kPatternNotAllowed);
}

TEST(Classify, PatchLongerThanTheSiteIsAViolation) {
  Agent agent;
  const Finding finding = agent.classifier.classify(text_patch(at(0x120), {0x0f, 0x1f, 0x44, 0x00, 0x00}));
  EXPECT_EQ(finding.verdict, Verdict::kViolation);
  EXPECT_EQ(finding.reason, Reason::kBadLength);
}

TEST(Classify, StaticCallToAFunctionStartIsAllowedToTheMiddleOfOneIsNot) {
  Agent agent;
  // call from 0x810 to 0x300 (victim_fn): rel32 = 0x300 - 0x815.
  const int32_t to_start = 0x300 - 0x815;
  const int32_t to_middle = 0x304 - 0x815;
  std::vector<uint8_t> start{0xe8, 0, 0, 0, 0}, middle{0xe8, 0, 0, 0, 0};
  std::memcpy(&start[1], &to_start, 4);
  std::memcpy(&middle[1], &to_middle, 4);
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x810), start)).verdict, Verdict::kAllowed);
  const Finding bad = agent.classifier.classify(text_patch(at(0x810), middle));
  EXPECT_EQ(bad.verdict, Verdict::kViolation);
  ASSERT_TRUE(bad.has_call_target);
  EXPECT_EQ(bad.call_target, at(0x304));
}

TEST(Classify, RawWriteOutsideAnySiteIsAViolationAttributedToTheModule) {
  Agent agent;
  agent.classifier.classify(module_load("rootkit", kModuleBase, 0x2000, kModuleInit, 0x1000));
  // __text_poke <- text_poke <- rootkit's init function.
  const Finding finding = agent.classifier.classify(
      text_poke(at(0x310), {0x90, 0x90}, {at(0x601), kModuleInit + 0x18, at(0x801)}));
  EXPECT_EQ(finding.verdict, Verdict::kViolation);
  EXPECT_EQ(finding.reason, Reason::kNotASite);
  ASSERT_EQ(finding.culprit_frame, 1);
  EXPECT_EQ(finding.frames[1].space, Space::kModule);
  EXPECT_TRUE(finding.frames[1].module_init);
  EXPECT_EQ(finding.frames[1].offset, 0x18u);
  EXPECT_STREQ(finding.target.kernel_name, "victim_fn");
  EXPECT_EQ(finding.target.offset, 0x10u);
}

TEST(Classify, BatchProtocolWritesInsideASiteAreAllowedPiecewise) {
  Agent agent;
  // int3 first, then the tail, then the first byte of `jmp 0x130`.
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x110), {0xcc})).reason, Reason::kSitePartialWrite);
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x111), {0x1b, 0, 0, 0})).verdict, Verdict::kAllowed);
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x110), {0xe9})).verdict, Verdict::kAllowed);
  // A tail that belongs to no allowed pattern.
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x111), {0x41, 0x41, 0x41, 0x41})).verdict,
            Verdict::kViolation);
}

constexpr uint32_t kKprobePolicy =
    policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed | policy::kFlagKprobesAllowed;

TEST(Classify, KprobeBreakpointIsAllowedOnlyFromTheKprobeMachinery) {
  Agent agent(kKprobePolicy);
  const Finding kprobe = agent.classifier.classify(text_poke(at(0x320), {0xcc}, {at(0x601), at(0x404)}));
  EXPECT_EQ(kprobe.verdict, Verdict::kAllowed);
  EXPECT_EQ(kprobe.reason, Reason::kKprobeBreakpoint);
  // The same int3 with module code on the stack is not the kernel's doing.
  agent.classifier.classify(module_load("rootkit", kModuleBase, 0x2000));
  const Finding forged =
      agent.classifier.classify(text_poke(at(0x320), {0xcc}, {at(0x601), at(0x404), kModuleBase + 0x40}));
  EXPECT_EQ(forged.verdict, Verdict::kViolation);
}

// The kprobe optimizer's detour page, as perf_event_ksymbol announces it.
Event detour_page(uint64_t base) {
  Event ksym;
  ksym.type = EventType::kKsymbol;
  ksym.address = base;
  ksym.size = 0x1000;
  ksym.value = 2;  // PERF_RECORD_KSYMBOL_TYPE_OOL
  const char name[] = "kprobe_optinsn_page";
  std::memcpy(ksym.name.data(), name, sizeof(name) - 1);
  ksym.name_length = sizeof(name) - 1;
  return ksym;
}

std::vector<uint8_t> jmp_from(uint64_t from, uint64_t to) {
  std::vector<uint8_t> jmp{0xe9, 0, 0, 0, 0};
  const auto rel = static_cast<int32_t>(static_cast<int64_t>(to) - static_cast<int64_t>(from + 5));
  std::memcpy(&jmp[1], &rel, 4);
  return jmp;
}

TEST(Classify, OptimizedKprobeJmpIntoARegisteredDetourIsAllowed) {
  Agent agent(kKprobePolicy);
  const uint64_t detour = 0xffffffffc0209000ull;
  const std::vector<uint64_t> optimizer{at(0x610), at(0x920), at(0x801)};
  const Event optimize = text_patch(at(0x320), jmp_from(at(0x320), detour + 0x40), optimizer);
  // Before the page is known the jmp goes nowhere the kernel told us of.
  EXPECT_EQ(agent.classifier.classify(optimize).reason, Reason::kNotASite);
  agent.classifier.classify(detour_page(detour));
  const Finding allowed = agent.classifier.classify(optimize);
  EXPECT_EQ(allowed.verdict, Verdict::kAllowed);
  EXPECT_EQ(allowed.reason, Reason::kKprobeOptimized);
  EXPECT_EQ(allowed.call_target_symbol.space, Space::kRuntimeCode);
  // Not the optimizer on the stack, a module frame on it, a call instead of
  // a jmp, a jmp elsewhere, or no function at the address: not a kprobe.
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x320), jmp_from(at(0x320), detour + 0x40), {at(0x801)}))
                .reason,
            Reason::kNotASite);
  agent.classifier.classify(module_load("rootkit", kModuleBase, 0x2000));
  EXPECT_EQ(agent.classifier
                .classify(text_patch(at(0x320), jmp_from(at(0x320), detour + 0x40),
                                     {at(0x610), at(0x920), kModuleBase + 0x10}))
                .verdict,
            Verdict::kViolation);
  std::vector<uint8_t> call = jmp_from(at(0x320), detour + 0x40);
  call[0] = 0xe8;
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x320), call, optimizer)).reason, Reason::kNotASite);
  EXPECT_EQ(
      agent.classifier.classify(text_patch(at(0x320), jmp_from(at(0x320), at(0x200)), optimizer)).reason,
      Reason::kNotASite);
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x1000), jmp_from(at(0x1000), detour), optimizer)).reason,
            Reason::kNotASite);
}

TEST(Classify, UnoptimizingAKprobeRestoresTheInt3AndFourBytesInsideTheFunction) {
  Agent agent(kKprobePolicy);
  const std::vector<uint64_t> unoptimizer{at(0x610), at(0x950), at(0x801)};
  const Finding int3 = agent.classifier.classify(text_poke(at(0x320), {0xcc}, unoptimizer));
  EXPECT_EQ(int3.verdict, Verdict::kAllowed);
  EXPECT_EQ(int3.reason, Reason::kKprobeUnoptimized);
  const Finding tail = agent.classifier.classify(text_poke(at(0x321), {0x48, 0x89, 0xd3, 0x48}, unoptimizer));
  EXPECT_EQ(tail.verdict, Verdict::kAllowed);
  EXPECT_EQ(tail.reason, Reason::kKprobeUnoptimized);
  // Other shapes, a write past the function's end, or another writer.
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x320), {0x90}, unoptimizer)).verdict,
            Verdict::kViolation);
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x321), {0x48, 0x89, 0xd3}, unoptimizer)).verdict,
            Verdict::kViolation);
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x33e), {0x48, 0x89, 0xd3, 0x48}, unoptimizer)).verdict,
            Verdict::kViolation);
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x321), {0x48, 0x89, 0xd3, 0x48}, {at(0x801)})).verdict,
            Verdict::kViolation);
}

TEST(Classify, KprobesInsideFunctionsAreViolationsWhenThePolicyForbidsThem) {
  Agent agent;  // no kFlagKprobesAllowed: what `vmplguard analyze` writes by default
  const uint64_t detour = 0xffffffffc0209000ull;
  agent.classifier.classify(detour_page(detour));
  const Finding arm = agent.classifier.classify(text_poke(at(0x320), {0xcc}, {at(0x601), at(0x404)}));
  const Finding optimize =
      agent.classifier.classify(text_patch(at(0x320), jmp_from(at(0x320), detour), {at(0x610), at(0x920)}));
  const Finding unoptimize = agent.classifier.classify(text_poke(at(0x320), {0xcc}, {at(0x610), at(0x950)}));
  for (const Finding* finding : {&arm, &optimize, &unoptimize}) {
    EXPECT_EQ(finding->verdict, Verdict::kViolation);
    EXPECT_EQ(finding->reason, Reason::kKprobesForbidden);
  }
  EXPECT_STREQ(to_string(Reason::kKprobesForbidden), "kprobes_forbidden");
}

TEST(Classify, FtraceSiteCallingARegisteredTrampolineIsAllowed) {
  Agent agent;
  const uint64_t trampoline = 0xffffffffc0370000ull;
  const int32_t rel = static_cast<int32_t>(trampoline - (at(0x104) + 5));
  std::vector<uint8_t> call{0xe8, 0, 0, 0, 0};
  std::memcpy(&call[1], &rel, 4);
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x104), call)).verdict, Verdict::kViolation);
  Event ksym;
  ksym.type = EventType::kKsymbol;
  ksym.address = trampoline;
  ksym.size = 0x100;
  ksym.value = 2;  // PERF_RECORD_KSYMBOL_TYPE_OOL
  EXPECT_EQ(agent.classifier.classify(ksym).reason, Reason::kCodeRegistered);
  const Finding allowed = agent.classifier.classify(text_patch(at(0x104), call));
  EXPECT_EQ(allowed.verdict, Verdict::kAllowed);
  EXPECT_EQ(allowed.reason, Reason::kSiteFtraceTrampoline);
  EXPECT_EQ(allowed.call_target_symbol.space, Space::kRuntimeCode);
  ksym.flags = VGP_FLAG_UNREGISTER;
  EXPECT_EQ(agent.classifier.classify(ksym).reason, Reason::kCodeUnregistered);
  EXPECT_EQ(agent.classifier.classify(text_patch(at(0x104), call)).verdict, Verdict::kViolation);
}

TEST(Classify, FentryProbeFramesAreTrimmedFromTheStack) {
  Agent agent;
  Event event = text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00},
                           {0xffffffffc031fa4full, 0xffffffffc031f792ull, at(0x105), at(0x802)});
  event.flags = VGP_FLAG_FENTRY;
  const Finding finding = agent.classifier.classify(event);
  ASSERT_EQ(finding.frame_count, 2);
  EXPECT_STREQ(finding.frames[0].kernel_name, "patched_fn");
  EXPECT_EQ(finding.culprit_frame, -1);
}

TEST(Classify, ModuleTextPatchesAreUnverifiedNotAllowed) {
  Agent agent;
  agent.classifier.classify(module_load("nls_utf8", kModuleBase, 0x1000));
  const Finding finding = agent.classifier.classify(text_patch(kModuleBase + 0x40, {0x66, 0x90}));
  EXPECT_EQ(finding.verdict, Verdict::kUnverified);
  EXPECT_EQ(finding.reason, Reason::kModuleText);
}

TEST(Classify, ModuleLoadFollowsThePolicyFlags) {
  Agent allowed;
  EXPECT_EQ(allowed.classifier.classify(module_load("m", kModuleBase, 0x1000)).verdict, Verdict::kAllowed);
  Agent forbidden(0);
  const Finding finding = forbidden.classifier.classify(module_load("m", kModuleBase, 0x1000));
  EXPECT_EQ(finding.verdict, Verdict::kViolation);
  EXPECT_EQ(finding.reason, Reason::kModulesForbidden);
}

TEST(Classify, ControlRegisterWritesThatDropProtectionsAreViolations) {
  Agent agent;
  Event cr0;
  cr0.type = EventType::kWriteCr0;
  cr0.value = 0x80050033;  // PG, AM, WP, NE, ET, MP, PE
  EXPECT_EQ(agent.classifier.classify(cr0).verdict, Verdict::kAllowed);
  cr0.value &= ~kCr0Wp;
  EXPECT_EQ(agent.classifier.classify(cr0).reason, Reason::kCr0WpCleared);
  Event cr4;
  cr4.type = EventType::kWriteCr4;
  cr4.value = kCr4Smep | kCr4Smap | 0x6f0;
  EXPECT_EQ(agent.classifier.classify(cr4).verdict, Verdict::kAllowed);
  cr4.value &= ~kCr4Smap;
  EXPECT_EQ(agent.classifier.classify(cr4).reason, Reason::kCr4PinnedCleared);
}

TEST(Classify, PermissionChangesOnTheKernelImageAreViolations) {
  Agent agent;
  Event event;
  event.type = EventType::kSetMemoryRw;
  event.address = at(0x1000);
  event.size = 1;
  EXPECT_EQ(agent.classifier.classify(event).reason, Reason::kKernelImagePermission);
  event.address = kModuleBase;
  EXPECT_EQ(agent.classifier.classify(event).verdict, Verdict::kAllowed);
}

TEST(Classify, CriticalObjectsAreNamed) {
  Agent agent;
  Event event;
  event.type = EventType::kSetMemoryRw;
  event.address = at(0x20110);
  const Finding finding = agent.classifier.classify(event);
  EXPECT_STREQ(finding.object_name, "modprobe_path");
}

TEST(Classify, MonitorRecordsKeepTheMonitorsVerdict) {
  Agent agent;
  Event event;
  event.type = EventType::kMonitorRecord;
  event.record.kind = VG_KIND_DATA_WRITE;
  event.record.verdict = VG_VERDICT_DENIED;
  event.record.policy_offset = 0x110;
  event.address = at(0x20100);
  const Finding finding = agent.classifier.classify(event);
  EXPECT_EQ(finding.verdict, Verdict::kViolation);
  EXPECT_EQ(finding.site_kinds, policy::kSiteJumpLabel);
  event.record.verdict = VG_VERDICT_ALLOWED;
  EXPECT_EQ(agent.classifier.classify(event).verdict, Verdict::kAllowed);
}

}  // namespace
}  // namespace vg::agent
