// The agent's event path, independent of BPF: decode -> classify and
// symbolize -> deduplicate -> format -> send, with drop accounting at every
// hop. The BPF front end (or a test, or the benchmark) feeds it samples.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/classify.h"
#include "agent/dedup.h"
#include "agent/format.h"
#include "agent/metrics.h"
#include "agent/transport.h"

namespace vg::agent {

struct Output {
  Format format = Format::kNative;
  std::unique_ptr<Transport> transport;
};

struct PipelineOptions {
  uint64_t dedup_window_ns = 2'000'000'000;
  size_t dedup_capacity = 4096;
  // At most one telemetry-loss record per interval.
  uint64_t loss_report_interval_ns = 10'000'000'000;
};

class Pipeline {
 public:
  Pipeline(Classifier& classifier, Metrics& metrics, const FormatContext& context,
           std::vector<Output> outputs, PipelineOptions options);

  // One ring-buffer sample, classified and exported now (after any queued
  // ones); counts it as received, then decodes it.
  void on_sample(ByteView sample, uint64_t now_ns);
  // The same, batched: the sample is decoded (copied out of the ring) now and
  // classified with up to kBatch - 1 others, whose policy lookups are
  // prefetched together so that their cache misses overlap. In order; held
  // events go out when the batch fills, and on drain(), tick() and finish().
  static constexpr size_t kBatch = 16;
  void queue_sample(ByteView sample, uint64_t now_ns);
  void drain(uint64_t now_ns);
  void on_event(const Event& event, uint64_t now_ns);
  // Closes expired dedup windows, reports telemetry loss, flushes transports.
  void tick(uint64_t now_ns);
  // Exports everything still held (SIGTERM).
  void finish(uint64_t now_ns);
  // SIGHUP: exports the queued events, forgets cached symbols, reopens the outputs.
  void reopen(uint64_t now_ns);

 private:
  void export_finding(Finding& finding);
  void write_record(Finding& finding, bool agent_record);

  Classifier& classifier_;
  Metrics& metrics_;
  const FormatContext& context_;
  std::vector<Output> outputs_;
  PipelineOptions options_;
  Dedup dedup_;
  std::string buffer_;
  std::array<Event, kBatch> pending_{};
  size_t pending_count_ = 0;
  uint64_t next_sequence_ = 1;
  uint64_t last_monitor_sequence_ = 0;
  uint64_t loss_reported_total_ = 0;
  uint64_t last_loss_report_ns_ = 0;
  bool loss_reported_once_ = false;
};

}  // namespace vg::agent
