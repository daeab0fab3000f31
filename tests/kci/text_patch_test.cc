// TEXT_PATCH: decode the batch from a private copy, validate every entry,
// then apply all of them or none.
#include <gtest/gtest.h>

#include "requests.h"
#include "world.h"

namespace vg::kci::testing {
namespace {

class TextPatch : public ::testing::Test {
 protected:
  void SetUp() override { world.boot(); }
  CallOutcome send(const std::vector<PatchEntrySpec>& entries, uint64_t sequence = 1) {
    auto page = patch_batch(entries, sequence);
    world.poke(Gpa(kRequestGpa), page);
    return world.call(VG_CALL_TEXT_PATCH, kRequestGpa);
  }
  World world{synthetic_kernel()};
  const uint64_t jump_site = world.text_va(0x1010);
  const uint64_t ftrace_site = world.text_va(0x2000);
  const uint64_t static_call_site = world.text_va(0x2110);
};

TEST_F(TextPatch, AppliesABatchOfAllowedEntriesWithOneRecord) {
  const uint64_t before = world.records();
  const auto jmp = rel32(0xe9, jump_site, world.text_va(0x1100));
  const auto call = rel32(0xe8, ftrace_site, world.text_va(0x3000));
  ASSERT_EQ(send({{jump_site, jmp}, {ftrace_site, call}}, 42).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.read(world.text_gpa(0x1010), 5), jmp);
  EXPECT_EQ(world.read(world.text_gpa(0x2000), 5), call);
  EXPECT_EQ(world.records(), before + 1);
  EXPECT_EQ(world.last_record().kind, VG_KIND_PATCH_APPLIED);
  EXPECT_EQ(world.last_record().value, 42u);
  EXPECT_EQ(world.last_record().detail, 2u);
  EXPECT_EQ(world.last_record().policy_offset, 0x1010u);
}

TEST_F(TextPatch, StaticCallMayTargetAnyFunctionStartButNothingElse) {
  ASSERT_EQ(send({{static_call_site, rel32(0xe8, static_call_site, world.text_va(0x3200))}}).result,
            VG_RESULT_SUCCESS);
  EXPECT_EQ(send({{static_call_site, rel32(0xe8, static_call_site, world.text_va(0x3204))}}).result,
            VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail & 0xffffu, static_cast<uint32_t>(DenyReason::kBytesNotAllowed));
}

TEST_F(TextPatch, OneBadEntryRefusesTheWholeBatch) {
  const Snapshot before = world.snapshot();
  const auto good = rel32(0xe9, jump_site, world.text_va(0x1100));
  const auto evil = rel32(0xe9, ftrace_site, world.text_va(0x5000));
  ASSERT_EQ(send({{jump_site, good}, {ftrace_site, evil}}, 7).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.difference(before, world.snapshot()), "");
  const vg_record& record = world.last_record();
  EXPECT_EQ(record.kind, VG_KIND_PATCH_DENIED);
  EXPECT_EQ(record.address, ftrace_site);
  EXPECT_EQ(record.policy_offset, 0x2000u);
  EXPECT_EQ(record.detail, static_cast<uint32_t>(DenyReason::kBytesNotAllowed) | 1u << 16);
  EXPECT_EQ(record.value, 7u);
}

TEST_F(TextPatch, RefusesANonSite) {
  ASSERT_EQ(send({{world.text_va(0x2001), kNop5}}).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().policy_offset, 0x2001u);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kNotASite));
}

TEST_F(TextPatch, RefusesAddressesOutsideText) {
  ASSERT_EQ(send({{world.text_va(0x15000), kNop5}}).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kOutsideText));
  ASSERT_EQ(send({{world.text_va(0) - 0x1000, kNop5}}).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().policy_offset, ~0u);
}

TEST_F(TextPatch, RefusesALengthOtherThanTheSitesPatterns) {
  ASSERT_EQ(send({{world.text_va(0x2210), kNop5}}).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kLengthMismatch));
  EXPECT_EQ(send({{world.text_va(0x2210), kNop3}}).result, VG_RESULT_SUCCESS);
}

TEST_F(TextPatch, RefusesOverlappingEntries) {
  ASSERT_EQ(send({{jump_site, kNop5}, {jump_site, kNop5}}).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kOverlap) | 1u << 16);
}

TEST_F(TextPatch, RefusesMalformedBatches) {
  auto page = patch_batch({{jump_site, kNop5}});
  page[0] ^= 1;  // magic
  world.poke(Gpa(kRequestGpa), page);
  EXPECT_EQ(world.call(VG_CALL_TEXT_PATCH, kRequestGpa).result, VG_RESULT_INVALID_FORMAT);
  EXPECT_EQ(world.last_record().kind, VG_KIND_REQUEST_MALFORMED);
  EXPECT_EQ(send({}).result, VG_RESULT_INVALID_FORMAT);  // count 0
  auto reserved = patch_batch({{jump_site, kNop5}});
  reserved[sizeof(vg_patch_batch) + 9] = 1;  // entry.reserved[0]
  world.poke(Gpa(kRequestGpa), reserved);
  EXPECT_EQ(world.call(VG_CALL_TEXT_PATCH, kRequestGpa).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.call(VG_CALL_TEXT_PATCH, kRequestGpa + 8).result, VG_RESULT_INVALID_ADDRESS);
  EXPECT_EQ(world.call(VG_CALL_TEXT_PATCH, kGuestPages * kPageSize4K).result, VG_RESULT_INVALID_ADDRESS);
}

