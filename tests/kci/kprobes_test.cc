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
// boundaries are at +0, +1, +4, +6, +10, +15 (then 2-byte `00 00`).
const std::vector<uint8_t> kPrologue = {
    0x55,                          // push rbp
    0x48, 0x89, 0xe5,              // mov rbp, rsp
    0x41, 0x57,                    // push r15
    0x48, 0x83, 0xec, 0x20,        // sub rsp, 0x20
    0xb8, 0x01, 0x00, 0x00, 0x00,  // mov eax, 1
};
constexpr uint64_t kFunction = 0x5000;
constexpr uint64_t kProbe = kFunction + 4;  // push r15
constexpr uint64_t kDetourPage = 0xffffffffc0004000ull;

class Kprobes : public ::testing::Test {
 protected:
  void boot(uint32_t flags) {
    world.boot(flags);
    world.poke(world.text_gpa(kFunction), kPrologue);
  }
  uint32_t send(uint64_t offset, const std::vector<uint8_t>& bytes) {
    const auto page = patch_batch({{world.text_va(offset), bytes}});
    return world.call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result;
  }
  uint32_t last_reason() const { return world.last_record().detail & 0xffffu; }
  // BPF_JIT_MAP of the kprobe instruction page (out-of-line detours).
  void admit_detour_page() {
    vg_bpf_jit jit{};
    jit.image_va = kDetourPage;
    jit.image_gpa = World::free_page(40).raw();
    jit.pages = 1;
    ASSERT_EQ(world.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit)).result, VG_RESULT_SUCCESS);
  }
  std::vector<uint8_t> jmp_from_probe(uint64_t target) { return rel32(0xe9, world.text_va(kProbe), target); }
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

TEST_F(Kprobes, AFullProbeTableRefusesTheNextArm) {
  boot(kAll);
  // Past the prologue, one-byte nops to the function's end (0x200 bytes).
  world.poke(world.text_gpa(kFunction + 15), std::vector<uint8_t>(0x200 - 15, 0x90));
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
