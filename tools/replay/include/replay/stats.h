// What a replay counts, per phase of a trace, and the attack outcomes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vg::replay {

// Published cost of one VMPL round trip (NestedSGX; design.md).
inline constexpr uint64_t kCyclesPerRoundTrip = 35000;

struct PhaseStats {
  std::string run;               // "benign", "attack"
  std::string phase;             // the trace's phase name, or "scenarios"
  uint64_t events = 0;           // trace events replayed (a batch counts once)
  uint64_t allowed = 0;          // events the monitor allowed
  uint64_t denied = 0;           // events the monitor denied or detected
  uint64_t false_positives = 0;  // benign events denied
  uint64_t attacks = 0;          // hostile events
  uint64_t attacks_missed = 0;   // hostile events allowed
  uint64_t round_trips = 0;      // monitor calls made for the events
  uint64_t sites_patched = 0;    // patch entries the monitor wrote
  uint64_t patch_entries = 0;    // requests without batching: one per patch entry, plus module/JIT calls
};

// The acid test of the analyzer: every pre-lock difference between the
// on-disk and the running text must fall inside a site, and the site's final
// bytes must be one of its patterns.
struct BootCheck {
  uint64_t lines = 0;                 // boot records
  uint64_t bytes = 0;                 // bytes changed
  uint64_t sites = 0;                 // distinct sites touched
  uint64_t sites_allowed = 0;         // ... whose final bytes the policy allows
  uint64_t runtime_const_filled = 0;  // ... of them runtime_const sites filled at boot (any bytes pre-lock)
  uint64_t outside_sites = 0;         // boot records with bytes outside every site
  uint64_t outside_image = 0;         // boot records outside the kernel image
  std::map<std::string, uint64_t> misses_by_kind;  // site kind (or "no site") -> misses
  std::vector<std::string> examples;               // first few misses, "func+0xoff: why"
};

// The trace's `data` records (format 2): critical data objects the kernel
// rewrote after boot, per run, phase and protection class (the policy's).
struct DataStats {
  std::string run;
  std::string phase;
  std::string protection;      // locked_after_boot, write_mediated, watched
  uint64_t records = 0;        // data records replayed
  uint64_t bytes_changed = 0;  // CHANGED, summed
  uint64_t pieces = 0;         // pieces written (a record holds the first runs only)
  uint64_t allowed = 0;        // write performed (mediated: the monitor wrote it)
  uint64_t denied = 0;         // write refused: a false positive for benign events
  uint64_t alarms = 0;         // locked object: write performed but reported (shares its page)
  uint64_t reported = 0;       // watched object: WATCHED_CHANGED at the next entry
  uint64_t unnoticed = 0;      // locked object written without a denial or a report
};

struct AttackOutcome {
  std::string name;            // scenario name, or the trace line
  std::string source;          // "scenario 04", "attack trace line 123"
  std::string expected;        // what the record must say
  std::string got;             // what the record said (kind, attribution)
  bool denied = false;         // refused or faulted (or detected, see detected_only)
  bool detected_only = false;  // the write happened; a WATCHED_CHANGED record reported it
  bool attributed = false;     // the record names the expected function/object
};

struct ReplayReport {
  std::vector<PhaseStats> phases;
  std::vector<DataStats> data;
  // One line per locked_after_boot object the kernel rewrote: "run phase
  // NAME: N bytes ..."; printed loudly, never hidden.
  std::vector<std::string> locked_rewrites;
  BootCheck boot;
  std::vector<AttackOutcome> attacks;
  std::vector<std::string> not_applicable;  // scenario: why
  std::vector<std::string> false_positive_details;
  std::map<std::string, uint64_t> false_positive_causes;  // cause -> benign events refused
  // Causes (substrings) the user accepts as known gaps (--accept): still
  // counted and printed, but they do not fail the run.
  std::vector<std::string> accepted_causes;
  std::vector<std::string> notes;
  uint64_t trace_mismatches = 0;     // OLD bytes that differ from the replayed text
  uint64_t unmodelled_writes = 0;    // patches outside the image and every mapped module/JIT image
  uint64_t allowed_not_written = 0;  // patches the monitor allowed whose bytes did not land (a monitor bug)
};

}  // namespace vg::replay
