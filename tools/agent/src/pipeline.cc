#include "agent/pipeline.h"

namespace vg::agent {

Pipeline::Pipeline(Classifier& classifier, Metrics& metrics, const FormatContext& context,
                   std::vector<Output> outputs, PipelineOptions options)
    : classifier_(classifier),
      metrics_(metrics),
      context_(context),
      outputs_(std::move(outputs)),
      options_(options),
      dedup_(options.dedup_window_ns, options.dedup_capacity) {
  buffer_.reserve(4096);
}

void Pipeline::on_sample(ByteView sample, uint64_t now_ns) {
  queue_sample(sample, now_ns);
  drain(now_ns);
}

void Pipeline::queue_sample(ByteView sample, uint64_t now_ns) {
  metrics_.add_received();
  auto event = decode_probe_event(sample);
  if (!event) {
    metrics_.add_drop(DropStage::kDecode, 1);
    return;
  }
  pending_[pending_count_++] = *event;
  if (pending_count_ == kBatch) drain(now_ns);
}

void Pipeline::drain(uint64_t now_ns) {
  const size_t count = pending_count_;
  pending_count_ = 0;
  if (count > 1) {
    for (unsigned step = 0; step < Symbolizer::kPrefetchSteps; ++step) {
      for (size_t i = 0; i < count; ++i) classifier_.prefetch(pending_[i], step);
    }
  }
  for (size_t i = 0; i < count; ++i) on_event(pending_[i], now_ns);
}

void Pipeline::on_event(const Event& event, uint64_t now_ns) {
  if (event.type == EventType::kMonitorRecord) {
    // Sequence numbers start at 1 and strictly increase; a jump means the
    // ring overwrote records before the kernel drained them.
    const uint64_t sequence = event.record.sequence;
    if (last_monitor_sequence_ != 0 && sequence > last_monitor_sequence_ + 1) {
      metrics_.add_sequence_gap(sequence - last_monitor_sequence_ - 1);
    }
    if (sequence > last_monitor_sequence_) last_monitor_sequence_ = sequence;
  }
  Finding finding = classifier_.classify(event);
  metrics_.count_classified(finding);
  if (!dedup_.enabled()) {
    export_finding(finding);
    return;
  }
  const uint64_t merged = dedup_.add(finding, now_ns, [this](Finding& held) { export_finding(held); });
  metrics_.add_dedup_suppressed(merged);
}

void Pipeline::write_record(Finding& finding, bool agent_record) {
  finding.sequence = next_sequence_++;
  bool delivered = true;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    buffer_.clear();
    format_finding(outputs_[i].format, buffer_, finding, context_);
    if (!outputs_[i].transport->send(buffer_)) {
      delivered = false;
      metrics_.add_sink_error(i);
    }
  }
  if (agent_record) {
    metrics_.add_agent_record();
    return;
  }
  // A record stands for `count` events; they share its fate.
  if (delivered) {
    metrics_.add_exported(finding.count);
  } else {
    metrics_.add_drop(DropStage::kOutput, finding.count);
  }
}

void Pipeline::export_finding(Finding& finding) {
  write_record(finding, false);
}

void Pipeline::tick(uint64_t now_ns) {
  drain(now_ns);
  if (dedup_.enabled()) {
    dedup_.flush_expired(now_ns, [this](Finding& held) { export_finding(held); });
  }
  const uint64_t lost = metrics_.dropped_total();
  const bool interval_passed =
      !loss_reported_once_ || now_ns - last_loss_report_ns_ >= options_.loss_report_interval_ns;
  if (lost > loss_reported_total_ && interval_passed) {
    Finding loss;
    loss.event.type = EventType::kTelemetryLoss;
    loss.event.ktime_ns = now_ns;
    loss.verdict = Verdict::kViolation;
    loss.reason = Reason::kTelemetryLoss;
    loss.first_seen_ns = loss.last_seen_ns = now_ns;
    loss.lost_since_last = lost - loss_reported_total_;
    loss.lost_total = lost;
    loss_reported_total_ = lost;
    last_loss_report_ns_ = now_ns;
    loss_reported_once_ = true;
    write_record(loss, true);
  }
  for (auto& output : outputs_) output.transport->flush();
}

void Pipeline::finish(uint64_t now_ns) {
  drain(now_ns);
  dedup_.flush_all([this](Finding& held) { export_finding(held); });
  // A final loss report ignores the rate limit: it is the last word.
  loss_reported_once_ = false;
  tick(now_ns);
}

void Pipeline::reopen(uint64_t now_ns) {
  // What arrived before the signal belongs in the file being rotated out.
  drain(now_ns);
  classifier_.clear_caches();
  for (auto& output : outputs_) output.transport->reopen();
}

}  // namespace vg::agent
