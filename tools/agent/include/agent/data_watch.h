// The `data` records: which of the policy's critical data objects the
// running kernel rewrote, phase by phase, after boot.
//
// The host derives a watch list from the policy (`vmplguard policy show`):
// one line per object, `NAME LINK_VA SIZE PROTECTION`. The record mode
// snapshots every listed range from /proc/kcore when recording starts and at
// every phase boundary, and writes one `data` record (plus its `piece`
// records) for every object whose bytes differ from the previous snapshot.
// Whether the kernel legitimately writes a locked object after boot is the
// question these records answer (docs/trace-format.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/trace_writer.h"
#include "base/result.h"

namespace vg::agent {

// One object of the watch list. `link_va` is the link-time address; the
// runtime address adds the KASLR offset.
struct WatchedObject {
  std::string name;
  uint64_t link_va = 0;
  uint64_t size = 0;  // bytes, 1..kMaxWatchedObjectBytes
  DataProtection protection = DataProtection::kLockedAfterBoot;
};

inline constexpr uint64_t kMaxWatchedObjectBytes = 1u << 20;  // largest policy object is ~94 KiB
inline constexpr size_t kMaxWatchedObjects = 4096;

// Parses a watch list: `NAME LINK_VA SIZE PROTECTION` a line (LINK_VA hex
// without 0x, SIZE decimal, PROTECTION locked_after_boot|write_mediated|
// watched), `#` comments and blank lines allowed. Errors name the line.
Result<std::vector<WatchedObject>, std::string> parse_watch_list(std::string_view text);

// What changed in one object between two snapshots of the same size: the
// number of differing bytes and the first runs of them, cut into pieces of at
// most 16 bytes (at most kMaxDataPieces).
TraceDataChange diff_object(const WatchedObject& object, const std::vector<uint8_t>& before,
                            const std::vector<uint8_t>& after);

// Reads `size` bytes of kernel memory at runtime address `va`.
using KernelReader = std::function<Result<std::vector<uint8_t>, std::string>(uint64_t va, uint64_t size)>;

// The snapshots of one recording. An object that cannot be read at the start
// is reported once (a note) and left out; one that becomes unreadable later
// is noted and dropped.
class DataWatch {
 public:
  DataWatch(std::vector<WatchedObject> objects, uint64_t kaslr_offset, KernelReader reader);

  // The first snapshot; writes a note saying what is watched.
  Result<void, std::string> baseline(TraceWriter& writer);
  // Snapshots again and writes a `data` record for every object that changed
  // since the previous snapshot. Returns the number of records written.
  Result<uint64_t, std::string> check(TraceWriter& writer);

  uint64_t records() const { return records_; }

 private:
  struct Slot {
    WatchedObject object;
    std::vector<uint8_t> bytes;
    bool readable = false;
  };
  uint64_t runtime_va(const WatchedObject& object) const { return object.link_va + kaslr_offset_; }

  std::vector<Slot> slots_;
  uint64_t kaslr_offset_;
  KernelReader reader_;
  uint64_t records_ = 0;
};

}  // namespace vg::agent