TEST_F(TextPatch, InitTextSitesCloseWithFreeInit) {
  const uint64_t init_site = world.text_va(0x1e010);
  EXPECT_EQ(send({{init_site, rel32(0xe9, init_site, world.text_va(0x1e080))}}).result, VG_RESULT_SUCCESS);
  ASSERT_EQ(world.call(VG_CALL_FREE_INIT).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(send({{init_site, kNop5}}).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kOutsideText));
}

TEST_F(TextPatch, RestoringTheOriginalBytesIsAPatchLikeAnyOther) {
  // Boot bytes of the ftrace site are NOP5 (zero-filled image here: the
  // kernel writes it first). Enable, then restore: both are patterns.
  ASSERT_EQ(send({{ftrace_site, kNop5}}).result, VG_RESULT_SUCCESS);
  ASSERT_EQ(send({{ftrace_site, rel32(0xe8, ftrace_site, world.text_va(0x3000))}}).result, VG_RESULT_SUCCESS);
  ASSERT_EQ(send({{ftrace_site, kNop5}}).result, VG_RESULT_SUCCESS);
  // A kprobe's int3 is no pattern of any site: refused, and so its removal
  // never arises.
  EXPECT_EQ(send({{world.text_va(0x5000), {0xcc}}}).result, VG_RESULT_DENIED);
}

TEST_F(TextPatch, AChangeToTheBatchAfterTheCopyHasNoEffect) {
  const auto legit = rel32(0xe9, jump_site, world.text_va(0x1100));
  struct Race {
    World* world;
    std::vector<uint8_t> evil_page;
  } race{&world, patch_batch({{jump_site, rel32(0xe9, jump_site, world.text_va(0x5000))}})};
  g_after_copy_hook = {[](void* context, Gpa) {
                         auto* r = static_cast<Race*>(context);
                         r->world->poke(Gpa(kRequestGpa), r->evil_page);
                       },
                       &race};
  ASSERT_EQ(send({{jump_site, legit}}).result, VG_RESULT_SUCCESS);
  g_after_copy_hook = {};
  EXPECT_EQ(world.read(world.text_gpa(0x1010), 5), legit);
  EXPECT_EQ(world.read(Gpa(kRequestGpa), 4096), race.evil_page) << "the race did happen";
}

TEST_F(TextPatch, NeedsARegisteredKernel) {
  World fresh(synthetic_kernel());
  fresh.launch();
  EXPECT_EQ(fresh.call(VG_CALL_TEXT_PATCH, kRequestGpa).result, VG_RESULT_NOT_REGISTERED);
}

}  // namespace
}  // namespace vg::kci::testing

namespace vg::kci::testing {
namespace {

// Out-of-line code (ftrace ops trampolines, BPF trampolines) lives outside
// the image; once the kernel has it admitted with BPF_JIT_MAP, an ftrace
// site may call it, and nothing else may (the real 6.12.117 replay showed
// every fentry attach refused before).
TEST(TextPatchTrampolines, FtraceSiteMayCallAnAdmittedTrampolineOnly) {
  World world(synthetic_kernel());
  world.boot(policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
  const uint64_t trampoline = 0xffffffffc0004000ull;
  const uint64_t ftrace_site = world.text_va(0x2000);
  const uint64_t jump_label_site = world.text_va(0x1010);
  auto patch = [&](uint64_t site, uint8_t opcode, uint64_t target) {
    const auto page = patch_batch({{site, rel32(opcode, site, target)}});
    return world.call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result;
  };
  // Not admitted yet: refused.
  EXPECT_EQ(patch(ftrace_site, 0xe8, trampoline + 0x40), VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail & 0xffff, static_cast<uint32_t>(DenyReason::kBytesNotAllowed));
  vg_bpf_jit jit{};
  jit.image_va = trampoline;
  jit.image_gpa = World::free_page(40).raw();
  jit.pages = 1;
  const CallOutcome mapped = world.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit));
  ASSERT_EQ(mapped.result, VG_RESULT_SUCCESS);
  EXPECT_EQ(patch(ftrace_site, 0xe8, trampoline + 0x40), VG_RESULT_SUCCESS);
  EXPECT_EQ(world.read(world.text_gpa(0x2000), 5), rel32(0xe8, ftrace_site, trampoline + 0x40));
  // Past the image, or from a site that is not an ftrace site: refused.
  EXPECT_EQ(patch(ftrace_site, 0xe8, trampoline + 0x1000), VG_RESULT_DENIED);
  EXPECT_EQ(patch(jump_label_site, 0xe9, trampoline + 0x40), VG_RESULT_DENIED);
  // The trampoline cannot go while the site still calls it: its pages could
  // be admitted again as other code, entered through the stale call.
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, mapped.rcx).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().kind, VG_KIND_MODULE_DENIED);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kImageInUse));
  EXPECT_EQ(world.last_record().policy_offset, 0x2000u);
  EXPECT_EQ(world.last_record().value, trampoline + 0x40);
  // A jmp enters it as well.
  ASSERT_EQ(patch(ftrace_site, 0xe9, trampoline + 0x10), VG_RESULT_SUCCESS);
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, mapped.rcx).result, VG_RESULT_DENIED);
  // Patched back to its NOP (what ftrace does first), the trampoline may go.
  const auto nop = patch_batch({{ftrace_site, kNop5}});
  ASSERT_EQ(world.call_with(VG_CALL_TEXT_PATCH, nop.data(), nop.size()).result, VG_RESULT_SUCCESS);
  // Released: refused again.
  ASSERT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, mapped.rcx).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(patch(ftrace_site, 0xe8, trampoline + 0x80), VG_RESULT_DENIED);
}

