// Counters the agent keeps about itself and what it saw, and their
// Prometheus text exposition (format 0.0.4).
//
// Accounting identity (docs/agent.md): every event a probe produced is either
// exported (as part of a record that reached every sink) or counted in
// exactly one drop stage: produced = exported + sum(dropped) once the ring
// and the dedup table are drained (at exit they are).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/finding.h"

namespace vg::agent {

enum class DropStage : uint8_t {
  kRingBuffer = 0,  // bpf_ringbuf_reserve failed in the kernel (ring full)
  kDecode = 1,      // sample failed validation
  kOutput = 2,      // a sink refused or failed the record
  kProbeRead = 3,   // the probe could not read the kernel record it was given
  kCount = 4,
};
const char* to_string(DropStage stage);

struct ProbeStatus {
  std::string name;
  std::string mode;  // "fentry", "kprobe", "tp_btf", or "none"
  bool attached = false;
};

class Metrics {
 public:
  static constexpr size_t kKinds = 32;

  void count_classified(const Finding& finding);
  // Probe-side numbers, read from the BPF per-CPU counters (totals so far).
  void set_produced(uint64_t produced) { produced_ = produced; }
  void set_ring_drops(uint64_t drops) { dropped_[static_cast<size_t>(DropStage::kRingBuffer)] = drops; }
  void set_probe_read_drops(uint64_t drops) { dropped_[static_cast<size_t>(DropStage::kProbeRead)] = drops; }
  void add_drop(DropStage stage, uint64_t events) { dropped_[static_cast<size_t>(stage)] += events; }
  void add_exported(uint64_t events) { exported_ += events; }
  void add_dedup_suppressed(uint64_t events) { dedup_suppressed_ += events; }
  void add_sequence_gap(uint64_t records) { sequence_gaps_ += records; }
  void add_received() { ++received_; }
  void add_agent_record() { ++agent_records_; }
  void add_sink_error(size_t sink) {
    if (sink < sink_errors_.size()) ++sink_errors_[sink];
  }

  uint64_t produced() const { return produced_; }
  uint64_t received() const { return received_; }
  uint64_t exported() const { return exported_; }
  uint64_t dropped(DropStage stage) const { return dropped_[static_cast<size_t>(stage)]; }
  uint64_t dropped_total() const;
  uint64_t dedup_suppressed() const { return dedup_suppressed_; }
  uint64_t sequence_gaps() const { return sequence_gaps_; }
  uint64_t classified(const char* kind, Verdict verdict) const;

  // Prometheus text format. `labels` are the build-info labels, already
  // validated (our own strings, escaped here anyway).
  std::string exposition(const std::string& kernel_release, const std::string& build_id,
                         const std::string& policy_digest, const std::vector<ProbeStatus>& probes) const;

 private:
  struct KindCounter {
    const char* kind = nullptr;
    std::array<uint64_t, 3> by_verdict{};
  };
  std::array<KindCounter, kKinds> kinds_{};
  uint64_t produced_ = 0;
  uint64_t received_ = 0;
  uint64_t exported_ = 0;
  std::array<uint64_t, static_cast<size_t>(DropStage::kCount)> dropped_{};
  uint64_t dedup_suppressed_ = 0;
  uint64_t sequence_gaps_ = 0;
  uint64_t agent_records_ = 0;
  std::array<uint64_t, 8> sink_errors_{};
};

}  // namespace vg::agent
