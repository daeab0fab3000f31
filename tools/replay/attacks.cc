// The monitor's attack scenarios (tests/scenarios/*.scn) translated to the
// real kernel: the same techniques against the real objects, functions and
// sites named by the real policy, run after the trace's events on the same
// guest. Each must be refused (or, for objects that share pages with other
// data in the stock layout, detected) with the right attribution.
#include <cstdio>
#include <cstring>

#include "replay/records.h"
#include "replay/session.h"

namespace vg::replay {
namespace {

constexpr char kTarget[] = "devkmsg_read";  // the in-guest attack's target function
constexpr uint64_t kTargetOffset = 0x10;

class AttackRunner {
 public:
  explicit AttackRunner(Session& session) : s_(session), stats_(session.phase_stats("scenarios")) {}

  const policy::CriticalObject* object(const char* name) const {
    for (const policy::CriticalObject& object : s_.policy().objects())
      if (std::strcmp(s_.policy().string(object.name), name) == 0) return &object;
    return nullptr;
  }
  const policy::Function* function(const char* name) const {
    for (const policy::Function& function : s_.policy().functions())
      if (std::strcmp(s_.policy().string(function.name), name) == 0) return &function;
    return nullptr;
  }
  // A site of `kind` (perhaps also others) in resident text (init text is
  // freed by now).
  const policy::Site* site_of_kind(uint16_t kind, uint8_t length) const {
    for (const policy::Site& site : s_.policy().sites()) {
      if ((site.kinds & kind) == 0 || site.length != length) continue;
      const policy::Region* in = s_.policy().find_region(site.offset);
      if (in != nullptr && in->kind == static_cast<uint16_t>(policy::RegionKind::kText)) return &site;
    }
    return nullptr;
  }
  const policy::Region* region(policy::RegionKind kind) const {
    for (const policy::Region& region : s_.policy().regions())
      if (region.kind == static_cast<uint16_t>(kind)) return &region;
    return nullptr;
  }

  void not_applicable(const std::string& scenario, const std::string& why) {
    s_.report().not_applicable.push_back(scenario + ": " + why);
  }

  // Collects the records of the attack and judges them: the last record of
  // `kind` must exist; `offset` (unless ~0) and `name` (unless empty) must
  // match its attribution.
  void judge(const std::string& name, const std::string& source, uint16_t kind, uint64_t offset,
             const std::string& attribution, uint64_t round_trips) {
    s_.guest().call(VG_CALL_QUERY);  // a monitor entry: watched objects, pinned registers
    const std::vector<vg_record> records = s_.drain();
    const vg_record* found = nullptr;
    for (const vg_record& record : records)
      if (record.kind == kind) found = &record;
    AttackOutcome outcome;
    outcome.name = name;
    outcome.source = source;
    outcome.expected = std::string(kind_name(kind)) + (attribution.empty() ? "" : " naming " + attribution);
    outcome.got = describe_record(s_, found != nullptr ? found : last_denial(records));
    outcome.detected_only = found != nullptr && kind == VG_KIND_WATCHED_CHANGED;
    outcome.denied = found != nullptr && (found->verdict != VG_VERDICT_ALLOWED || outcome.detected_only);
    outcome.attributed = found != nullptr && (offset == ~0ull || found->policy_offset == offset) &&
                         (attribution.empty() || outcome.got.find(attribution) != std::string::npos);
    s_.report().attacks.push_back(outcome);
    stats_.events += 1;
    stats_.attacks += 1;
    stats_.round_trips += round_trips;
    stats_.patch_entries += round_trips;
    if (outcome.denied) {
      stats_.denied += 1;
    } else {
      stats_.allowed += 1;
      stats_.attacks_missed += 1;
    }
  }

