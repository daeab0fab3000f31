// kprobes at non-sites (kFlagKprobesAllowed): int3 at an instruction
// boundary of an untrusted function, optimized to a jmp into an admitted
// out-of-line image, restored to the remembered original bytes; everything
// else at a non-site stays refused.
#include <gtest/gtest.h>

#include "requests.h"
#include "world.h"

namespace vg::kci::testing {
namespace {

// x64_sys_read (0x5000, untrusted) gets a real prologue; instruction
// boundaries are at +0, +1, +4, +6, +10, +15, then one-byte nops to the
// function's end (0x200 bytes), so that the function decodes whole.
const std::vector<uint8_t> kPrologue = {
    0x55,                          // push rbp
    0x48, 0x89, 0xe5,              // mov rbp, rsp
    0x41, 0x57,                    // push r15
    0x48, 0x83, 0xec, 0x20,        // sub rsp, 0x20
    0xb8, 0x01, 0x00, 0x00, 0x00,  // mov eax, 1
};
constexpr uint64_t kFunction = 0x5000;
constexpr uint64_t kFunctionEnd = kFunction + 0x200;
constexpr uint64_t kProbe = kFunction + 4;  // push r15
constexpr uint64_t kDetourPage = 0xffffffffc0004000ull;
constexpr uint64_t kSecondDetourPage = 0xffffffffc0008000ull;

class Kprobes : public ::testing::Test {
 protected:
  void boot(uint32_t flags) {
    world.boot(flags);
    world.poke(world.text_gpa(kFunction), kPrologue);
    world.poke(world.text_gpa(kFunction + kPrologue.size()),
               std::vector<uint8_t>(0x200 - kPrologue.size(), 0x90));
  }
  uint32_t send(uint64_t offset, const std::vector<uint8_t>& bytes) {
    const auto page = patch_batch({{world.text_va(offset), bytes}});
    return world.call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result;
  }
  uint32_t last_reason() const { return world.last_record().detail & 0xffffu; }
  // BPF_JIT_MAP of the kprobe instruction page (out-of-line detours); the
  // handle UNREGISTER_MODULE takes, 0 if refused.
  uint64_t admit_detour_page(uint64_t va = kDetourPage, uint32_t free_page = 40) {
    vg_bpf_jit jit{};
    jit.image_va = va;
    jit.image_gpa = World::free_page(free_page).raw();
    jit.pages = 1;
    const CallOutcome mapped = world.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit));
    EXPECT_EQ(mapped.result, VG_RESULT_SUCCESS);
    return mapped.result == VG_RESULT_SUCCESS ? mapped.rcx : 0;
  }
  std::vector<uint8_t> jmp_from_probe(uint64_t target) { return jmp_from(kProbe, target); }
  std::vector<uint8_t> jmp_from(uint64_t offset, uint64_t target) {
    return rel32(0xe9, world.text_va(offset), target);
  }
  std::vector<uint8_t> text(uint64_t offset, size_t length) {
    return world.read(world.text_gpa(offset), length);
  }

  static constexpr uint32_t kAll =
      policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed | policy::kFlagKprobesAllowed;
  World world{synthetic_kernel()};
};

