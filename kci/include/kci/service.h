// Kernel code integrity (KCI): the policy-enforcing service inside the
// monitor. The monitor's dispatcher decodes an exit and calls in here; KCI
// decides, changes RMP permissions through the HAL and writes records
// through the telemetry ring.
//
// Every handler is decode-then-commit [seL4 style]: it copies the request out
// of guest memory into monitor memory, validates all of it against the
// policy, and only then changes state. A refused request changes nothing.
//
// docs/kci.md describes the rules (page permissions per region and phase,
// patch validation, modules, critical data, violation verdicts).
#pragma once

#include <stdint.h>

#include "base/result.h"
#include "base/sha256.h"
#include "base/types.h"
#include "kci/config.h"
#include "monitor/insn_length.h"
#include "monitor/telemetry.h"
#include "monitor/vmplguard_abi.h"
#include "policy/reader.h"

namespace vg::kci {

enum class LoadError : uint8_t {
  kTooLarge,          // over the monitor's policy buffer (sized at build time)
  kMalformed,         // PolicyView::parse refused it; see parse_error
  kReplayed,          // serial lower than the last accepted policy's (or equal with another digest)
  kAlreadyEnforcing,  // a kernel is registered; policies cannot be swapped under it
  kUnsafe,            // parses, but would break a KCI invariant (a W+X page, writable text, ...)
  kCapacity,          // more critical objects or watched ranges than KCI's tables hold
};

// A short, stable, human-readable description of the error.
const char* describe(LoadError error);

struct LoadFailure {
  LoadError error;
  policy::ParseError parse_error;  // meaningful when error == kMalformed
};

// Register values of a vmplguard call, as read from the caller's VMSA.
struct CallArgs {
  uint64_t rcx = 0, rdx = 0, r8 = 0, r9 = 0;
};
struct CallOutcome {
  uint32_t result = VG_RESULT_SUCCESS;  // becomes RAX
  uint64_t rcx = 0, rdx = 0;            // optional outputs
};

// A VMPL #NPF the host forwarded: exit info 1 is the #NPF error code (RMP bit
// 31, VMPL bit 36, write bit 1, execute bit 4), exit info 2 the GPA
// [APM2 15.36.10].
struct ViolationExit {
  uint32_t vcpu = 0;
  Vmpl vmpl{3};
  Gpa gpa{};
  uint64_t error_code = 0;
  uint64_t rip = 0;      // from the faulting VMPL's VMSA
  uint64_t address = 0;  // faulting VA when the monitor could decode it, else 0
};

// #NPF error code bits [APM2 15.25.6, 15.36.10].
inline constexpr uint64_t kNpfWrite = 1ull << 1;
inline constexpr uint64_t kNpfExecute = 1ull << 4;
inline constexpr uint64_t kNpfRmp = 1ull << 31;
inline constexpr uint64_t kNpfVmpl = 1ull << 36;

enum class Verdict : uint8_t {
  kAllowed,      // not a violation of ours (for example a page the policy does not cover)
  kDeniedSkip,   // skip the faulting instruction, guest continues
  kInjectFault,  // inject #PF/#GP into the kernel
  kStopGuest,
};

// Record `detail` values that say which rule refused a request (the record
// kind says what was refused; docs/kci.md lists them).
enum class DenyReason : uint32_t {
  kNone = 0,
  kNotASite = 1,           // patch address is not a policy site
  kBytesNotAllowed = 2,    // bytes are none of the site's patterns
  kLengthMismatch = 3,     // entry length differs from the site's
  kOutsideText = 4,        // address outside the kernel's (live) text
  kOverlap = 5,            // two entries of one batch overlap
  kBadEntry = 6,           // reserved bytes set, length 0 or over 16
  kNotMediated = 7,        // mediated write to an object that is not write-mediated
  kOutOfBounds = 8,        // offset/length outside the object
  kBadString = 9,          // string object not NUL-terminated or not printable
  kBadPath = 10,           // path object not absolute or with a ".." component
  kHashNotAllowed = 11,    // module text hash not in MODULE_HASHES
  kModulesForbidden = 12,  // policy does not allow modules
  kBpfJitForbidden = 13,   // policy does not allow BPF JIT images
  kBadPageList = 14,       // page list unaligned, outside memory or overlapping protected pages
  kRmpFailed = 15,         // the hardware refused an RMPADJUST the commit needed
  // An optimized kprobe's jmp would not replace whole instructions of its
  // function: the instructions from P that cover its 5 bytes run past the
  // function's end, do not decode, or include a site or another probe.
  kKprobeNotWholeInstructions = 16,
  kKprobeJumpedInto = 17,  // an instruction of the function jumps into the bytes the jmp replaces
  kImageInUse = 18,        // UNREGISTER_MODULE of an image an optimized kprobe or an ftrace site still enters
};

// An executable image KCI admitted after boot: a module or a BPF JIT image.
// Storage types are trivial (no member initializers) so that the image's
// Storage is plain .bss: no constructor, no guard variable.
struct ImageSlot {
  bool used;
  bool bpf_jit;
  uint32_t generation;  // makes stale handles fail after reuse
  uint64_t text_va;
  uint32_t page_count;
  int32_t module_hash_index;
  uint64_t pages[kMaxPagesPerImage];  // GPAs, sorted, for O(log n) lookups in violations
};

// A kprobe KCI let the kernel arm at an instruction boundary of an untrusted
// function (kci/kprobes.cc). `state` 0 marks a free entry.
enum class ProbeState : uint8_t {
  kFree = 0,
  kArmed,         // int3 over the first byte; original[0] known
  kOptimized,     // jmp rel32 into an admitted out-of-line image; original[0..4] known
  kUnoptimizing,  // int3 over the jmp's first byte, its rel32 still in place
};
struct ArmedProbe {
  uint32_t offset;  // from _text
  ProbeState state;
  uint8_t original[5];
  // kOptimized, kUnoptimizing: the VA the jmp at P goes to, inside an
  // admitted image that may not be unregistered while the jmp is there.
  uint64_t jmp_target;
};

// A range whose contents KCI compares with a baseline at every entry: watched
// objects, and the parts of locked objects that share a page with other data.
struct WatchedRange {
  uint32_t object_index;  // into the policy's OBJECTS table
  uint32_t offset;        // from _text
  uint32_t size;
  Sha256Digest baseline;
};

// The large, build-time-sized state of one KCI instance. The VMPL0 image has
// exactly one (in .bss); hosted tests may create their own. Trivial type:
// Service initializes what it reads (image slots at construction, watched
// ranges at registration).
struct Storage {
  alignas(8) uint8_t policy[2][kPolicyBufferBytes];
  ImageSlot images[kMaxModules];
  WatchedRange watched[kMaxWatched];
  ArmedProbe probes[kMaxArmedProbes];
};

// The image's single Storage.
Storage& default_storage();

// Where the registered kernel lives, decoded and checked once.
struct KernelLayout {
  uint64_t text_va = 0;
  Gpa text_gpa{};
  uint64_t size = 0;   // bytes, page-rounded
  uint64_t slide = 0;  // text_va - link_text_va (two's complement)
};

class Service {
 public:
  // Uses the image's default_storage(); the image has exactly one Service.
  explicit Service(monitor::TelemetryRing& ring) : Service(ring, default_storage()) {}
  // Uses `storage` (tests that hold several services at once).
  Service(monitor::TelemetryRing& ring, Storage& storage);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Copies `bytes` into the monitor's policy buffer and parses the copy.
  Result<void, LoadFailure> load_policy(ByteView bytes);
  bool policy_loaded() const { return loaded_; }
  const policy::PolicyView& policy() const { return policy_; }