  // A write to a critical object: refused if the object owns its pages,
  // else detected at the next entry (docs/kci.md "Critical data").
  void object_write(const std::string& scenario, const char* name) {
    const policy::CriticalObject* target = object(name);
    if (target == nullptr)
      return not_applicable(scenario, std::string(name) + " is not in this kernel's policy");
    const uint8_t hostile[8] = {0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x00};
    const auto outcome = s_.guest().kernel_write(s_.image_gpa(target->offset), hostile,
                                                 std::min<size_t>(sizeof(hostile), target->size), rip());
    judge(scenario + " (" + name + ")", "tests/scenarios",
          outcome.performed ? VG_KIND_WATCHED_CHANGED : VG_KIND_DATA_WRITE, target->offset, name, 0);
  }

  void patch(const std::string& scenario, uint64_t offset, const std::vector<uint8_t>& bytes,
             uint32_t reason) {
    PatchBytes entry;
    entry.va = link_text() + offset;  // link-time, as traces give kernel addresses
    entry.length = static_cast<uint8_t>(bytes.size());
    std::memcpy(entry.new_bytes.data(), bytes.data(), bytes.size());
    s_.send_batch({entry}, true);
    const std::string attribution =
        std::string(deny_reason_name(reason)) + " entry 0 at " + s_.symbolize(offset);
    judge(scenario, "tests/scenarios", VG_KIND_PATCH_DENIED, offset, attribution, 1);
  }

  // e8/e9 rel32 from `site` to `target` (offsets from _text; the slide cancels).
  static std::vector<uint8_t> rel32(uint8_t opcode, uint64_t site, uint64_t target, uint8_t length) {
    std::vector<uint8_t> out(length, 0x90);
    const int32_t rel = static_cast<int32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(site + 5));
    out[0] = opcode;
    std::memcpy(out.data() + 1, &rel, 4);
    if (length > 5) {
      // Pad with the canonical NOP of the remaining length.
      const ByteView nop = policy::canonical_nop(static_cast<uint8_t>(length - 5));
      if (nop.size == static_cast<size_t>(length - 5)) std::memcpy(out.data() + 5, nop.data, nop.size);
    }
    return out;
  }

  void pinned(const std::string& scenario, const char* reg, void (*change)(hal::VmsaState&)) {
    change(s_.guest().kernel_vmsa());
    judge(scenario, "tests/scenarios", VG_KIND_PINNED_REGISTER, ~0ull, reg, 0);
  }

  uint64_t rip() const { return target_ != nullptr ? s_.runtime_va(target_->offset) : s_.runtime_va(0); }
  uint64_t link_text() const { return s_.policy().header().link_text_va; }

  void run();

