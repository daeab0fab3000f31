#include "analyzer/insn/sweep.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "analyzer/insn/candidates.h"
#include "analyzer/insn/decoder.h"
#include "analyzer/insn/unintended.h"

namespace vg::analyzer::insn {
namespace {

struct Segment {
  uint32_t section = 0;
  uint64_t begin = 0;  // offsets into the section
  uint64_t end = 0;
};

struct WorkerOutput {
  std::vector<FoundInsn> found;
  SweepStats stats;
  std::string error;
};

// One past the last offset the sweep of `segment` must reach: the last byte
// where a privileged opcode may start. It looks up to an instruction's length
// into the following range: an instruction starting in this range may have
// its opcode there, after up to 14 prefix bytes, and an unintended candidate
// there may start with prefix bytes in this range (kMaxPrefixRun).
uint64_t sweep_limit(const CodeSection& section, const Segment& segment) {
  static_assert(kMaxPrefixRun < kMaxInsnLength);
  const uint8_t* bytes = section.bytes.data;
  const uint64_t size = section.bytes.size;
  const uint64_t window_end = std::min<uint64_t>(segment.end + kMaxInsnLength, size);
  for (uint64_t at = window_end; at > segment.begin;) {
    --at;
    if (privileged_opcode_at(bytes, size, at)) return std::min(at + 1, segment.end);
  }
  return segment.begin;
}

std::vector<Segment> segments_of(const std::vector<CodeSection>& sections) {
  std::vector<Segment> segments;
  for (uint32_t index = 0; index < sections.size(); ++index) {
    const CodeSection& section = sections[index];
    const uint64_t size = section.bytes.size;
    uint64_t begin = 0;
    for (uint64_t restart : section.restarts) {
      if (restart <= begin || restart >= size) continue;
      segments.push_back(Segment{index, begin, restart});
      begin = restart;
    }
    if (begin < size) segments.push_back(Segment{index, begin, size});
  }
  return segments;
}

// Sweeps [first, last) of `segments`. Each segment belongs to exactly one
// worker, so the workers write disjoint bytes of `starts`.
void sweep_segments(Decoder& decoder, SweepExtent extent, const std::vector<CodeSection>& sections,
                    const std::vector<Segment>& segments, size_t first, size_t last,
                    std::vector<std::vector<uint8_t>>& starts, std::atomic<uint64_t>& done,
                    WorkerOutput& out) {
  for (size_t i = first; i < last; ++i) {
    const Segment& segment = segments[i];
    const CodeSection& section = sections[segment.section];
    const uint8_t* bytes = section.bytes.data;
    const uint64_t size = section.bytes.size;
    uint8_t* start_flags = starts[segment.section].data();
    const uint64_t limit = extent == SweepExtent::kFull ? segment.end : sweep_limit(section, segment);
    out.stats.bytes_skipped += segment.end - limit;
    uint64_t offset = segment.begin;
    while (offset < limit) {
      const DecodedInsn insn = decoder.decode(bytes + offset, size - offset, section.address + offset);
      if (!insn.valid()) {
        ++out.stats.undecodable;
        ++offset;
        continue;
      }
      start_flags[offset] = 1;
      ++out.stats.instructions;
      if (insn.source == DecodeSource::kGapTable) ++out.stats.gap_decoded;
      if (insn.privileged()) {
        out.found.push_back(FoundInsn{section.address + offset, segment.section, insn.classification.kind,
                                      insn.length, false});
      }
      offset += insn.length;
    }
    // The last instruction ran past the next restart point: the range ended
    // out of step (data, 32-bit code) or the symbol sits inside an instruction.
    if (offset > segment.end) ++out.stats.overruns;
    ++out.stats.segments;
    done.fetch_add(segment.end - segment.begin, std::memory_order_relaxed);
  }
}

void run_worker(SweepExtent extent, const std::vector<CodeSection>& sections,
                const std::vector<Segment>& segments, size_t first, size_t last,
                std::vector<std::vector<uint8_t>>& starts, std::atomic<uint64_t>& done, WorkerOutput& out) {
  auto decoder = Decoder::open();
  if (!decoder.ok()) {
    out.error = decoder.error();
    return;
  }
  sweep_segments(*decoder, extent, sections, segments, first, last, starts, done, out);
}

}  // namespace

Result<SweepResult, std::string> sweep_code(const std::vector<CodeSection>& sections,
                                            const SweepOptions& options, const SweepProgress& progress) {
  SweepResult result;
  result.starts.resize(sections.size());
  uint64_t total = 0;
  for (size_t i = 0; i < sections.size(); ++i) {
    result.starts[i].assign(sections[i].bytes.size, 0);
    total += sections[i].bytes.size;
  }
  const std::vector<Segment> segments = segments_of(sections);
  const unsigned workers = std::max(1u, options.threads);

  // Contiguous shares of about equal byte counts: neighbouring functions stay
  // together, and the merged results stay in address order per share.
  std::vector<size_t> bounds{0};
  uint64_t accumulated = 0;
  for (size_t i = 0; i < segments.size() && bounds.size() < workers; ++i) {
    accumulated += segments[i].end - segments[i].begin;
    if (accumulated * workers >= total * bounds.size()) bounds.push_back(i + 1);
  }
  while (bounds.size() <= workers) bounds.push_back(segments.size());

  std::vector<WorkerOutput> outputs(workers);
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> helpers;
  helpers.reserve(workers - 1);
  for (unsigned w = 1; w < workers; ++w) {
    helpers.emplace_back(run_worker, options.extent, std::cref(sections), std::cref(segments), bounds[w],
                         bounds[w + 1], std::ref(result.starts), std::ref(done), std::ref(outputs[w]));
  }
  // The calling thread sweeps its share in slices so that it can report.
  auto decoder = Decoder::open();
  if (!decoder.ok()) {
    outputs[0].error = decoder.error();
  } else {
    constexpr size_t kSlice = 512;
    for (size_t first = bounds[0]; first < bounds[1]; first += kSlice) {
      const size_t last = std::min(bounds[1], first + kSlice);
      sweep_segments(*decoder, options.extent, sections, segments, first, last, result.starts, done,
                     outputs[0]);
      if (progress) progress(done.load(std::memory_order_relaxed), total);
    }
  }
  for (std::thread& helper : helpers) helper.join();
  if (progress) progress(total, total);

  for (const WorkerOutput& output : outputs) {
    if (!output.error.empty()) return Err{output.error};
    result.aligned.insert(result.aligned.end(), output.found.begin(), output.found.end());
    result.stats.instructions += output.stats.instructions;
    result.stats.bytes_skipped += output.stats.bytes_skipped;
    result.stats.undecodable += output.stats.undecodable;
    result.stats.gap_decoded += output.stats.gap_decoded;
    result.stats.segments += output.stats.segments;
    result.stats.overruns += output.stats.overruns;
  }
  std::sort(result.aligned.begin(), result.aligned.end(),
            [](const FoundInsn& a, const FoundInsn& b) { return a.address < b.address; });
  return result;
}

}  // namespace vg::analyzer::insn
