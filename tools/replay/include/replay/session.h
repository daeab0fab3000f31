// One replay: a simulated SNP guest big enough for the kernel image, the
// real monitor and KCI on the guest's call path, the policy loaded, the
// kernel booted as the pre-lock kernel would, then trace events sent as the
// guest patches send them. Counts go into a ReplayReport.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "policy/reader.h"
#include "replay/guest_ring.h"
#include "replay/kernel_image.h"
#include "replay/stats.h"
#include "replay/trace.h"
#include "simguest/sim_guest.h"

namespace vg::replay {

// Guest memory map: calling area, ring and request page low, a pool of free
// pages (module text, JIT images, attacker pages), the image at 16 MiB as
// Linux loads it.
inline constexpr uint64_t kCallingAreaGpa = 0x2000;
inline constexpr uint64_t kRingGpa = 0x10000;
inline constexpr uint32_t kRingPages = 16;
inline constexpr uint64_t kRequestGpa = 0x30000;
inline constexpr uint64_t kPoolGpa = 0x100000;
inline constexpr uint64_t kImageGpa = 0x1000000;
inline constexpr uint64_t kPoolPagesAfterImage = 8192;  // 32 MiB more above the image

class Session {
 public:
  // `policy` must stay alive as long as the session (the view borrows it).
  Session(const KernelImage& image, const std::vector<uint8_t>& policy, const Trace& trace,
          ReplayReport& report, std::string run);
  ~Session();

  // Launch, place the image, apply and check the trace's boot records, load
  // the policy, set up the ring, register, lock ro_after_init, free init.
  Result<void, std::string> boot();
  // Replays the trace's events. Events of a phase named "attack" are
  // hostile: they must be denied; every other event must be allowed.
  void replay_events();
  // Goes on with another trace of the same boot (the attack trace is a
  // second recording in the benign trace's boot: its trampolines and
  // modules are the benign trace's), counted under `run`. False if the
  // traces are not of the same kernel and slide.
  bool continue_with(const Trace& next, std::string run);
  // The monitor scenarios translated to the real kernel (attacks.cc).
  void run_attack_scenarios();

  // Helpers for attacks.cc.
  simguest::SimGuest& guest() { return *guest_; }
  const policy::PolicyView& policy() const { return view_; }
  uint64_t runtime_va(uint64_t offset) const { return image_.link_text + slide_ + offset; }
  Gpa image_gpa(uint64_t offset) const { return Gpa(kImageGpa + offset); }
  std::vector<vg_record> drain() { return ring_->drain(); }
  // "function+0xoff" or "object+0xoff" for an offset from _text.
  std::string symbolize(uint64_t offset) const;
  // Free guest pages (page-aligned GPA of the first), contiguous; 0 if none.
  uint64_t take_pages(uint32_t count);
  void give_pages(uint64_t gpa, uint32_t count);
  // One TEXT_PATCH batch (at most VG_PATCH_MAX_ENTRIES entries).
  uint32_t send_batch(const std::vector<PatchBytes>& entries, bool link_addresses);
  PhaseStats& phase_stats(const std::string& phase);
  ReplayReport& report() { return report_; }
  // The module handles of admitted modules still loaded.
  const std::map<std::string, uint64_t>& module_handles() const { return module_handles_; }
  // "name@va" -> (first GPA, pages) of admitted modules still loaded.
  const std::map<std::string, std::pair<uint64_t, uint32_t>>& module_pages() const { return module_pages_; }

 private:
  void check_boot_patches(const std::vector<const PatchBytes*>& boot);
  void replay_patches(const Event& event, const std::vector<PatchBytes>& patches, bool hostile,
                      PhaseStats& stats);
  void replay_module(const Event& event, bool hostile, PhaseStats& stats);
  void replay_module_free(const Event& event, PhaseStats& stats);
  void replay_jit(const Event& event, bool hostile, PhaseStats& stats);
  struct Admission {
    bool admitted = false;
    std::string why;  // when refused
    uint64_t handle = 0, gpa = 0;
    uint32_t pages = 0;
  };
  Admission admit_out_of_line(uint64_t va, uint64_t size, const std::string& name, PhaseStats& stats);
  void replay_cr(const Event& event, bool hostile, PhaseStats& stats);
  // A `data` record as the kernel would make the write: through
  // MEDIATED_WRITE for a write-mediated object, as a plain write otherwise.
  void replay_data(const Event& event, PhaseStats& stats);
  DataStats& data_stats(const std::string& phase, const std::string& protection);
  void replay_out_of_line(const Event& event, PhaseStats& stats);
  std::map<std::string, std::pair<uint64_t, std::pair<uint64_t, uint32_t>>>
      out_of_line_;  // key -> (handle, (gpa, pages))
  // `cause` groups a false positive in the summary (and in --accept).
  void count(PhaseStats& stats, bool hostile, bool denied, const std::string& what, const std::string& cause);
  bool in_image(uint64_t link_va, uint64_t length) const;
  // A note naming the trace line, kept only while there are fewer than 40.
  void note_at_line(uint32_t line, const std::string& text);
  uint64_t out_of_line_gpa(uint64_t va, uint64_t length) const;
  // Why a benign patch was refused, grouped for the summary.
  std::string fp_cause(const vg_record* record, const PatchBytes& culprit) const;

  const KernelImage& image_;
  const std::vector<uint8_t>& policy_bytes_;
  const Trace* trace_;
  ReplayReport& report_;
  std::string run_;
  policy::PolicyView view_{};
  uint64_t slide_ = 0;
  std::unique_ptr<simguest::SimGuest> guest_;
  std::unique_ptr<GuestRing> ring_;
  std::vector<bool> pool_free_;  // per pool page
  std::vector<uint64_t> pool_gpas_;
  // Executable images the replay mapped (modules, JIT images): where their
  // runtime VAs live in guest memory, for patches outside core kernel text.
  struct MappedImage {
    uint64_t va = 0, size = 0, gpa = 0;
    std::string name;
  };
  std::vector<MappedImage> mapped_;
  // Trampolines, JIT images, kprobe instruction pages (not module text).
  static bool is_out_of_line(const MappedImage& image);
  void direct_writes(const std::vector<PatchBytes>& patches, bool hostile, PhaseStats& stats);
  std::map<std::string, uint64_t> module_handles_;                     // "name@va" -> handle
  std::map<std::string, std::pair<uint64_t, uint32_t>> module_pages_;  // "name@va" -> (gpa, pages)
  uint64_t batch_sequence_ = 0;
};

// The stand-in for a module's text: the trace carries the hash of the real
// relocated text, not the bytes, so the replay places deterministic bytes
// derived from (recorded hash, size) and the provisioning step allowlists
// the hash of those bytes. docs/replay.md explains the limit.
std::vector<uint8_t> standin_module_text(const Event& module);

}  // namespace vg::replay