 private:
  Session& s_;
  PhaseStats& stats_;
  const policy::Function* target_ = nullptr;
};

void AttackRunner::run() {
  target_ = function(kTarget);
  if (target_ == nullptr) return not_applicable("all", std::string(kTarget) + " is not in the policy");
  // The first byte at or after devkmsg_read+0x10 that is not a site.
  uint64_t hook = target_->offset + kTargetOffset;
  while (s_.policy().find_site(static_cast<uint32_t>(hook)) != nullptr) hook += 1;
  const std::string hook_name = s_.symbolize(hook);

  {  // 01: inline hook by a direct write to text.
    const uint8_t int3 = 0xcc;
    s_.guest().kernel_write(s_.image_gpa(hook), &int3, 1, rip());
    judge("01 direct_text_write", "tests/scenarios", VG_KIND_TEXT_WRITE, hook, hook_name, 0);
  }
  patch("02 patch_request_at_non_site", hook, {0xcc}, 1);
  if (const policy::Site* site = site_of_kind(policy::kSiteJumpLabel, 5)) {
    patch("03 jump_label_attacker_target", site->offset, rel32(0xe9, site->offset, hook, 5), 2);
  } else {
    not_applicable("03 jump_label_attacker_target", "no 5-byte jump-label site");
  }
  object_write("04 sys_call_table_overwrite", "sys_call_table");
  object_write("05 idt_table_overwrite", "idt_table");
  pinned("06 idtr_hijack", "IDTR", [](hal::VmsaState& v) { v.idtr_base = 0xffff888000100000ull; });
  pinned("07 cr0_wp_clear", "CR0", [](hal::VmsaState& v) { v.cr0 &= ~(1ull << 16); });
  pinned("08 cr4_smep_smap_clear", "CR4", [](hal::VmsaState& v) { v.cr4 &= ~(3ull << 20); });
  pinned("09 lstar_rewrite", "LSTAR", [](hal::VmsaState& v) { v.lstar = 0xffff888000200000ull; });
  if (const uint64_t page = s_.take_pages(1); page != 0) {  // 10: ret2dir-style data page execution
    s_.guest().kernel_exec(Gpa(page), 0xffff888000000000ull + page);
    judge("10 data_page_made_executable", "tests/scenarios", VG_KIND_EXEC_VIOLATION, ~0ull, "", 0);
    s_.give_pages(page, 1);
  }
  if (const policy::CriticalObject* data = object("modprobe_path")) {  // 11: executing .data
    s_.guest().kernel_exec(s_.image_gpa(data->offset), s_.runtime_va(data->offset));
    judge("11 kernel_data_executed", "tests/scenarios", VG_KIND_EXEC_VIOLATION, data->offset, "", 0);
  }
  if (const uint64_t page = s_.take_pages(1); page != 0) {  // 12: an LKM rootkit nobody allowlisted
    const std::vector<uint8_t> text(4096, 0xc3);
    s_.guest().kernel_write(Gpa(page), text.data(), text.size(), rip());
    vg_module request{};
    std::snprintf(request.name, sizeof(request.name), "rootkit");
    request.text_va = 0xffffffffc0800000ull;
    request.text_size = text.size();
    request.page_count = 1;
    request.page_gpa[0] = page;
    s_.guest().call_with(VG_CALL_REGISTER_MODULE, &request, sizeof(request));
    judge("12 unlisted_module", "tests/scenarios", VG_KIND_MODULE_DENIED, ~0ull, "kHashNotAllowed", 1);
    s_.give_pages(page, 1);
  }
  object_write("13 modprobe_path_overwrite", "modprobe_path");
  object_write("14 core_pattern_overwrite", "core_pattern");
  object_write("15 selinux_enforcing_cleared", "selinux_state");
  object_write("16 init_cred_overwrite", "init_cred");
  {  // 17: the kernel tries to change the RMP itself, then through the SVSM.
    const Gpa page = s_.image_gpa(hook & ~(kPageSize4K - 1));
    const auto outcome =
        s_.guest().platform().guest_rmpadjust(0, Vmpl(3), page, hal::PageSize::k4K, 3u | 0xfu << 8);
    const bool refused = s_.guest().service().vet_pvalidate(0, page, false) == false;
    judge("17 rmpadjust_by_kernel", "tests/scenarios", VG_KIND_RMP_TAMPER, ~0ull, "", 0);
    if (outcome.fault == hal::sim::Fault::kNone && outcome.rax == 0)
      s_.report().notes.push_back("17: RMPADJUST at VMPL3 succeeded");
    if (!refused) s_.report().notes.push_back("17: PVALIDATE rescind of a text page was not refused");
  }
  not_applicable(
      "18 request_changed_during_validation",
      "kernel-independent (the batch copy), covered by the synthetic scenario and the KCI unit test");
  not_applicable("19 older_policy_replayed",
                 "policy loading happens before registration; covered by the synthetic scenario");
  not_applicable("20 tampered_policy",
                 "policy loading happens before registration; covered by the synthetic scenario");
  if ((s_.policy().header().flags & policy::kFlagBpfJitAllowed) == 0) {
    if (const uint64_t page = s_.take_pages(1); page != 0) {
      vg_bpf_jit request{0xffffffffa0000000ull, page, 1, 0};
      s_.guest().call_with(VG_CALL_BPF_JIT_MAP, &request, sizeof(request));
      judge("21 bpf_jit_not_allowed", "tests/scenarios", VG_KIND_EXEC_VIOLATION, ~0ull, "", 1);
      s_.give_pages(page, 1);
    }
  } else {
    not_applicable("21 bpf_jit_not_allowed",
                   "the provisioned policy allows BPF JIT (the benign trace JITs programs)");
  }
  if (const policy::Site* site = site_of_kind(policy::kSiteFtrace, 5)) {
    patch("22 ftrace_site_hijack", site->offset, rel32(0xe8, site->offset, hook, 5), 2);
  } else {
    not_applicable("22 ftrace_site_hijack", "no 5-byte ftrace site");
  }
  if (const policy::Site* site = site_of_kind(policy::kSiteStaticCall, 5)) {
    patch("23 static_call_to_gadget", site->offset, rel32(0xe8, site->offset, hook, 5), 2);
  } else {
    not_applicable("23 static_call_to_gadget", "no 5-byte static-call site");
  }
  if (const policy::Region* ro = region(policy::RegionKind::kRoAfterInit)) {  // 24
    const uint8_t zero[8] = {};
    s_.guest().kernel_write(s_.image_gpa(ro->start), zero, sizeof(zero), rip());
    judge("24 ro_after_init_write_after_lock", "tests/scenarios", VG_KIND_DATA_WRITE, ro->start, "", 0);
  }
  if (const policy::Region* init = region(policy::RegionKind::kInitText)) {  // 25
    s_.guest().kernel_exec(s_.image_gpa(init->start), s_.runtime_va(init->start));
    judge("25 freed_init_text_executed", "tests/scenarios", VG_KIND_EXEC_VIOLATION, init->start, "", 0);
  }
  if (!s_.module_pages().empty()) {  // 26: hooking an admitted module's text
    const auto& [key, pages] = *s_.module_pages().begin();
    const uint8_t int3 = 0xcc;
    s_.guest().kernel_write(Gpa(pages.first), &int3, 1, rip());
    judge("26 module_text_rewritten (" + key + ")", "tests/scenarios", VG_KIND_TEXT_WRITE, ~0ull, "", 0);
  } else {
    not_applicable("26 module_text_rewritten", "no module of the trace is still loaded");
  }
  const char* mediated[][3] = {{"27 modprobe_path_traversal_via_sysctl", "modprobe_path", "../../tmp/x"},
                               {"29 core_pattern_relative_pipe", "core_pattern", "|tmp/x"}};
  for (const auto& [scenario, name, text] : mediated) {
    const policy::CriticalObject* target = object(name);
    if (target == nullptr ||
        target->protection != static_cast<uint16_t>(policy::Protection::kWriteMediated)) {
      not_applicable(
          scenario,
          std::string(name) + " is not write-mediated in this policy (the stock layout shares its page)");
      continue;
    }
    vg_mediated_write request{};
    request.object_va = s_.runtime_va(target->offset);
    request.length = static_cast<uint32_t>(std::strlen(text) + 1);
    std::memcpy(request.bytes, text, request.length);
    s_.guest().call_with(VG_CALL_MEDIATED_WRITE, &request, sizeof(request));
    judge(scenario, "tests/scenarios", VG_KIND_MEDIATED_DENIED, ~0ull, "kBadPath", 1);
  }
  {  // 28: erasing the records
    const uint8_t zero[64] = {};
    s_.guest().kernel_write(Gpa(kRingGpa + kPageSize4K), zero, sizeof(zero), rip());
    judge("28 telemetry_ring_forgery", "tests/scenarios", VG_KIND_DATA_WRITE, ~0ull, "", 0);
  }
}

}  // namespace

void Session::run_attack_scenarios() {
  AttackRunner(*this).run();
}

}  // namespace vg::replay
