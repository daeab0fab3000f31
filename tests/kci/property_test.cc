// Property test: random sequences of kernel requests and accesses against
// KCI on the simulated platform. After every step:
//  - no page is both writable and executable for the kernel's VMPL;
//  - kernel text is never writable for the kernel's VMPL;
//  - a page that became read-only for the kernel (locked) never becomes
//    writable again, unless it is an unregistered module's page;
//  - every executable page is in KCI's executable set, and every page KCI
//    manages has exactly the permissions KCI says;
//  - record sequence numbers strictly increase;
//  - a refused request or access changes nothing (RMP + memory snapshots).
// A short run per seed in CI; VMPLGUARD_LONG_PROPERTY=1 runs 10^6 steps.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <set>

#include "requests.h"
#include "world.h"

namespace vg::kci::testing {
namespace {

class Runner {
 public:
  Runner(uint64_t seed, uint32_t flags) : random_(seed), world_(synthetic_kernel()) {
    world_.boot(flags);
    last_sequence_ = world_.last_record().sequence;
  }

  // Returns false (after reporting) when an invariant breaks.
  bool step(uint64_t index) {
    world_.snapshot_into(before_);
    const uint64_t records_before = world_.records();
    bool refused = false;
    const char* what = act(refused);
    if (refused) {
      world_.snapshot_into(after_);
      const std::string diff = world_.difference(before_, after_);
      if (!diff.empty()) return fail(index, what, "refused but changed: " + diff);
    }
    if (world_.records() > records_before) {
      const uint64_t sequence = world_.last_record().sequence;
      if (sequence <= last_sequence_) return fail(index, what, "sequence did not increase");
      last_sequence_ = sequence;
    }
    return check(index, what);
  }

 private:
  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(random_); }
  std::vector<uint8_t> random_bytes(size_t n) {
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = static_cast<uint8_t>(pick(256));
    return out;
  }
  uint64_t any_text_offset() { return pick(world_.kernel().image_size() + 0x2000); }

  PatchEntrySpec random_entry() {
    const auto& sites = world_.kernel().sites;
    const SiteFact& site = sites[pick(sites.size())];
    const uint64_t va = world_.text_va(site.offset);
    switch (pick(6)) {
      case 0: return {va, std::vector<uint8_t>(kNop5.begin(), kNop5.begin() + site.length)};
      case 1:
        return {va, rel32(0xe9, va, world_.text_va(site.patterns.size() > 1 ? site.patterns[1].target : 0))};
      case 2: return {va, rel32(0xe8, va, world_.text_va(0x3000 + 0x100 * pick(3)))};
      case 3: return {va, random_bytes(1 + pick(6))};
      case 4: return {world_.text_va(any_text_offset()), kNop5};
      default: return {va, site.length == 3 ? std::vector<uint8_t>{0x0f, 0x01, 0xca} : kNop5};
    }
  }

