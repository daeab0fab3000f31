#include "replay/session.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "base/sha256.h"
#include "replay/records.h"

namespace vg::replay {
namespace {

std::string hex_bytes(const uint8_t* bytes, size_t length) {
  std::string out;
  char pair[3];
  for (size_t i = 0; i < length; ++i) {
    std::snprintf(pair, sizeof(pair), "%02x", bytes[i]);
    out += pair;
  }
  return out;
}

std::string hex_va(uint64_t va) {
  char text[24];
  std::snprintf(text, sizeof(text), "%#llx", static_cast<unsigned long long>(va));
  return text;
}

std::string module_key(const Event& event) {
  char va[24];
  std::snprintf(va, sizeof(va), "@%llx", static_cast<unsigned long long>(event.va));
  return event.name + va;
}

}  // namespace

std::vector<uint8_t> standin_module_text(const Event& module) {
  std::vector<uint8_t> text(module.size);
  // A SHA-256 counter stream keyed by the recorded hash: distinct modules get
  // distinct text, and the same trace always gives the same bytes.
  for (uint64_t block = 0; block * 32 < text.size(); ++block) {
    Sha256 hash;
    hash.update(module.sha256.data(), module.sha256.size());
    hash.update(&block, sizeof(block));
    const Sha256Digest digest = hash.finish();
    const size_t take = std::min<size_t>(32, text.size() - block * 32);
    std::memcpy(text.data() + block * 32, digest.bytes, take);
  }
  return text;
}

Session::Session(const KernelImage& image, const std::vector<uint8_t>& policy, const Trace& trace,
                 ReplayReport& report, std::string run)
    : image_(image), policy_bytes_(policy), trace_(&trace), report_(report), run_(std::move(run)) {}

Session::~Session() = default;

PhaseStats& Session::phase_stats(const std::string& phase) {
  for (PhaseStats& stats : report_.phases)
    if (stats.run == run_ && stats.phase == phase) return stats;
  report_.phases.push_back(PhaseStats{run_, phase});
  return report_.phases.back();
}

bool Session::in_image(uint64_t link_va, uint64_t length) const {
  return link_va >= image_.link_text && link_va - image_.link_text <= image_.bytes.size() &&
         length <= image_.bytes.size() - (link_va - image_.link_text);
}

bool Session::is_out_of_line(const MappedImage& image) {
  return image.name == "bpf_jit" || image.name.starts_with("bpf ") || image.name.starts_with("ool ");
}

// The GPA of a runtime range inside admitted out-of-line code, or 0.
uint64_t Session::out_of_line_gpa(uint64_t va, uint64_t length) const {
  for (const MappedImage& m : mapped_)
    if (is_out_of_line(m) && va >= m.va && va - m.va + length <= m.size) return m.gpa + (va - m.va);
  return 0;
}

std::string Session::symbolize(uint64_t offset) const {
  char text[160];
  if (offset > 0xffffffffull) return "?";
  if (const policy::CriticalObject* object = view_.find_object(offset)) {
    std::snprintf(text, sizeof(text), "%s+0x%llx", view_.string(object->name),
                  static_cast<unsigned long long>(offset - object->offset));
    return text;
  }
  if (const policy::Function* function = view_.find_function(static_cast<uint32_t>(offset))) {
    std::snprintf(text, sizeof(text), "%s+0x%llx", view_.string(function->name),
                  static_cast<unsigned long long>(offset - function->offset));
    return text;
  }
  std::snprintf(text, sizeof(text), "_text+0x%llx", static_cast<unsigned long long>(offset));
  return text;
}

uint64_t Session::take_pages(uint32_t count) {
  if (count == 0) return 0;
  uint32_t run = 0;
  for (size_t i = 0; i < pool_gpas_.size(); ++i) {
    const bool continues = run > 0 && pool_gpas_[i] == pool_gpas_[i - 1] + kPageSize4K;
    run = pool_free_[i] ? (continues ? run + 1 : 1) : 0;
    if (run == count) {
      const size_t first = i + 1 - count;
      for (size_t j = first; j <= i; ++j) pool_free_[j] = false;
      return pool_gpas_[first];
    }
  }
  return 0;
}

void Session::give_pages(uint64_t gpa, uint32_t count) {
  auto it = std::lower_bound(pool_gpas_.begin(), pool_gpas_.end(), gpa);
  for (uint32_t i = 0; i < count && it != pool_gpas_.end(); ++i, ++it)
    pool_free_[static_cast<size_t>(it - pool_gpas_.begin())] = true;
}

Result<void, std::string> Session::boot() {
  auto parsed = policy::PolicyView::parse(ByteView{policy_bytes_.data(), policy_bytes_.size()});
  if (!parsed.ok())
    return Err{std::string("policy refused by the reader: ") + policy::describe(parsed.error())};
  view_ = parsed.value();
  const policy::FileHeader& header = view_.header();
  const std::vector<uint8_t> policy_id(header.build_id, header.build_id + header.build_id_size);
  if (policy_id != image_.build_id) return Err{"the policy was made from another kernel than " + image_.path};
  if (trace_->kernel.build_id != image_.build_id)
    return Err{trace_->file + ": traced kernel " + trace_->kernel.release + " is not " + image_.path +
               " (build ids differ)"};
  if (trace_->kernel.link_text != image_.link_text)
    return Err{trace_->file + ": LINK_TEXT differs from the vmlinux's _text"};
  slide_ = trace_->kernel.kaslr_offset;

  simguest::GuestLayout layout;
  layout.vcpus = 1;
  layout.text_gpa = kImageGpa;
  layout.image_size = image_.bytes.size();
  layout.guest_pages = (kImageGpa + layout.image_size) / kPageSize4K + kPoolPagesAfterImage;
  layout.text_va = image_.link_text + slide_;
  layout.ring_gpa = kRingGpa;
  layout.ring_pages = kRingPages;
  layout.request_gpa = kRequestGpa;
  layout.calling_area_gpa = kCallingAreaGpa;
  guest_ = std::make_unique<simguest::SimGuest>(layout, simguest::Path::kMonitor);
  guest_->set_boot_registers(image_.entry_syscall != 0 ? image_.entry_syscall + slide_ : layout.text_va,
                             layout.text_va);
  ring_ = std::make_unique<GuestRing>(*guest_);
  for (uint64_t gpa = kPoolGpa; gpa < kImageGpa; gpa += kPageSize4K) pool_gpas_.push_back(gpa);
  for (uint64_t gpa = kImageGpa + layout.image_size; gpa < layout.guest_pages * kPageSize4K;
       gpa += kPageSize4K)
    pool_gpas_.push_back(gpa);
  pool_free_.assign(pool_gpas_.size(), true);

  guest_->launch();
  // SAFETY: the loader places the image as VMPL0 before the kernel runs.
  if (!guest_->poke(Gpa(kImageGpa), image_.bytes.data(), image_.bytes.size()))
    return Err{std::string("the image does not fit the simulated guest")};

  // The pre-lock kernel patches itself (alternatives, static calls, ...):
  // apply the recorded differences as its own writes, then check them.
  std::vector<const PatchBytes*> boot;
  for (const Event& event : trace_->events) {
    if (event.kind != EventKind::kBoot) continue;
    const PatchBytes& patch = event.patches[0];
    report_.boot.lines += 1;
    report_.boot.bytes += patch.length;
    if (!in_image(patch.va, patch.length)) {
      report_.boot.outside_image += 1;
      continue;
    }
    const uint64_t offset = patch.va - image_.link_text;
    uint8_t current[kMaxPatchBytes];
    guest_->read(image_gpa(offset), current, patch.length);
    if (std::memcmp(current, patch.old_bytes.data(), patch.length) != 0) report_.trace_mismatches += 1;
    const auto outcome =
        guest_->kernel_write(image_gpa(offset), patch.new_bytes.data(), patch.length, runtime_va(0));
    if (!outcome.performed)
      return Err{trace_->file + ":" + std::to_string(patch.line) +
                 ": boot write refused before registration"};
    boot.push_back(&patch);
  }
  check_boot_patches(boot);

  auto loaded = guest_->load_policy(ByteView{policy_bytes_.data(), policy_bytes_.size()});
  if (!loaded.ok()) return Err{std::string("KCI refused the policy: ") + kci::describe(loaded.error().error)};
  if (guest_->setup_ring().result != VG_RESULT_SUCCESS) return Err{std::string("SETUP_RING failed")};
  drain();
  const kci::CallOutcome registered =
      guest_->register_kernel(image_.build_id.data(), static_cast<uint32_t>(image_.build_id.size()));
  if (registered.result != VG_RESULT_SUCCESS) {
    char text[64];
    std::snprintf(text, sizeof(text), "REGISTER_KERNEL refused: %#x", registered.result);
    return Err{std::string(text)};
  }
  // User space starts after mark_rodata_ro and free_initmem: the trace's
  // events happen in the final phase.
  if (guest_->call(VG_CALL_LOCK_RO_AFTER_INIT).result != VG_RESULT_SUCCESS)
    return Err{std::string("LOCK_RO_AFTER_INIT failed")};
  if (guest_->call(VG_CALL_FREE_INIT).result != VG_RESULT_SUCCESS)
    return Err{std::string("FREE_INIT failed")};
  for (const vg_record& record : drain())
    if (record.verdict != VG_VERDICT_ALLOWED)
      report_.notes.push_back(run_ + ": boot produced " + describe_record(*this, &record));
  return Ok{};
}

void Session::count(PhaseStats& stats, bool hostile, bool denied, const std::string& what,
                    const std::string& cause) {
  stats.events += 1;
  if (denied) {
    stats.denied += 1;
  } else {
    stats.allowed += 1;
  }
  if (hostile) {
    stats.attacks += 1;
    if (!denied) stats.attacks_missed += 1;
  } else if (denied) {
    stats.false_positives += 1;
    report_.false_positive_causes[cause] += 1;
    if (report_.false_positive_details.size() < 40)
      report_.false_positive_details.push_back(run_ + ": " + what);
  }
}

uint32_t Session::send_batch(const std::vector<PatchBytes>& entries, bool link_addresses) {
  std::vector<uint8_t> page(16 + entries.size() * sizeof(vg_patch_entry), 0);
  vg_patch_batch header{};
  header.magic = VG_PATCH_MAGIC;
  header.count = static_cast<uint16_t>(entries.size());
  header.sequence = ++batch_sequence_;
  std::memcpy(page.data(), &header, 16);
  for (size_t i = 0; i < entries.size(); ++i) {
    vg_patch_entry entry{};
    const bool image = link_addresses && in_image(entries[i].va, entries[i].length);
    entry.address = image ? entries[i].va + slide_ : entries[i].va;
    entry.length = entries[i].length;
    std::memcpy(entry.bytes, entries[i].new_bytes.data(), entries[i].length);
    std::memcpy(page.data() + 16 + i * sizeof(entry), &entry, sizeof(entry));
  }
  return guest_->call_with(VG_CALL_TEXT_PATCH, page.data(), page.size()).result;
}

// Guest patch 3 asks the monitor only for core kernel text
// (core_kernel_text()); the kernel writes module and JIT text itself. Those
// pages are executable and never writable for the kernel, so each such write
// is a violation exit: modelled as the kernel's write at VMPL3.
void Session::direct_writes(const std::vector<PatchBytes>& patches, bool hostile, PhaseStats& stats) {
  for (const PatchBytes& patch : patches) {
    const MappedImage* image = nullptr;
    for (const MappedImage& m : mapped_)
      if (patch.va >= m.va && patch.va - m.va + patch.length <= m.size) image = &m;
    if (image == nullptr) {
      report_.unmodelled_writes += 1;
      note_at_line(patch.line,
                   "write at " + hex_va(patch.va) + " is in no image the replay knows: not modelled");
      continue;
    }
    const auto outcome = guest_->kernel_write(Gpa(image->gpa + (patch.va - image->va)),
                                              patch.new_bytes.data(), patch.length, runtime_va(0));
    const std::vector<vg_record> records = drain();
    count(stats, hostile, !outcome.performed,
          "direct write to " + image->name + "+" + hex_va(patch.va - image->va) + " line " +
              std::to_string(patch.line) + ": " + describe_record(*this, last_denial(records)) +
              " (the guest patches send only core kernel text to the monitor)",
          "direct write to " +
              std::string(is_out_of_line(*image) ? "a JIT image or trampoline" : "module text") +
              ": the guest patches send only core kernel text to the monitor");
    // Keep the image in step with the trace after a false positive.
    if (!outcome.performed && !hostile)
      guest_->poke(Gpa(image->gpa + (patch.va - image->va)), patch.new_bytes.data(), patch.length);
  }
}

std::string Session::fp_cause(const vg_record* record, const PatchBytes& culprit) const {
  if (record == nullptr) return "no record";
  const uint32_t reason = record->detail & 0xffff;
  if (reason == static_cast<uint32_t>(kci::DenyReason::kBytesNotAllowed) && culprit.length == 5 &&
      (culprit.new_bytes[0] == 0xe8 || culprit.new_bytes[0] == 0xe9)) {
    int32_t rel = 0;
    std::memcpy(&rel, culprit.new_bytes.data() + 1, 4);
    const uint64_t target = culprit.va + 5 + static_cast<uint64_t>(static_cast<int64_t>(rel));
    if (!in_image(target, 1)) return "call/jmp to a trampoline outside the kernel image (ftrace ops or BPF)";
  }
  return std::string(kind_name(record->kind)) + " " + deny_reason_name(reason);
}

void Session::replay_patches(const Event& event, const std::vector<PatchBytes>& all, bool hostile,
                             PhaseStats& stats) {
  // Core text and admitted out-of-line code (trampolines, JIT images, kprobe
  // instruction pages) go to the monitor; module text the kernel writes itself.
  std::vector<PatchBytes> patches, elsewhere;
  for (const PatchBytes& patch : all)
    (in_image(patch.va, patch.length) || out_of_line_gpa(patch.va, patch.length) != 0 ? patches : elsewhere)
        .push_back(patch);
  if (!elsewhere.empty()) direct_writes(elsewhere, hostile, stats);
  if (patches.empty()) return;
  bool denied = false;
  std::string why, cause;
  for (size_t first = 0; first < patches.size(); first += VG_PATCH_MAX_ENTRIES) {
    const size_t count = std::min<size_t>(VG_PATCH_MAX_ENTRIES, patches.size() - first);
    const std::vector<PatchBytes> chunk(patches.begin() + static_cast<long>(first),
                                        patches.begin() + static_cast<long>(first + count));
    for (const PatchBytes& patch : chunk) {
      if (!in_image(patch.va, patch.length)) continue;
      uint8_t current[kMaxPatchBytes];
      guest_->read(image_gpa(patch.va - image_.link_text), current, patch.length);
      if (std::memcmp(current, patch.old_bytes.data(), patch.length) != 0) report_.trace_mismatches += 1;
    }
    const uint32_t result = send_batch(chunk, true);
    stats.round_trips += 1;
    stats.patch_entries += count;
    const std::vector<vg_record> records = drain();
    if (result == VG_RESULT_SUCCESS) {
      stats.sites_patched += count;
      // An allowed patch must have landed: the monitor said yes and wrote.
      for (const PatchBytes& patch : chunk) {
        uint8_t now[kMaxPatchBytes];
        const uint64_t ool = out_of_line_gpa(patch.va, patch.length);
        if (in_image(patch.va, patch.length))
          guest_->read(image_gpa(patch.va - image_.link_text), now, patch.length);
        else if (ool != 0)
          guest_->read(Gpa(ool), now, patch.length);
        else
          continue;
        if (std::memcmp(now, patch.new_bytes.data(), patch.length) != 0) {
          report_.allowed_not_written += 1;
          note_at_line(patch.line, "allowed, but the text at " + hex_va(patch.va) + " is not the new bytes");
        }
      }
      continue;
    }
    denied = true;
    const vg_record* record = last_denial(records);
    const size_t index = record != nullptr ? record->detail >> 16 : 0;
    const PatchBytes& culprit = chunk[std::min(index, chunk.size() - 1)];
    why = describe_record(*this, record) + " at " +
          (in_image(culprit.va, culprit.length) ? symbolize(culprit.va - image_.link_text)
                                                : "runtime VA " + hex_va(culprit.va)) +
          " bytes " + hex_bytes(culprit.new_bytes.data(), culprit.length);
    if (hostile) {
      AttackOutcome outcome;
      outcome.name = std::string("trace ") + (event.kind == EventKind::kBatch ? "batch" : "poke") + " " +
                     (in_image(culprit.va, culprit.length) ? symbolize(culprit.va - image_.link_text)
                                                           : "outside the image");
      outcome.source = trace_->file + ":" + std::to_string(culprit.line);
      outcome.expected = "PATCH_DENIED naming " + outcome.name.substr(outcome.name.rfind(' ') + 1);
      outcome.got = describe_record(*this, record);
      outcome.denied = true;
      outcome.attributed = record != nullptr && in_image(culprit.va, culprit.length) &&
                           record->policy_offset == culprit.va - image_.link_text;
      report_.attacks.push_back(outcome);
    } else {
      cause = fp_cause(record, culprit);
      // The driver's kprobe phase arms a kprobe inside a function (an int3,
      // later a jmp to its detour): no patch site, refused unless the policy
      // has kFlagKprobesAllowed (docs/kci.md, "kprobes").
      if (trace_->phases[event.phase] == "kprobe" && record != nullptr &&
          (record->detail & 0xffff) == static_cast<uint32_t>(kci::DenyReason::kNotASite))
        cause = "kprobe at an instruction that is not a patch site (refused by design)";
      // Keep the text in step with the trace after a false positive: the
      // real kernel's patch went in, so later OLD bytes expect it.
      for (const PatchBytes& patch : chunk) {
        if (in_image(patch.va, patch.length))
          guest_->poke(image_gpa(patch.va - image_.link_text), patch.new_bytes.data(), patch.length);
        else if (const uint64_t gpa = out_of_line_gpa(patch.va, patch.length); gpa != 0)
          guest_->poke(Gpa(gpa), patch.new_bytes.data(), patch.length);
      }
    }
  }
  char origin[64];
  std::snprintf(origin, sizeof(origin),
                "%s line %u: ", event.kind == EventKind::kBatch ? origin_name(event.origin) : "poke",
                event.line);
  count(stats, hostile, denied, origin + why, cause);
  if (hostile && !denied) {
    AttackOutcome outcome;
    outcome.name = "trace event at line " + std::to_string(event.line);
    outcome.source = trace_->file;
    outcome.expected = "PATCH_DENIED";
    outcome.got = "allowed";
    report_.attacks.push_back(outcome);
  }
}

void Session::replay_module(const Event& event, bool hostile, PhaseStats& stats) {
  const uint64_t pages64 = (event.size + kPageSize4K - 1) / kPageSize4K;
  stats.round_trips += 1;
  stats.patch_entries += 1;  // one request whether or not patches are batched
  bool denied = true;
  std::string why;
  const vg_record* record = nullptr;
  std::vector<vg_record> records;
  if (pages64 > VG_MODULE_MAX_PAGES) {
    why = "module text over VG_MODULE_MAX_PAGES (not sent)";
  } else {
    const uint32_t pages = static_cast<uint32_t>(pages64);
    const uint64_t gpa = take_pages(pages);
    if (gpa == 0) {
      why = "replay guest out of free pages";
    } else {
      const std::vector<uint8_t> text = standin_module_text(event);
      guest_->kernel_write(Gpa(gpa), text.data(), text.size(), runtime_va(0));
      vg_module request{};
      std::snprintf(request.name, sizeof(request.name), "%s", event.name.c_str());
      request.text_va = event.va;
      request.text_size = event.size;
      request.page_count = pages;
      for (uint32_t i = 0; i < pages; ++i) request.page_gpa[i] = gpa + uint64_t{i} * kPageSize4K;
      const kci::CallOutcome outcome = guest_->call_with(VG_CALL_REGISTER_MODULE, &request, sizeof(request));
      records = drain();
      record = last_denial(records);
      if (outcome.result == VG_RESULT_SUCCESS) {
        denied = false;
        module_handles_[module_key(event)] = outcome.rcx;
        module_pages_[module_key(event)] = {gpa, pages};
        mapped_.push_back({event.va, event.size, gpa, event.name});
      } else {
        give_pages(gpa, pages);
        why = describe_record(*this, record);
      }
    }
  }
  count(stats, hostile, denied, "module " + event.name + " line " + std::to_string(event.line) + ": " + why,
        "module refused: " + why);
  if (hostile) {
    AttackOutcome outcome;
    outcome.name = "module " + event.name;
    outcome.source = trace_->file + ":" + std::to_string(event.line);
    outcome.expected = "MODULE_DENIED (hash not allowed)";
    outcome.got = denied ? describe_record(*this, record) : "admitted";
    outcome.denied = denied;
    outcome.attributed = record != nullptr && record->kind == VG_KIND_MODULE_DENIED &&
                         record->detail == static_cast<uint32_t>(kci::DenyReason::kHashNotAllowed);
    report_.attacks.push_back(outcome);
  }
}

void Session::replay_module_free(const Event& event, PhaseStats& stats) {
  const auto handle = module_handles_.find(module_key(event));
  if (handle == module_handles_.end()) return;  // never admitted: nothing to release
  const kci::CallOutcome outcome = guest_->call(VG_CALL_UNREGISTER_MODULE, handle->second);
  stats.round_trips += 1;
  stats.patch_entries += 1;
  drain();
  const auto pages = module_pages_[module_key(event)];
  give_pages(pages.first, pages.second);
  module_handles_.erase(handle);
  module_pages_.erase(module_key(event));
  std::erase_if(mapped_, [&](const MappedImage& m) { return m.va == event.va && m.name == event.name; });
  count(stats, false, outcome.result != VG_RESULT_SUCCESS, "module-free " + event.name,
        "UNREGISTER_MODULE refused");
}

// Admits out-of-line code at [va, va + size) with BPF_JIT_MAP, as the guest
// patches would, on pages taken from the replay guest's pool; maps it for
// later patches under `name`. One round trip.
Session::Admission Session::admit_out_of_line(uint64_t va, uint64_t size, const std::string& name,
                                              PhaseStats& stats) {
  Admission admission;
  const uint64_t first = va & ~(kPageSize4K - 1);
  const uint64_t pages64 = (va + size - first + kPageSize4K - 1) / kPageSize4K;
  stats.round_trips += 1;
  stats.patch_entries += 1;
  if (pages64 > kci::kMaxBpfJitPages) {
    admission.why = "over the monitor's JIT page limit";
    return admission;
  }
  const uint32_t pages = static_cast<uint32_t>(pages64);
  const uint64_t gpa = take_pages(pages);
  if (gpa == 0) {
    admission.why = "replay guest out of free pages";
    return admission;
  }
  vg_bpf_jit request{};
  request.image_va = first;
  request.image_gpa = gpa;
  request.pages = pages;
  const kci::CallOutcome outcome = guest_->call_with(VG_CALL_BPF_JIT_MAP, &request, sizeof(request));
  const std::vector<vg_record> records = drain();
  if (outcome.result != VG_RESULT_SUCCESS) {
    char text[32];
    std::snprintf(text, sizeof(text), "result %#x: ", outcome.result);
    admission.why = text + describe_record(*this, last_denial(records));
    give_pages(gpa, pages);
    return admission;
  }
  mapped_.push_back({first, uint64_t{pages} * kPageSize4K, gpa, name});
  admission.admitted = true;
  admission.handle = outcome.rcx;
  admission.gpa = gpa;
  admission.pages = pages;
  return admission;
}

void Session::replay_jit(const Event& event, bool hostile, PhaseStats& stats) {
  const Admission admission = admit_out_of_line(event.va, event.size, "bpf_jit", stats);
  count(stats, hostile, !admission.admitted, "jit line " + std::to_string(event.line) + ": " + admission.why,
        "JIT image refused: " + admission.why);
}

// Trampolines and other out-of-line code: a kernel with the guest patches
// has them admitted like a JIT image (BPF_JIT_MAP) before anything calls them,
// and released (UNREGISTER_MODULE) when freed.
void Session::replay_out_of_line(const Event& event, PhaseStats& stats) {
  const std::string key = event.ool_kind + ":" + event.name + module_key(event);
  if (event.value == 0) {
    const auto it = out_of_line_.find(key);
    if (it == out_of_line_.end()) return;
    const kci::CallOutcome outcome = guest_->call(VG_CALL_UNREGISTER_MODULE, it->second.first);
    drain();
    stats.round_trips += 1;
    stats.patch_entries += 1;
    const uint64_t gpa = it->second.second.first;
    give_pages(gpa, it->second.second.second);
    std::erase_if(mapped_, [&](const MappedImage& m) { return m.gpa == gpa; });
    out_of_line_.erase(it);
    count(stats, false, outcome.result != VG_RESULT_SUCCESS, "ksymbol unregister " + event.name,
          "out-of-line code release refused");
    return;
  }
  const Admission admission =
      admit_out_of_line(event.va, event.size, event.ool_kind + " " + event.name, stats);
  if (admission.admitted) out_of_line_[key] = {admission.handle, {admission.gpa, admission.pages}};
  count(stats, false, !admission.admitted,
        "ksymbol register " + event.name + " line " + std::to_string(event.line) + ": " + admission.why,
        "out-of-line code refused: " + admission.why);
}

void Session::replay_cr(const Event& event, bool hostile, PhaseStats& stats) {
  hal::VmsaState& vmsa = guest_->kernel_vmsa();
  (event.name == "cr0" ? vmsa.cr0 : vmsa.cr4) = event.value;
  // SNP gives VMPL0 no CR intercepts: the monitor sees the value at its next
  // entry, any call.
  guest_->call(VG_CALL_QUERY);
  const std::vector<vg_record> records = drain();
  const vg_record* record = last_denial(records);
  const bool denied = record != nullptr && record->kind == VG_KIND_PINNED_REGISTER;
  count(stats, hostile, denied,
        event.name + " write line " + std::to_string(event.line) + ": " + describe_record(*this, record),
        "pinned " + event.name + " changed");
  if (hostile) {
    AttackOutcome outcome;
    outcome.name = event.name + " write";
    outcome.source = trace_->file + ":" + std::to_string(event.line);
    outcome.expected = "PINNED_REGISTER";
    outcome.got = describe_record(*this, record);
    outcome.denied = denied;
    outcome.attributed = denied && record->detail == (event.name == "cr0" ? 1u : 2u);
    report_.attacks.push_back(outcome);
  }
}

DataStats& Session::data_stats(const std::string& phase, const std::string& protection) {
  for (DataStats& stats : report_.data)
    if (stats.run == run_ && stats.phase == phase && stats.protection == protection) return stats;
  report_.data.push_back(DataStats{run_, phase, protection});
  return report_.data.back();
}

namespace {

const char* policy_protection_name(uint16_t protection) {
  switch (static_cast<policy::Protection>(protection)) {
    case policy::Protection::kLockedAfterBoot: return "locked_after_boot";
    case policy::Protection::kWriteMediated: return "write_mediated";
    case policy::Protection::kWatched: return "watched";
  }
  return "unknown";
}

}  // namespace

// The kernel rewrote a critical data object during the phase. The policy's
// class (not the trace's) decides how the write reaches the monitor, as it
// would in a guest running with that policy: a write-mediated object through
// MEDIATED_WRITE (the guest patches route its writers there), anything else
// as the kernel's own plain write at VMPL3. A locked object must then be
// refused (or, when it shares its page with other data, reported): either
// way a benign write is a false positive and is counted as one. Data records
// are the kernel's own, also in the attack phase: the attacker's actions are
// the pokes, modules and CR writes.
void Session::note_at_line(uint32_t line, const std::string& text) {
  if (report_.notes.size() < 40)
    report_.notes.push_back(run_ + ": " + trace_->file + ":" + std::to_string(line) + ": " + text);
}

void Session::replay_data(const Event& event, PhaseStats& stats) {
  const std::string& phase = trace_->phases[event.phase];
  const std::string where = trace_->file + ":" + std::to_string(event.line) + ": " + event.name;
  if (!in_image(event.va, event.size)) {
    report_.notes.push_back(run_ + ": " + where + ": data record outside the kernel image, not replayed");
    return;
  }
  const uint64_t offset = event.va - image_.link_text;
  const policy::CriticalObject* object = view_.find_object(offset);
  if (object == nullptr || object->offset != offset || event.name != view_.string(object->name)) {
    report_.notes.push_back(run_ + ": " + where + ": not an object of this policy at " + hex_va(event.va) +
                            ", not replayed");
    return;
  }
  const std::string protection = policy_protection_name(object->protection);
  if (protection != protection_name(event.protection))
    report_.notes.push_back(run_ + ": " + where + ": the trace says " + protection_name(event.protection) +
                            ", the policy " + protection + ": replayed as the policy says");
  DataStats& data = data_stats(phase, protection);
  data.records += 1;
  data.bytes_changed += event.value;
  data.pieces += event.patches.size();
  const PatchBytes& first = event.patches.front();
  const std::string what = where + " (" + protection + ", phase " + phase +
                           "): " + std::to_string(event.value) + " bytes changed, first +" +
                           hex_va(first.va - event.va) + " " +
                           hex_bytes(first.old_bytes.data(), first.length) + " -> " +
                           hex_bytes(first.new_bytes.data(), first.length);

  if (object->protection == static_cast<uint16_t>(policy::Protection::kWriteMediated)) {
    bool refused = false;
    std::string why;
    for (const PatchBytes& piece : event.patches) {
      vg_mediated_write request{};
      request.object_va = runtime_va(offset);
      request.offset = static_cast<uint32_t>(piece.va - event.va);
      request.length = piece.length;
      std::memcpy(request.bytes, piece.new_bytes.data(), piece.length);
      const kci::CallOutcome outcome = guest_->call_with(VG_CALL_MEDIATED_WRITE, &request, sizeof(request));
      stats.round_trips += 1;
      stats.patch_entries += 1;
      const std::vector<vg_record> records = drain();
      const Gpa gpa = image_gpa(piece.va - image_.link_text);
      if (outcome.result != VG_RESULT_SUCCESS) {
        refused = true;
        why = describe_record(*this, last_denial(records));
        // SAFETY: the replay harness keeps guest memory in step with the
        // recorded kernel after a false positive; VMPL0 writes guest memory.
        guest_->poke(gpa, piece.new_bytes.data(), piece.length);
        continue;
      }
      uint8_t now[kMaxPatchBytes];
      guest_->read(gpa, now, piece.length);
      if (std::memcmp(now, piece.new_bytes.data(), piece.length) != 0) report_.allowed_not_written += 1;
    }
    (refused ? data.denied : data.allowed) += 1;
    count(stats, false, refused, what + ": MEDIATED_WRITE refused: " + why,
          "write_mediated object refused through MEDIATED_WRITE: " + event.name);
    return;
  }

  bool refused = false;
  for (const PatchBytes& piece : event.patches) {
    const Gpa gpa = image_gpa(piece.va - image_.link_text);
    const auto outcome = guest_->kernel_write(gpa, piece.new_bytes.data(), piece.length, runtime_va(0));
    if (!outcome.performed) {
      refused = true;
      // SAFETY: as above, the harness writes the recorded bytes as VMPL0.
      guest_->poke(gpa, piece.new_bytes.data(), piece.length);
    }
  }
  guest_->call(VG_CALL_QUERY);  // the monitor's next entry compares the watched ranges
  const std::vector<vg_record> records = drain();
  bool reported = false;
  std::string got;
  for (const vg_record& record : records) {
    if (record.policy_offset != object->offset) continue;
    if (record.kind == VG_KIND_WATCHED_CHANGED) reported = true;
    if (record.kind == VG_KIND_WATCHED_CHANGED || record.kind == VG_KIND_DATA_WRITE)
      got = describe_record(*this, &record);
  }
  if (object->protection == static_cast<uint16_t>(policy::Protection::kLockedAfterBoot)) {
    if (refused || reported) {
      (refused ? data.denied : data.alarms) += 1;
      const std::string verdict = refused ? "write denied" : "write reported (the object shares its page)";
      report_.locked_rewrites.push_back(run_ + " " + phase + " " + event.name + ": " +
                                        std::to_string(event.value) + " bytes, " + verdict + ", " + got);
      count(stats, false, true, what + ": " + got,
            "locked_after_boot object rewritten by the kernel after boot (" + verdict + "): " + event.name);
    } else {
      // The write went through unseen: a hole in the monitor, not a false
      // positive; say so.
      data.allowed += 1;
      data.unnoticed += 1;
      report_.notes.push_back(run_ + ": " + what + ": LOCKED OBJECT WRITTEN WITHOUT A DENIAL OR A REPORT");
      count(stats, false, false, what, "");
    }
    return;
  }
  (refused ? data.denied : data.allowed) += 1;
  if (reported) data.reported += 1;
  count(stats, false, refused, what + ": " + got, "watched object write refused: " + event.name);
}

bool Session::continue_with(const Trace& next, std::string run) {
  if (next.kernel.build_id != trace_->kernel.build_id ||
      next.kernel.kaslr_offset != trace_->kernel.kaslr_offset)
    return false;
  trace_ = &next;
  run_ = std::move(run);
  return true;
}

void Session::replay_events() {
  for (const Event& event : trace_->events) {
    const std::string& phase = trace_->phases[event.phase];
    // In the attack phase the attacker's own actions are the lone
    // __text_poke (the rootkit calls text_poke directly), the module load and
    // control-register writes; batches from the kernel's patching machinery
    // (ftrace, jump labels, static calls, BPF) in that phase are the
    // kernel's, not the attacker's, and must be allowed like any other.
    const bool hostile =
        phase == "attack" &&
        (event.kind == EventKind::kPoke || event.kind == EventKind::kModule || event.kind == EventKind::kCr);
    PhaseStats& stats = phase_stats(phase);
    switch (event.kind) {
      case EventKind::kPhase:
      case EventKind::kBoot: break;
      case EventKind::kBatch:
      case EventKind::kPoke: replay_patches(event, event.patches, hostile, stats); break;
      case EventKind::kModule: replay_module(event, hostile, stats); break;
      case EventKind::kModuleFree: replay_module_free(event, stats); break;
      case EventKind::kJit: replay_jit(event, hostile, stats); break;
      case EventKind::kCr: replay_cr(event, hostile, stats); break;
      case EventKind::kOutOfLine: replay_out_of_line(event, stats); break;
      case EventKind::kData: replay_data(event, stats); break;
    }
  }
  if (ring_->lost() != 0)
    report_.notes.push_back(run_ + ": " + std::to_string(ring_->lost()) + " ring records lost");
}

}  // namespace vg::replay