TEST_F(Kprobes, WithoutTheFlagAnInt3AtANonSiteIsRefusedAsBefore) {
  boot(policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
  EXPECT_EQ(send(kProbe, {0xcc}), VG_RESULT_DENIED);
  EXPECT_EQ(last_reason(), static_cast<uint32_t>(DenyReason::kNotASite));
  EXPECT_EQ(text(kProbe, 1), std::vector<uint8_t>{0x41});
}

TEST_F(Kprobes, ArmAtABoundaryThenRestoreTheOriginalByteDisarms) {
  boot(kAll);
  const uint64_t before = world.records();
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(text(kProbe, 1), std::vector<uint8_t>{0xcc});
  EXPECT_EQ(world.records(), before + 1);
  EXPECT_EQ(world.last_record().kind, VG_KIND_PATCH_APPLIED);
  EXPECT_EQ(world.last_record().policy_offset, kProbe);
  // Wrong bytes are no restore.
  EXPECT_EQ(send(kProbe, {0x90}), VG_RESULT_DENIED);
  EXPECT_EQ(last_reason(), static_cast<uint32_t>(DenyReason::kNotASite));
  ASSERT_EQ(send(kProbe, {0x41}), VG_RESULT_SUCCESS);
  EXPECT_EQ(text(kProbe, kPrologue.size() - 4), std::vector<uint8_t>(kPrologue.begin() + 4, kPrologue.end()));
  // Disarmed: the original byte again is not a kprobe step.
  EXPECT_EQ(send(kProbe, {0x41}), VG_RESULT_DENIED);
}

TEST_F(Kprobes, ArmMidInstructionIsRefused) {
  boot(kAll);
  EXPECT_EQ(send(kFunction + 2, {0xcc}), VG_RESULT_DENIED);   // inside mov rbp, rsp
  EXPECT_EQ(send(kFunction + 11, {0xcc}), VG_RESULT_DENIED);  // inside mov eax's imm32
  EXPECT_EQ(send(kFunction + 1, {0xcc}), VG_RESULT_SUCCESS);
}

TEST_F(Kprobes, BoundariesAreDecodedOverOriginalBytesOfOtherProbes) {
  boot(kAll);
  // push rbp becomes cc (1 byte either way), mov rbp, rsp's first byte too:
  // decoding the live cc would put the next boundary at +2.
  ASSERT_EQ(send(kFunction + 1, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(send(kFunction + 2, {0xcc}), VG_RESULT_DENIED);
  EXPECT_EQ(send(kFunction + 6, {0xcc}), VG_RESULT_SUCCESS);
}

TEST_F(Kprobes, ArmInATrustedFunctionOrWithOtherBytesIsRefused) {
  boot(kAll);
  EXPECT_EQ(send(0x0, {0xcc}), VG_RESULT_DENIED);     // startup_64 is trusted
  EXPECT_EQ(send(0x3004, {0xcc}), VG_RESULT_DENIED);  // ftrace_caller is trusted
  EXPECT_EQ(send(kProbe, {0x90}), VG_RESULT_DENIED);  // not an int3
  EXPECT_EQ(send(kProbe, {0xcc, 0x90}), VG_RESULT_DENIED);
  EXPECT_EQ(send(0x4000, {0xcc}), VG_RESULT_DENIED);  // in no function
}

TEST_F(Kprobes, OptimizeIntoAnAdmittedImageThenRestoreFiveBytes) {
  boot(kAll);
  admit_detour_page();
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  const auto jmp = jmp_from_probe(kDetourPage + 0x80);
  ASSERT_EQ(send(kProbe, jmp), VG_RESULT_SUCCESS);
  EXPECT_EQ(text(kProbe, 5), jmp);
  // Restoring anything but the original five bytes is refused.
  EXPECT_EQ(send(kProbe, {0x41, 0x57, 0x48, 0x83, 0xed}), VG_RESULT_DENIED);
  ASSERT_EQ(send(kProbe, {0x41, 0x57, 0x48, 0x83, 0xec}), VG_RESULT_SUCCESS);
  EXPECT_EQ(text(kFunction, kPrologue.size()), kPrologue);
}

TEST_F(Kprobes, OptimizeElsewhereOrWithoutAnArmedProbeIsRefused) {
  boot(kAll);
  admit_detour_page();
  EXPECT_EQ(send(kProbe, jmp_from_probe(kDetourPage)), VG_RESULT_DENIED);  // not armed
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(send(kProbe, jmp_from_probe(kDetourPage + 0x1000)), VG_RESULT_DENIED);   // past the image
  EXPECT_EQ(send(kProbe, jmp_from_probe(world.text_va(0x5100))), VG_RESULT_DENIED);  // kernel text
  EXPECT_EQ(send(kProbe, rel32(0xe8, world.text_va(kProbe), kDetourPage)), VG_RESULT_DENIED);  // a call
  EXPECT_EQ(text(kProbe, 1), std::vector<uint8_t>{0xcc});
}

TEST_F(Kprobes, UnoptimizeInOneOrTwoWritesGoesBackToInt3) {
  boot(kAll);
  admit_detour_page();
  const std::vector<uint8_t> tail = {0x57, 0x48, 0x83, 0xec};
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  ASSERT_EQ(send(kProbe, jmp_from_probe(kDetourPage)), VG_RESULT_SUCCESS);
  // One write: cc and the original four bytes.
  ASSERT_EQ(send(kProbe, {0xcc, 0x57, 0x48, 0x83, 0xec}), VG_RESULT_SUCCESS);
  ASSERT_EQ(send(kProbe, jmp_from_probe(kDetourPage)), VG_RESULT_SUCCESS);
  // Two writes, as arch_unoptimize_kprobe does: cc at P, then P+1..P+4;
  // the tail must be the original.
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(send(kProbe + 1, {0x90, 0x90, 0x90, 0x90}), VG_RESULT_DENIED);
  ASSERT_EQ(send(kProbe + 1, tail), VG_RESULT_SUCCESS);
  ASSERT_EQ(send(kProbe, {0x41}), VG_RESULT_SUCCESS);
  EXPECT_EQ(text(kFunction, kPrologue.size()), kPrologue);
}

// Linux optimizes over whole instructions that cover the jmp, and the last
// one may straddle P+5 (copy_optimized_instructions()): these are the bytes
// of the real trace's probe at do_sys_openat2+0x10, push rbx (1), mov rbx,
// rdx (3), sub rsp, 0x28 (4) across P+5. The monitor must let it through.
TEST_F(Kprobes, OptimizeOverAnInstructionStraddlingTheJmpsEndIsAccepted) {
  boot(kAll);
  admit_detour_page();
  const uint64_t probe = kFunction + 15;
  const std::vector<uint8_t> head = {0x53, 0x48, 0x89, 0xd3, 0x48, 0x83, 0xec, 0x28};
  world.poke(world.text_gpa(probe), head);
  ASSERT_EQ(send(probe, {0xcc}), VG_RESULT_SUCCESS);
  const auto jmp = jmp_from(probe, kDetourPage + 0x40);
  ASSERT_EQ(send(probe, jmp), VG_RESULT_SUCCESS);
  EXPECT_EQ(text(probe, 5), jmp);
  ASSERT_EQ(send(probe, std::vector<uint8_t>(head.begin(), head.begin() + 5)), VG_RESULT_SUCCESS);
  EXPECT_EQ(text(probe, head.size()), head);
}

// P is a one-byte instruction and the instruction straddling P+5 runs past
// the function's end (the jmp itself would fit): the detour would copy bytes
// of whatever follows the function.
TEST_F(Kprobes, OptimizeWhoseCoveringInstructionsLeaveTheFunctionIsRefused) {
  boot(kAll);
  admit_detour_page();
  const uint64_t probe = kFunctionEnd - 5;
  // mov rbx, rdx at P (3 bytes), then sub rsp, 0x28 (4) from P+3 to P+7.
  world.poke(world.text_gpa(probe), {0x48, 0x89, 0xd3, 0x48, 0x83});
  ASSERT_EQ(send(probe, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(send(probe, jmp_from(probe, kDetourPage)), VG_RESULT_DENIED);
  EXPECT_EQ(last_reason(), static_cast<uint32_t>(DenyReason::kKprobeNotWholeInstructions));
  EXPECT_EQ(world.last_record().kind, VG_KIND_PATCH_DENIED);
  EXPECT_EQ(world.last_record().policy_offset, probe);
  EXPECT_EQ(text(probe, 5), (std::vector<uint8_t>{0xcc, 0x89, 0xd3, 0x48, 0x83}));
  // The probe stays armed and can be disarmed as usual.
  ASSERT_EQ(send(probe, {0x48}), VG_RESULT_SUCCESS);
}

// A one-byte nop at P, and the 3-byte alternative site of stac_user
// (0x2210) straddling P+5: the jmp would overwrite part of a site whose
// bytes only the site's patterns may change.
TEST_F(Kprobes, OptimizeOverAPolicySiteIsRefused) {
  boot(kAll);
  admit_detour_page();
  world.poke(world.text_gpa(0x2200), std::vector<uint8_t>(0x10, 0x90));
  const uint64_t probe = 0x220d;
  ASSERT_EQ(send(probe, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(send(probe, jmp_from(probe, kDetourPage)), VG_RESULT_DENIED);
  EXPECT_EQ(last_reason(), static_cast<uint32_t>(DenyReason::kKprobeNotWholeInstructions));
  EXPECT_EQ(text(probe, 1), std::vector<uint8_t>{0xcc});
}

TEST_F(Kprobes, OptimizeOverAnotherProbeIsRefused) {
  boot(kAll);
  admit_detour_page();
  ASSERT_EQ(send(kProbe + 2, {0xcc}), VG_RESULT_SUCCESS);  // sub rsp, 0x20
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(send(kProbe, jmp_from_probe(kDetourPage)), VG_RESULT_DENIED);
  EXPECT_EQ(last_reason(), static_cast<uint32_t>(DenyReason::kKprobeNotWholeInstructions));
}

// A jump of the function into the replaced bytes would run the jmp's rel32
// as code (can_optimize() refuses the same). Jumps to P itself or to the end
// of the covering instructions stay fine.
TEST_F(Kprobes, OptimizeWhereTheFunctionJumpsIntoTheReplacedBytesIsRefused) {
  boot(kAll);
  admit_detour_page();
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  // jne from +15 (next instruction at +17) to P+2 (the sub inside the jmp).
  world.poke(world.text_gpa(kFunction + 15), {0x75, static_cast<uint8_t>(kProbe + 2 - (kFunction + 17))});
  EXPECT_EQ(send(kProbe, jmp_from_probe(kDetourPage)), VG_RESULT_DENIED);
  EXPECT_EQ(last_reason(), static_cast<uint32_t>(DenyReason::kKprobeJumpedInto));
  // jne rel32 (0f 85, 6 bytes) from +15 to P+5, inside the sub the jmp
  // straddles: rel32() of opcode 85 one byte on gives the same displacement.
  world.poke(world.text_gpa(kFunction + 15), {0x0f});
  world.poke(world.text_gpa(kFunction + 16),
             rel32(0x85, world.text_va(kFunction + 16), world.text_va(kProbe + 5)));
  EXPECT_EQ(send(kProbe, jmp_from_probe(kDetourPage)), VG_RESULT_DENIED);
  EXPECT_EQ(last_reason(), static_cast<uint32_t>(DenyReason::kKprobeJumpedInto));

  // jmp to P and to P+6 (mov eax, 1: the first instruction after them).
  world.poke(world.text_gpa(kFunction + 15),
             {0xeb, static_cast<uint8_t>(kProbe - (kFunction + 17)), 0xeb,
              static_cast<uint8_t>(kProbe + 6 - (kFunction + 19)), 0x90, 0x90, 0x90, 0x90});
  EXPECT_EQ(send(kProbe, jmp_from_probe(kDetourPage)), VG_RESULT_SUCCESS);
}

TEST_F(Kprobes, UnregisteringAnImageAnOptimizedProbeJumpsIntoIsRefused) {
  boot(kAll);
  const uint64_t detours = admit_detour_page();
  ASSERT_NE(detours, 0u);
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  ASSERT_EQ(send(kProbe, jmp_from_probe(kDetourPage + 0x80)), VG_RESULT_SUCCESS);

  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, detours).result, VG_RESULT_DENIED);
  const vg_record& record = world.last_record();
  EXPECT_EQ(record.kind, VG_KIND_MODULE_DENIED);
  EXPECT_EQ(record.detail, static_cast<uint32_t>(DenyReason::kImageInUse));
  EXPECT_EQ(record.policy_offset, kProbe);
  EXPECT_EQ(record.address, kDetourPage);
  EXPECT_EQ(record.value, kDetourPage + 0x80);
  EXPECT_EQ(world.perms(World::free_page(40)), policy::kPermRead | policy::kPermSupervisorExec)
      << "the image stays admitted";

  // Half unoptimized (int3 at P, the rel32 still behind it): still refused.
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, detours).result, VG_RESULT_DENIED);
  // Unoptimized: the probe is an int3 again and the image may go.
  ASSERT_EQ(send(kProbe + 1, {0x57, 0x48, 0x83, 0xec}), VG_RESULT_SUCCESS);
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, detours).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.perms(World::free_page(40)), policy::kPermRead | policy::kPermWrite);
}

TEST_F(Kprobes, UnregisteringIsAcceptedOnceTheOptimizedProbeIsRestored) {
  boot(kAll);
  const uint64_t detours = admit_detour_page();
  const uint64_t other = admit_detour_page(kSecondDetourPage, 41);
  ASSERT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
  ASSERT_EQ(send(kProbe, jmp_from_probe(kDetourPage + 0xff0)), VG_RESULT_SUCCESS);
  // A probe into one image does not hold another.
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, other).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, detours).result, VG_RESULT_DENIED);
  ASSERT_EQ(send(kProbe, {0x41, 0x57, 0x48, 0x83, 0xec}), VG_RESULT_SUCCESS);  // freed
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, detours).result, VG_RESULT_SUCCESS);
}

TEST_F(Kprobes, AFullProbeTableRefusesTheNextArm) {
  boot(kAll);
  // Past the prologue the function is one-byte nops: 0x200 - 15 boundaries.
  for (uint32_t armed = 0; armed < kMaxArmedProbes; ++armed) {
    ASSERT_EQ(send(kFunction + 15 + armed, {0xcc}), VG_RESULT_SUCCESS) << "probe " << armed;
  }
  EXPECT_EQ(send(kProbe, {0xcc}), VG_RESULT_DENIED);
  ASSERT_EQ(send(kFunction + 15, {0x90}), VG_RESULT_SUCCESS);  // disarm one
  EXPECT_EQ(send(kProbe, {0xcc}), VG_RESULT_SUCCESS);
}

TEST_F(Kprobes, AKprobeStepInABatchOfSeveralIsRefused) {
  boot(kAll);
  const auto page = patch_batch({{world.text_va(kProbe), {0xcc}}, {world.text_va(0x2210), kNop3}});
  EXPECT_EQ(world.call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result, VG_RESULT_DENIED);
  EXPECT_EQ(text(kProbe, 1), std::vector<uint8_t>{0x41});
}

}  // namespace
}  // namespace vg::kci::testing