  // One vmplguard protocol call (VG_CALL_*) made by `vcpu` at `caller`.
  CallOutcome handle_call(uint32_t vcpu, Vmpl caller, uint32_t call, const CallArgs& args);

  // A forwarded VMPL violation: attribute it, decide, record it.
  Verdict handle_violation(const ViolationExit& exit);

  // Checks at every monitor entry that cannot wait for a fault: watched
  // objects against their baseline. Records each change once.
  void check_watched();

  bool kernel_registered() const { return registered_; }

  // The kernel asks the SVSM core protocol to PVALIDATE (validate or
  // rescind) `page` [SVSM 58019 7.3]. Rescinding a page KCI protects would let
  // the host swap its contents, validating one would reset its permissions:
  // refused with a VG_KIND_RMP_TAMPER record. True if the monitor may go on.
  bool vet_pvalidate(uint32_t vcpu, Gpa page, bool validate);

  // The monitor owns VG_CALL_SETUP_RING when it dispatches; it tells KCI
  // where the ring is once attached, so that no module, JIT image or
  // registration can claim (and later unlock) the ring's pages.
  void note_ring(Gpa first_page, uint32_t pages) {
    ring_first_ = first_page;
    ring_pages_ = pages;
  }
  bool ro_after_init_locked() const { return ro_locked_; }
  bool init_freed() const { return init_freed_; }
  const KernelLayout& layout() const { return layout_; }

