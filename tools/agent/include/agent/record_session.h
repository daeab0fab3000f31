// Record mode's core: turns decoded record-mode samples into trace lines.
//
// It rebuilds batch boundaries from (batch id, entry index, entry count),
// joins module text chunks and hashes them, names each batch's origin
// (from the origin probes, else from the stack), translates kernel-image
// addresses to link time, and keeps the event accounting for `end`.
// BPF-independent, so tests feed it crafted samples.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/trace_event.h"
#include "agent/trace_writer.h"
#include "base/result.h"
#include "base/types.h"

namespace vg::agent {

struct RecordLayout {
  uint64_t image_start = 0;       // runtime _text
  uint64_t image_end = 0;         // runtime _end
  uint64_t kaslr_offset = 0;      // runtime minus link address
  uint64_t text_poke_memset = 0;  // runtime address (0: unknown); its `src` is one fill byte
};

// Names the function a kernel stack frame is in ("" when unknown).
using FrameNamer = std::function<std::string_view(uint64_t)>;

// The origin a batch gets from its stack when no origin probe marked it:
// the innermost frame in jump label, static call, ftrace, kprobe or BPF code.
BatchOrigin origin_from_stack(const uint64_t* frames, size_t count, const FrameNamer& namer);

class RecordSession {
 public:
  RecordSession(TraceWriter& writer, RecordLayout layout, FrameNamer namer);

  // One ring sample. Errors are write failures only; bad samples are counted
  // as lost and reported in a note.
  Result<void, std::string> on_sample(ByteView sample);
  // Writes what is complete and notes what is not, then `phase NAME`. The
  // caller drains the ring first, so that every event lands in its phase.
  Result<void, std::string> switch_phase(std::string_view name);
  // Flushes and writes `end`: EVENTS = samples decoded, LOST = `produced`
  // (the probes' count of events they tried to emit) minus those.
  Result<void, std::string> finish(uint64_t produced);

  uint64_t decoded() const { return decoded_; }
  uint64_t decode_errors() const { return decode_errors_; }
  uint64_t patches() const { return patches_; }

 private:
  struct PendingBatch {
    uint64_t expected = 0;
    BatchOrigin origin = BatchOrigin::kUnknown;
    std::vector<TracePatch> entries;
    std::vector<bool> seen;
  };
  struct PendingModule {
    std::string name;
    uint64_t va = 0;
    uint64_t size = 0;
    uint64_t expected_chunks = 0;
    uint64_t received_chunks = 0;
    bool truncated = false;
    std::vector<uint8_t> text;
    std::vector<bool> seen;
  };

  Result<void, std::string> on_event(const TraceEvent& event);
  Result<void, std::string> on_chunk(const TraceChunk& chunk);
  Result<void, std::string> on_batch_entry(const TraceEvent& event);
  Result<void, std::string> on_poke(const TraceEvent& event);
  Result<void, std::string> on_module(const TraceEvent& event);
  Result<void, std::string> on_ksymbol(const Event& event);
  Result<void, std::string> write_batch(uint64_t id, PendingBatch& batch);
  Result<void, std::string> write_module(PendingModule& module);
  Result<void, std::string> flush_incomplete();
  uint64_t link_va(uint64_t runtime) const;
  bool has_bpf_frame(const TraceEvent& event) const;

  TraceWriter& writer_;
  RecordLayout layout_;
  FrameNamer namer_;
  std::map<uint64_t, PendingBatch> batches_;
  std::map<uint64_t, PendingModule> modules_;
  uint64_t decoded_ = 0;
  uint64_t decode_errors_ = 0;
  uint64_t patches_ = 0;
};

}  // namespace vg::agent
