// The BPF front end: picks fentry or kprobe per probe, loads the skeleton
// (retrying without a program the verifier refuses), attaches what it can,
// and feeds ring-buffer samples to a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/metrics.h"
#include "base/result.h"
#include "base/types.h"

struct vmplguard_agent_bpf;
struct ring_buffer;
struct bpf_link;

namespace vg::agent {

struct ProbeCounters {
  uint64_t produced = 0;
  uint64_t reserve_failed = 0;
  uint64_t read_failed = 0;
};

class BpfProbes {
 public:
  using SampleFn = std::function<void(ByteView)>;
  ~BpfProbes();

  // `stext` is the runtime address of _stext. Never fails because one probe
  // cannot attach: statuses() says which did. `record_mode` switches the
  // text, module and CR probes to the record-mode records (--record).
  static Result<BpfProbes*, std::string> start(uint64_t stext, SampleFn on_sample, bool record_mode = false);

  const std::vector<ProbeStatus>& statuses() const { return statuses_; }
  // Waits up to `timeout_ms` for samples and delivers them.
  int poll(int timeout_ms);
  // Detaches every probe (no new events), then delivers what is in the ring.
  void stop_and_drain();
  // Delivers what is in the ring now, without waiting.
  int drain();
  ProbeCounters counters() const;

 private:
  BpfProbes() = default;
  static int on_ring_sample(void* context, void* data, size_t size);

  vmplguard_agent_bpf* skeleton_ = nullptr;
  ring_buffer* ring_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<ProbeStatus> statuses_;
  SampleFn on_sample_;
};

}  // namespace vg::agent