  // The permissions KCI wants the kernel's VMPL to have on `page`, or
  // nullopt-like false if KCI does not manage the page. Tests and the
  // property checker compare these with the RMP.
  bool managed_page_perms(Gpa page, uint8_t& perms) const;
  // True if `page` is one KCI made executable (kernel text, admitted image).
  bool page_in_executable_set(Gpa page) const;
  uint32_t watched_count() const { return watched_count_; }

 private:
  // policy_load.cc
  Result<void, LoadError> check_policy_safe(const policy::PolicyView& view) const;
  // layout.cc
  uint8_t region_perms(const policy::Region& region) const;
  uint8_t kernel_page_perms(uint64_t page_offset) const;
  bool apply_kernel_pages(uint64_t first_offset, uint64_t end_offset);
  bool in_kernel_image(Gpa gpa) const;
  bool is_protected_page(Gpa page) const;
  // register.cc
  CallOutcome register_kernel(uint32_t vcpu, const CallArgs& args);
  CallOutcome lock_ro_after_init(uint32_t vcpu);
  CallOutcome free_init(uint32_t vcpu);
  void baseline_watched();
  // text_patch.cc
  CallOutcome text_patch(uint32_t vcpu, const CallArgs& args);
  // kprobes.cc: a single-entry patch at a non-site; ok (and the probe table
  // updated) if it is a kprobe step the policy allows, else the reason.
  Result<void, DenyReason> kprobe_patch(uint64_t offset, const vg_patch_entry& entry);
  Result<void, DenyReason> check_optimizable(const policy::Function& function, uint64_t offset) const;
  bool decode_original(uint64_t position, uint64_t end, uint8_t (&window)[monitor::kMaxInstructionLength],
                       uint8_t& length) const;
  bool is_instruction_boundary(const policy::Function& function, uint64_t offset) const;
  ArmedProbe* find_probe(uint64_t offset) const;
  const ArmedProbe* probe_jumping_into(const ImageSlot& image) const;
  // images.cc
  CallOutcome register_module(uint32_t vcpu, const CallArgs& args);
  CallOutcome unregister_image(uint32_t vcpu, const CallArgs& args);
  // The first ftrace site whose live bytes call or jump into `image`, with the target; null if none.
  const policy::Site* ftrace_site_entering(const ImageSlot& image, uint64_t& target) const;
  bool covered_by_another_image(const ImageSlot& image, uint64_t va) const;
  CallOutcome bpf_jit_map(uint32_t vcpu, const CallArgs& args);
  const ImageSlot* image_containing(Gpa page) const;
  ImageSlot* free_image_slot(uint32_t& index);  // nullptr when every slot is used
  // critical_data.cc
  CallOutcome mediated_write(uint32_t vcpu, const CallArgs& args);
  // calls.cc
  CallOutcome setup_ring(uint32_t vcpu, const CallArgs& args);
  void emit(uint16_t kind, uint8_t verdict, uint32_t vcpu, uint64_t rip, uint64_t address, uint64_t gpa,
            uint32_t policy_offset, uint32_t detail, uint64_t value);

  Storage& store() const { return storage_; }

  monitor::TelemetryRing& ring_;
  Storage& storage_;
  policy::PolicyView policy_{};
  bool loaded_ = false;
  bool registered_ = false;
  // The KCI implementation's state, sized at build time.
  uint8_t active_buffer_ = 0;
  uint64_t accepted_serial_ = 0;
  Sha256Digest accepted_digest_{};
  bool ro_locked_ = false;
  bool init_freed_ = false;
  KernelLayout layout_{};
  uint32_t watched_count_ = 0;
  Gpa ring_first_{};
  uint32_t ring_pages_ = 0;
  uint64_t violations_ = 0;
};

}  // namespace vg::kci