// Without kFlagBpfJitAllowed no trampoline can be admitted, so the rule
// never opens: the ftrace site keeps its policy patterns only.
TEST(TextPatchTrampolines, WithoutBpfJitTheRuleIsClosed) {
  World world(synthetic_kernel());
  world.boot(policy::kFlagModulesAllowed);
  const uint64_t site = world.text_va(0x2000);
  const auto page = patch_batch({{site, rel32(0xe8, site, 0xffffffffc0004040ull)}});
  EXPECT_EQ(world.call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result, VG_RESULT_DENIED);
}

// The kernel writes its admitted out-of-line code (trampolines, JIT images,
// kprobe instruction pages) through the monitor: allowed wholly inside an
// admitted image, written at the image's GPA, refused across its end, after
// its release, and in a batch that overlaps itself. The kernel itself still
// cannot write the image.
TEST(TextPatchOutOfLine, WritesToAnAdmittedImageGoThroughTheMonitor) {
  World world(synthetic_kernel());
  world.boot(policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
  const uint64_t image_va = 0xffffffffc0004000ull;
  const Gpa image_gpa = World::free_page(40);
  vg_bpf_jit jit{};
  jit.image_va = image_va;
  jit.image_gpa = image_gpa.raw();
  jit.pages = 2;
  const CallOutcome mapped = world.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit));
  ASSERT_EQ(mapped.result, VG_RESULT_SUCCESS);
  const std::vector<uint8_t> code = {0x55, 0x48, 0x89, 0xe5, 0xc9, 0xc3};
  auto write = [&](const std::vector<PatchEntrySpec>& entries) {
    const auto page = patch_batch(entries);
    return world.call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result;
  };
  // Across the page boundary inside the image, and a kernel-text site in the same batch.
  EXPECT_EQ(write({{image_va + 0xffd, code}, {world.text_va(0x1010), kNop5}}), VG_RESULT_SUCCESS);
  EXPECT_EQ(world.read(image_gpa + 0xffd, code.size()), code);
  EXPECT_EQ(world.last_record().kind, VG_KIND_PATCH_APPLIED);
  EXPECT_FALSE(world.kernel_write(image_gpa + 0x10, {0xcc}).performed);
  // Past the image's end: refused, nothing written.
  EXPECT_EQ(write({{image_va + 0x1ffd, code}}), VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail & 0xffff, static_cast<uint32_t>(DenyReason::kOutsideText));
  // Overlapping entries: refused.
  EXPECT_EQ(write({{image_va + 0x100, code}, {image_va + 0x102, code}}), VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail & 0xffff, static_cast<uint32_t>(DenyReason::kOverlap));
  EXPECT_NE(world.read(image_gpa + 0x100, code.size()), code);
  // Released: refused.
  ASSERT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, mapped.rcx).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(write({{image_va + 0x200, code}}), VG_RESULT_DENIED);
}

// A module's text is not out-of-line code the policy trusts: the monitor
// does not write it for the kernel.
TEST(TextPatchOutOfLine, ModuleTextIsNotWrittenForTheKernel) {
  World world(synthetic_kernel());
  world.boot(policy::kFlagModulesAllowed | policy::kFlagModulesUnrestricted | policy::kFlagBpfJitAllowed);
  vg_module module{};
  std::memcpy(module.name, "any_module", 11);
  module.text_va = 0xffffffffc0010000ull;
  module.text_size = 0x1000;
  module.page_count = 1;
  module.page_gpa[0] = World::free_page(50).raw();
  ASSERT_EQ(world.call_with(VG_CALL_REGISTER_MODULE, &module, sizeof(module)).result, VG_RESULT_SUCCESS);
  const auto page = patch_batch({{module.text_va + 0x10, {0xcc}}});
  EXPECT_EQ(world.call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.last_record().detail & 0xffff, static_cast<uint32_t>(DenyReason::kOutsideText));
}

}  // namespace
}  // namespace vg::kci::testing