  const char* act(bool& refused) {
    switch (pick(14)) {
      case 0:
      case 1: {
        std::vector<PatchEntrySpec> entries;
        for (uint64_t n = 1 + pick(3); n > 0; --n) entries.push_back(random_entry());
        world_.poke(Gpa(kRequestGpa), patch_batch(entries, pick(1000)));
        refused = world_.call(VG_CALL_TEXT_PATCH, kRequestGpa).result != VG_RESULT_SUCCESS;
        return "text patch";
      }
      case 2:
      case 3: {
        const Gpa target = pick(3) == 0 ? World::free_page(static_cast<uint32_t>(pick(64))) + pick(4000)
                                        : world_.text_gpa(any_text_offset() % world_.kernel().image_size());
        refused = !world_.kernel_write(target, random_bytes(1 + pick(8)), world_.text_va(0x5000)).performed;
        return "kernel write";
      }
      case 4: {
        const Gpa target = pick(2) == 0 ? World::free_page(static_cast<uint32_t>(pick(64)))
                                        : world_.text_gpa(any_text_offset() % world_.kernel().image_size());
        refused = !world_.kernel_exec(target, 0xffffffff80000000ull).performed;
        return "kernel exec";
      }
      case 5: {
        const bool good = pick(2) == 0;
        const uint32_t first = static_cast<uint32_t>(pick(60));
        const std::vector<uint8_t> text = good ? world_.kernel().module_hashes[0].bytes()
                                               : std::vector<uint8_t>(0x1000 + pick(0x2000), 0xcc);
        vg_module module{};
        std::snprintf(module.name, sizeof(module.name), "m%u", first);
        module.text_va = 0xffffffffc0000000ull;
        module.text_size = text.size();
        module.page_count = static_cast<uint32_t>((text.size() + 4095) / 4096);
        // Loading writes the text as the kernel would: skip if a page is an
        // admitted image already (the kernel cannot write there).
        for (uint32_t i = 0; i < module.page_count; ++i) {
          module.page_gpa[i] = World::free_page(first + i).raw();
          if (world_.service().page_in_executable_set(World::free_page(first + i))) return "module (skipped)";
        }
        for (uint32_t i = 0; i < module.page_count; ++i) {
          const size_t begin = i * 4096, end = std::min<size_t>(text.size(), begin + 4096);
          world_.poke(World::free_page(first + i),
                      std::vector<uint8_t>(text.data() + begin, text.data() + end));
        }
        if (pick(4) == 0) module.page_gpa[pick(module.page_count)] = kTextGpa + 0x1000 * pick(8);
        world_.poke(Gpa(kRequestGpa),
                    std::vector<uint8_t>(reinterpret_cast<uint8_t*>(&module),
                                         reinterpret_cast<uint8_t*>(&module) + sizeof(module)));
        // The kernel's own loading writes come before the request; the
        // request is what may be refused, so the baseline is taken now.
        world_.snapshot_into(before_);
        const CallOutcome outcome = world_.call(VG_CALL_REGISTER_MODULE, kRequestGpa);
        if (outcome.result == VG_RESULT_SUCCESS) handles_.push_back(outcome.rcx);
        refused = outcome.result != VG_RESULT_SUCCESS;
        return "register module";
      }
      case 6: {
        uint64_t handle =
            pick(3) == 0 || handles_.empty() ? pick(1ull << 40) : handles_[pick(handles_.size())];
        refused = world_.call(VG_CALL_UNREGISTER_MODULE, handle).result != VG_RESULT_SUCCESS;
        return "unregister";
      }
      case 7: {
        const auto& objects = world_.kernel().objects;
        const ObjectFact& object = objects[pick(objects.size())];
        vg_mediated_write request{};
        request.object_va = world_.text_va(object.offset) + (pick(8) == 0 ? 8 : 0);
        request.offset = static_cast<uint32_t>(pick(object.size + 16));
        request.length = static_cast<uint32_t>(1 + pick(40));
        const char* strings[] = {"/sbin/modprobe", "/tmp/../evil", "core", "|/bin/x %p", "rel/path"};
        if (pick(2) == 0) {
          const char* s = strings[pick(5)];
          request.offset = 0;
          request.length = static_cast<uint32_t>(std::strlen(s) + 1);
          std::memcpy(request.bytes, s, request.length);
        } else {
          auto bytes = random_bytes(request.length);
          std::memcpy(request.bytes, bytes.data(), request.length);
        }
        refused =
            world_.call_with(VG_CALL_MEDIATED_WRITE, &request, sizeof(request)).result != VG_RESULT_SUCCESS;
        return "mediated write";
      }
      case 8:
        refused = world_.call(VG_CALL_LOCK_RO_AFTER_INIT).result != VG_RESULT_SUCCESS;
        return "lock ro_after_init";
      case 9: refused = world_.call(VG_CALL_FREE_INIT).result != VG_RESULT_SUCCESS; return "free init";
      case 10: {
        vg_bpf_jit jit{};
        jit.image_va = 0xffffffffa0000000ull;
        jit.image_gpa = World::free_page(static_cast<uint32_t>(pick(70))).raw();
        jit.pages = static_cast<uint32_t>(1 + pick(3));
        const CallOutcome outcome = world_.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit));
        if (outcome.result == VG_RESULT_SUCCESS) handles_.push_back(outcome.rcx);
        refused = outcome.result != VG_RESULT_SUCCESS;
        return "bpf jit";
      }
      case 11: {
        // The kernel tries RMPADJUST itself: the hardware refuses it.
        const Gpa page = world_.text_gpa(0x1000 * pick(0x21));
        const auto outcome =
            world_.platform().guest_rmpadjust(0, Vmpl(3), page, hal::PageSize::k4K, 3u | 0xfu << 8);
        refused = true;
        (void)outcome;
        return "kernel rmpadjust";
      }
      case 12: world_.service().check_watched(); return "check watched";
      default: refused = world_.register_kernel().result != VG_RESULT_SUCCESS; return "register again";
    }
  }

  bool check(uint64_t index, const char* what) {
    const KernelDescription& kernel = world_.kernel();
    for (uint64_t page = 0; page < kGuestPages; ++page) {
      const Gpa gpa(page * kPageSize4K);
      const uint8_t perms = world_.perms(gpa);
      const bool writable = (perms & policy::kPermWrite) != 0;
      const bool executable = (perms & (policy::kPermSupervisorExec | policy::kPermUserExec)) != 0;
      if (writable && executable) return fail(index, what, "W+X page " + std::to_string(gpa.raw()));
      if (executable && !world_.service().page_in_executable_set(gpa)) {
        return fail(index, what, "executable page outside the executable set " + std::to_string(gpa.raw()));
      }
      uint8_t expected = 0;
      if (world_.service().managed_page_perms(gpa, expected) && expected != perms) {
        return fail(index, what, "RMP differs from KCI's view at " + std::to_string(gpa.raw()));
      }
      const bool image = gpa.raw() >= kTextGpa && gpa.raw() < kTextGpa + kernel.image_size();
      if (image) {
        const uint64_t offset = gpa.raw() - kTextGpa;
        if (offset < kernel.regions[0].size && writable) return fail(index, what, "text writable");
        if (!writable) locked_.insert(page);
        if (writable && locked_.count(page)) return fail(index, what, "locked page unlocked");
      }
    }
    return true;
  }

  bool fail(uint64_t index, const char* what, const std::string& why) {
    ADD_FAILURE() << "step " << index << " (" << what << "): " << why;
    return false;
  }

  std::mt19937_64 random_;
  World world_;
  std::vector<uint64_t> handles_;
  std::set<uint64_t> locked_;
  uint64_t last_sequence_ = 0;
  Snapshot before_, after_;
};

uint64_t steps_per_seed() {
  const char* long_run = std::getenv("VMPLGUARD_LONG_PROPERTY");
  return long_run != nullptr && std::strcmp(long_run, "1") == 0 ? 250000 : 400;
}

TEST(KciProperty, InvariantsHoldUnderRandomRequestsAndAccesses) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Runner runner(seed, seed % 2 == 0 ? policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed
                                      : policy::kFlagModulesAllowed);
    const uint64_t steps = steps_per_seed();
    for (uint64_t i = 0; i < steps; ++i) {
      ASSERT_TRUE(runner.step(i)) << "seed " << seed;
    }
  }
}

}  // namespace
}  // namespace vg::kci::testing
